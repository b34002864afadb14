using System.Text.Json.Nodes;
using Federation.Api;
using Federation.Serialization;
using Federation.Zone.Xds.Proxies;
using Federation.Zone.Xds.State;

namespace Federation.Zone.Api;

/// <summary>
/// <c>POST /meshes/{mesh}/dataplanes/{name}/_certificate</c>: the workload certificate, key and mesh CA of one
/// Dataplane, for proxies that read certificates from files (proxyless gRPC through fed-dp). Authorised by the
/// Dataplane's own token (or the admin token): a token for backend-1 cannot fetch web's certificate.
/// </summary>
public static class CertificateEndpoints
{
    public static IEndpointRouteBuilder MapCertificateEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/meshes/{mesh}/dataplanes/{name}/_certificate", async (string mesh, string name, ZoneStateBuilder state, CertificateManager certificates, CancellationToken ct) =>
        {
            await state.Loaded.WaitAsync(ct);
            var view = state.Current.Mesh(mesh) ?? throw ApiException.NotFound($"mesh '{mesh}' does not exist in this zone");
            if (!view.Dataplanes.TryGetValue(name, out var dataplane))
            {
                throw ApiException.NotFound($"Dataplane '{name}' is not registered in mesh '{mesh}'");
            }
            if (!view.Spec.MtlsEnabled)
            {
                throw ApiException.BadRequest($"mesh '{mesh}' has no mTLS enabled, so there is no certificate to issue");
            }
            var certificate = certificates.Get(view, dataplane)
                ?? throw new ApiException(503, "Service Unavailable", $"the CA of mesh '{mesh}' has not reached this zone yet; retry shortly");
            var body = new JsonObject
            {
                ["certificate"] = certificate.CertificatePem,
                ["privateKey"] = certificate.KeyPem,
                ["caCertificate"] = certificate.CaPem,
                ["notBefore"] = ResourceDocument.FormatTime(certificate.NotBefore),
                ["notAfter"] = ResourceDocument.FormatTime(certificate.NotAfter),
                ["renewAt"] = ResourceDocument.FormatTime(certificate.RenewAt),
            };
            return Results.Text(body.ToJsonString(FederationJson.Options), "application/json");
        });
        return app;
    }
}
