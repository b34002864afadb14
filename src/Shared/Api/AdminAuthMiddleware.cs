using System.Net;
using System.Security.Cryptography;
using System.Text;
using Federation.Security;
using Microsoft.AspNetCore.Http;

namespace Federation.Api;

/// <summary>
/// Writes (and, from other hosts, reads) need the admin bearer token: 401 without one, 403 with a wrong one.
/// Paths a caller authenticates differently (the dataplane token routes) are exempt.
/// </summary>
public sealed partial class AdminAuthMiddleware(
    RequestDelegate next,
    AdminToken token,
    ApiOptions options,
    DataplaneTokenService dataplaneTokens,
    ZoneTokenVerifier zoneTokens,
    Hosting.ControlPlaneIdentity identity)
{
    private static readonly PathString[] OpenPaths = [new("/metrics")];

    public async Task InvokeAsync(HttpContext http)
    {
        if (Hosting.ListenerTagging.ListenerOf(http) == Hosting.ListenerTagging.Grpc)
        {
            // gRPC services (KDS, xDS) authenticate callers with their own tokens.
            await next(http);
            return;
        }
        var method = http.Request.Method;
        var isRead = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);
        if (isRead && ((options.AllowLoopbackReads && IsLoopback(http) && !IsSensitive(http.Request.Path)) || OpenPaths.Any(p => http.Request.Path.StartsWithSegments(p))))
        {
            await next(http);
            return;
        }
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            throw new ApiException(401, "Unauthorized",
                "authentication required: send 'Authorization: Bearer <admin token>' (the token is in the control plane's data directory, file admin-token)");
        }
        var bearer = header["Bearer ".Length..].Trim();
        var given = Encoding.UTF8.GetBytes(bearer);
        var expected = Encoding.UTF8.GetBytes(token.Value);
        if (!CryptographicOperations.FixedTimeEquals(given, expected))
        {
            // A proxy may register, unregister and fetch the certificate of its own Dataplane with its dataplane token.
            if (DataplanePath().Match(http.Request.Path.Value ?? "") is { Success: true } m && !isRead)
            {
                var check = await dataplaneTokens.ValidateAsync(bearer, Uri.UnescapeDataString(m.Groups["mesh"].Value), Uri.UnescapeDataString(m.Groups["name"].Value), http.RequestAborted);
                if (check.IsValid)
                {
                    await next(http);
                    return;
                }
                throw ApiException.Forbidden($"the bearer token is neither the admin token nor a valid dataplane token for this Dataplane: {check.Message}");
            }
            // A zone's ingress/egress proxy may read, register and unregister itself with a zone token of its scope
            // (it reads before re-registering: a PUT would drop the availableServices the zone filled in).
            if (identity.Mode == ControlPlaneMode.Zone && ZoneProxyPath().Match(http.Request.Path.Value ?? "") is { Success: true } z)
            {
                var scope = z.Groups["kind"].Value;
                var check = await zoneTokens.ValidateAsync(bearer, identity.Zone!, scope, http.RequestAborted);
                if (check.IsValid)
                {
                    await next(http);
                    return;
                }
                throw ApiException.Forbidden($"the bearer token is neither the admin token nor a valid {scope} zone token for zone '{identity.Zone}': {check.Message}");
            }
            throw ApiException.Forbidden("the bearer token is not this control plane's admin token");
        }
        await next(http);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^/meshes/(?<mesh>[^/]+)/dataplanes/(?<name>[^/_][^/]*)(/_certificate)?$")]
    private static partial System.Text.RegularExpressions.Regex DataplanePath();

    [System.Text.RegularExpressions.GeneratedRegex("^/zone(?<kind>ingress|egress)es/(?<name>[^/_][^/]*)$")]
    private static partial System.Text.RegularExpressions.Regex ZoneProxyPath();

    /// <summary>Secrets are never readable without the admin token.</summary>
    private static bool IsSensitive(PathString path)
    {
        var segments = (path.Value ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var plural = segments.Length >= 3 && segments[0] == "meshes" ? segments[2] : segments.FirstOrDefault();
        return plural is not null && Resources.ResourceTypes.TryGetByPlural(plural, out var type) && type.SensitiveReads;
    }

    private static bool IsLoopback(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip);
}
