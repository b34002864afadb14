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
public sealed class AdminAuthMiddleware(RequestDelegate next, AdminToken token, ApiOptions options)
{
    private static readonly PathString[] OpenPaths = [new("/metrics")];

    public Task InvokeAsync(HttpContext http)
    {
        if (Hosting.ListenerTagging.ListenerOf(http) == Hosting.ListenerTagging.Grpc)
        {
            // gRPC services (KDS, xDS) authenticate callers with their own tokens.
            return next(http);
        }
        var method = http.Request.Method;
        var isRead = HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);
        if (isRead && ((options.AllowLoopbackReads && IsLoopback(http)) || OpenPaths.Any(p => http.Request.Path.StartsWithSegments(p))))
        {
            return next(http);
        }
        if (http.GetEndpoint()?.Metadata.GetMetadata<AllowWithoutAdminTokenAttribute>() is not null)
        {
            return next(http);
        }
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            throw new ApiException(401, "Unauthorized",
                "authentication required: send 'Authorization: Bearer <admin token>' (the token is in the control plane's data directory, file admin-token)");
        }
        var given = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        var expected = Encoding.UTF8.GetBytes(token.Value);
        if (!CryptographicOperations.FixedTimeEquals(given, expected))
        {
            throw ApiException.Forbidden("the bearer token is not this control plane's admin token");
        }
        return next(http);
    }

    private static bool IsLoopback(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip);
}

/// <summary>Marks endpoints that authenticate callers on their own (e.g. with a dataplane token).</summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class)]
public sealed class AllowWithoutAdminTokenAttribute : Attribute;
