using System.Text;
using System.Text.Json;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Security;
using Federation.Serialization;
using Federation.Stores;

namespace Federation.Global.Tokens;

/// <summary>
/// Issues and checks zone tokens: RS256 JWTs naming a zone, with a token id, scopes and an expiry, signed by
/// the newest <c>zone-token-signing-key-N</c>. Revoked token ids live in the <c>zone-token-revocations</c>
/// GlobalSecret, so every replica sharing the store sees them.
/// </summary>
public sealed class ZoneTokenService(IResourceStore store, TimeProvider time)
{
    public const string Audience = "federation-zone";
    public const string KeyPrefix = "zone-token-signing-key";
    public const string RevocationsName = "zone-token-revocations";
    public const string ZoneClaim = "zone";
    public const string ScopeClaim = "scope";

    /// <summary>What a token may be used for: a zone control plane, or a zone's ingress/egress proxy.</summary>
    public static readonly IReadOnlyList<string> Scopes = ["cp", "ingress", "egress"];

    public static readonly TimeSpan MaxValidity = TimeSpan.FromDays(3650);

    public SigningKeyStore Keys { get; } = new(store, ResourceTypes.GlobalSecret, "", KeyPrefix);

    public Task EnsureKeysAsync(CancellationToken cancellationToken) => Keys.EnsureAsync(cancellationToken);

    public async Task<string> IssueAsync(string zone, TimeSpan validFor, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        var key = await Keys.CurrentAsync(cancellationToken);
        var claims = new Dictionary<string, object> { [ZoneClaim] = zone, [ScopeClaim] = scopes.ToArray() };
        return Jwt.Issue(key, Audience, claims, time.GetUtcNow(), validFor, Jwt.NewTokenId());
    }

    /// <summary>
    /// Checks signature, expiry, revocation, that the token names <paramref name="zone"/> and carries
    /// <paramref name="scope"/>. The message says which check failed.
    /// </summary>
    public async Task<TokenCheck> ValidateAsync(string token, string zone, string scope, CancellationToken cancellationToken)
    {
        var check = await Jwt.ValidateAsync(token, Audience, async kid => (await Keys.FindAsync(kid, cancellationToken))?.Rsa, time.GetUtcNow());
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

    /// <summary>The id of a token this control plane issued, read without trusting it (for revocation by token).</summary>
    public static string? ReadTokenId(string token) => Jwt.TryRead(token)?.Id;

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

    /// <summary>Adds a token id to the revocation list (optimistic concurrency, retried on a race).</summary>
    public async Task RevokeAsync(string tokenId, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var key = ResourceKey.Global(ResourceTypes.GlobalSecret.Name, RevocationsName);
            var existing = await store.GetAsync(key, cancellationToken);
            var ids = existing is null
                ? []
                : JsonSerializer.Deserialize<List<string>>(Encoding.UTF8.GetString(existing.GetSpec<SecretSpec>().Bytes)) ?? [];
            if (ids.Contains(tokenId))
            {
                return;
            }
            ids.Add(tokenId);
            var spec = new SecretSpec { Data = Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(ids))) };
            var resource = new Resource(key, ResourceTypes.GlobalSecret.SerializeSpec(spec)).WithLabel(SecretLabels.Private, "true");
            try
            {
                await store.PutAsync(resource, existing?.Version ?? 0, cancellationToken);
                return;
            }
            catch (ResourceConflictException) when (attempt < 5)
            {
            }
        }
    }

    public static bool TryParseValidity(string? text, out TimeSpan validFor, out string? problem)
    {
        problem = null;
        validFor = TimeSpan.FromDays(365);
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        if (!GoDuration.TryParse(text, out validFor) || validFor <= TimeSpan.Zero)
        {
            problem = $"'{text}' is not a positive duration (examples: 24h, 720h, 30d)";
            return false;
        }
        if (validFor > MaxValidity)
        {
            problem = "must be at most 3650d";
            return false;
        }
        return true;
    }
}
