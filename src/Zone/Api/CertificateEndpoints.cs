using System.Text.Json.Nodes;
using Federation.Api;
using Federation.Resources;
using Federation.Serialization;
using Federation.Stores;
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
    /// <summary>How long a just-registered Dataplane may take to reach the zone state.</summary>
    private static readonly TimeSpan RegistrationGrace = TimeSpan.FromSeconds(3);

    public static IEndpointRouteBuilder MapCertificateEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/meshes/{mesh}/dataplanes/{name}/_certificate", async (string mesh, string name, ZoneStateBuilder state, CertificateManager certificates, IResourceStore store, TimeProvider time, CancellationToken ct) =>
        {
            await state.Loaded.WaitAsync(ct);
            if (state.Current.Mesh(mesh)?.Dataplanes.ContainsKey(name) != true
                && await store.GetAsync(new ResourceKey(ResourceTypes.Dataplane.Name, mesh, name), ct) is not null)
            {
                // Just registered: the zone state follows the store a batching window later, so a proxy that
                // registers and then asks for its certificate must not be told its Dataplane does not exist.
                var deadline = time.GetUtcNow() + RegistrationGrace;
                while (state.Current.Mesh(mesh)?.Dataplanes.ContainsKey(name) != true && time.GetUtcNow() < deadline)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(20), time, ct);
                }
            }
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
