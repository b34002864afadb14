using Federation.Resources;
using Federation.Security;
using Federation.Serialization;
using Federation.Stores;
using Federation.Validation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Federation.Api;

/// <summary><c>POST /tokens/dataplane</c> <c>{"mesh","name","validFor"}</c>: a token bound to one Dataplane (admin token required).</summary>
public static class DataplaneTokenEndpoints
{
    public static IEndpointRouteBuilder MapDataplaneTokenEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/tokens/dataplane", async (HttpContext http, DataplaneTokenService tokens, MeshSecretsReconciler meshSecrets, IResourceStore store, CancellationToken ct) =>
        {
            var body = await ResourceEndpoints.ReadSingleDocumentAsync(http, ct);
            var errors = new ValidationContext();
            var mesh = ResourceEndpoints.ReadString(body, "mesh", errors, required: false) ?? "default";
            var name = ResourceEndpoints.ReadString(body, "name", errors, required: true);
            var validFor = TimeSpan.FromDays(365);
            if (ResourceEndpoints.ReadString(body, "validFor", errors, required: false) is { } text && (!GoDuration.TryParse(text, out validFor) || validFor <= TimeSpan.Zero))
            {
                errors.Error("validFor", $"'{text}' is not a positive duration (examples: 24h, 720h)");
            }
            if (name is not null && Names.CheckResourceName(name) is { } problem)
            {
                errors.Error("name", problem);
            }
            foreach (var (field, _) in body)
            {
                if (field is not ("mesh" or "name" or "validFor"))
                {
                    errors.Error(field, "unknown field (known fields: mesh, name, validFor)");
                }
            }
            if (!errors.IsValid)
            {
                throw ApiException.BadRequest("invalid dataplane token request", errors.Errors);
            }
            if (await store.GetAsync(ResourceKey.Global(ResourceTypes.Mesh.Name, mesh), ct) is null)
            {
                throw ApiException.BadRequest($"mesh '{mesh}' does not exist", [new ValidationError("mesh", $"mesh '{mesh}' does not exist")]);
            }
            if (meshSecrets.Enabled)
            {
                // Where meshes are authored the signing key is created in the background after the Mesh is written;
                // a token requested right after applying the Mesh must not find it missing.
                await tokens.EnsureKeysAsync(mesh, ct);
            }
            var token = await tokens.IssueAsync(mesh, name!, validFor, ct)
                ?? throw ApiException.BadRequest($"this control plane does not hold the signing key of mesh '{mesh}'; generate dataplane tokens on the global control plane");
            return Results.Text(token, "text/plain");
        });
        return app;
    }
}
