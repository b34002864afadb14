using Federation.Global.Tokens;
using Federation.Security;
using Grpc.Core;

namespace Federation.Global.Kds;

/// <summary>The identity of a zone stream, taken from its verified token (never from the payload).</summary>
public sealed record ZoneIdentity(string Zone, string TokenId, string ConnectionId, string? Version);

/// <summary>
/// Checks every KDS call: <c>authorization: Bearer &lt;zone token&gt;</c> and <c>kds-zone</c> metadata. Failures end
/// the call with Unauthenticated (no/invalid/expired token) or PermissionDenied (revoked, wrong zone or
/// scope), and a message that says which check failed.
/// </summary>
public sealed class ZoneAuthenticator(ZoneTokenService tokens)
{
    public const string ZoneHeader = "kds-zone";
    public const string ConnectionHeader = "kds-connection";
    public const string VersionHeader = "kds-version";

    public async Task<ZoneIdentity> AuthenticateAsync(ServerCallContext context)
    {
        var headers = context.RequestHeaders;
        var zone = headers.GetValue(ZoneHeader);
        if (string.IsNullOrEmpty(zone))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"missing '{ZoneHeader}' metadata: the zone must say which zone it is"));
        }
        var authorization = headers.GetValue("authorization");
        var token = authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization["Bearer ".Length..].Trim()
            : "";
        if (token.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "missing zone token: send 'authorization: Bearer <zone token>'"));
        }
        var check = await tokens.ValidateAsync(token, zone, "cp", context.CancellationToken);
        if (!check.IsValid)
        {
            var code = check.Failure is TokenFailure.Revoked or TokenFailure.WrongSubject or TokenFailure.WrongScope
                ? StatusCode.PermissionDenied
                : StatusCode.Unauthenticated;
            throw new RpcException(new Status(code, $"zone token refused for zone '{zone}': {check.Message}"));
        }
        var connection = headers.GetValue(ConnectionHeader);
        return new ZoneIdentity(zone, check.Token!.Id, string.IsNullOrEmpty(connection) ? Guid.NewGuid().ToString("n") : connection, headers.GetValue(VersionHeader));
    }
}
