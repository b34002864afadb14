using System.Text;
using System.Text.Json;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Stores;

namespace Federation.Security;

/// <summary>
/// Checks zone tokens wherever they are presented: by a zone control plane to the global (KDS), or by a zone's
/// ingress/egress proxy to its zone. Uses the public halves of the global's signing keys and the revocation
/// list, both synced to zones as GlobalSecrets.
/// </summary>
public sealed class ZoneTokenVerifier(IResourceStore store, TimeProvider time)
{
    public const string Audience = "federation-zone";
    public const string KeyPrefix = "zone-token-signing-key";
    public const string PublicKeyPrefix = "zone-token-signing-public-key";
    public const string RevocationsName = "zone-token-revocations";
    public const string ZoneClaim = "zone";
    public const string ScopeClaim = "scope";

    /// <summary>What a token may be used for: a zone control plane, or a zone's ingress/egress proxy.</summary>
    public static readonly IReadOnlyList<string> Scopes = ["cp", "ingress", "egress"];

    public SigningKeyStore Keys { get; } = new(store, ResourceTypes.GlobalSecret, "", KeyPrefix, PublicKeyPrefix);

    /// <summary>
    /// Checks signature, expiry, revocation, that the token names <paramref name="zone"/> and carries
    /// <paramref name="scope"/>. The message says which check failed.
    /// </summary>
    public async Task<TokenCheck> ValidateAsync(string token, string zone, string scope, CancellationToken cancellationToken)
    {
        var check = await Jwt.ValidateAsync(token, Audience, kid => Keys.FindPublicAsync(kid, cancellationToken), time.GetUtcNow());
        if (!check.IsValid)
        {
            return check;
        }
        var tokenZone = check.Claim(ZoneClaim);
        if (string.IsNullOrEmpty(tokenZone))
        {
            return TokenCheck.Fail(TokenFailure.Malformed, "the token names no zone");
        }
        var id = check.Token!.Id;
        if ((await RevokedAsync(cancellationToken)).Contains(id))
        {
            return TokenCheck.Fail(TokenFailure.Revoked, $"token {id} was revoked");
        }
        if (tokenZone != zone)
        {
            return TokenCheck.Fail(TokenFailure.WrongSubject, $"the token is for zone '{tokenZone}', but the caller says it is zone '{zone}'");
        }
        var scopes = check.ClaimList(ScopeClaim);
        if (!scopes.Contains(scope))
        {
            return TokenCheck.Fail(TokenFailure.WrongScope, $"the token's scope is [{string.Join(", ", scopes)}]; '{scope}' is needed here");
        }
        return check;
    }

    public async Task<IReadOnlySet<string>> RevokedAsync(CancellationToken cancellationToken)
    {
        var secret = await store.GetAsync(ResourceKey.Global(ResourceTypes.GlobalSecret.Name, RevocationsName), cancellationToken);
        if (secret is null)
        {
            return new HashSet<string>();
        }
        var ids = JsonSerializer.Deserialize<string[]>(Encoding.UTF8.GetString(secret.GetSpec<SecretSpec>().Bytes)) ?? [];
        return new HashSet<string>(ids, StringComparer.Ordinal);
    }
}
