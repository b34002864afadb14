using System.Text.Json.Nodes;
using Federation.Api;
using Federation.Validation;

namespace Federation.Global.Tokens;

/// <summary><c>POST /tokens/zone</c> issues a zone token; <c>POST /tokens/zone/revoke</c> revokes one (admin token required).</summary>
public static class TokenEndpoints
{
    public static IEndpointRouteBuilder MapTokenEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/tokens/zone", async (HttpContext http, ZoneTokenService tokens, CancellationToken ct) =>
        {
            var body = await ResourceEndpoints.ReadSingleDocumentAsync(http, ct);
            var errors = new ValidationContext();
            var zone = ResourceEndpoints.ReadString(body, "zone", errors, required: true);
            if (zone is not null && Names.CheckDnsLabelName(zone) is { } zoneProblem)
            {
                errors.Error("zone", zoneProblem);
            }
            if (!ZoneTokenService.TryParseValidity(ResourceEndpoints.ReadString(body, "validFor", errors, required: false), out var validFor, out var validityProblem))
            {
                errors.Error("validFor", validityProblem!);
            }
            var scopes = new List<string>();
            if (body["scope"] is JsonArray scopeArray)
            {
                foreach (var s in scopeArray)
                {
                    var scope = s?.GetValue<string>();
                    if (scope is null || !ZoneTokenService.Scopes.Contains(scope))
                    {
                        errors.Error("scope", $"unknown scope '{scope}' (expected one of {string.Join(", ", ZoneTokenService.Scopes)})");
                    }
                    else
                    {
                        scopes.Add(scope);
                    }
                }
            }
            else if (body["scope"] is not null)
            {
                errors.Error("scope", "must be a list, e.g. [\"cp\"]");
            }
            foreach (var (field, _) in body)
            {
                if (field is not ("zone" or "validFor" or "scope"))
                {
                    errors.Error(field, "unknown field (known fields: zone, validFor, scope)");
                }
            }
            if (!errors.IsValid)
            {
                throw ApiException.BadRequest("invalid zone token request", errors.Errors);
            }
            var token = await tokens.IssueAsync(zone!, validFor, scopes.Count > 0 ? scopes : ZoneTokenService.Scopes, ct);
            return Results.Text(token, "text/plain");
        });

        app.MapPost("/tokens/zone/revoke", async (HttpContext http, ZoneTokenService tokens, CancellationToken ct) =>
        {
            var body = await ResourceEndpoints.ReadSingleDocumentAsync(http, ct);
            var errors = new ValidationContext();
            var id = ResourceEndpoints.ReadString(body, "tokenId", errors, required: false);
            var token = ResourceEndpoints.ReadString(body, "token", errors, required: false);
            if (id is null && token is not null)
            {
                id = ZoneTokenService.ReadTokenId(token);
                if (id is null)
                {
                    errors.Error("token", "is not a JWT with a token id");
                }
            }
            if (id is null && errors.IsValid)
            {
                errors.Error("tokenId", "send tokenId (the token's jti) or token (the token itself)");
            }
            if (!errors.IsValid)
            {
                throw ApiException.BadRequest("invalid revocation request", errors.Errors);
            }
            await tokens.RevokeAsync(id!, ct);
            return TypedResults.Json(new { revoked = id });
        });
        return app;
    }
}
