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
    public const string Audience = ZoneTokenVerifier.Audience;
    public const string RevocationsName = ZoneTokenVerifier.RevocationsName;
    public const string KeyPrefix = ZoneTokenVerifier.KeyPrefix;
    public const string ZoneClaim = ZoneTokenVerifier.ZoneClaim;
    public const string ScopeClaim = ZoneTokenVerifier.ScopeClaim;

    public static IReadOnlyList<string> Scopes => ZoneTokenVerifier.Scopes;

    public static readonly TimeSpan MaxValidity = TimeSpan.FromDays(3650);

    private readonly ZoneTokenVerifier _verifier = new(store, time);

    public SigningKeyStore Keys => _verifier.Keys;

    public Task EnsureKeysAsync(CancellationToken cancellationToken) => Keys.EnsureAsync(cancellationToken);

    public async Task<string> IssueAsync(string zone, TimeSpan validFor, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        var key = await Keys.CurrentAsync(cancellationToken);
        var claims = new Dictionary<string, object> { [ZoneTokenVerifier.ZoneClaim] = zone, [ZoneTokenVerifier.ScopeClaim] = scopes.ToArray() };
        return Jwt.Issue(key, Audience, claims, time.GetUtcNow(), validFor, Jwt.NewTokenId());
    }

    /// <inheritdoc cref="ZoneTokenVerifier.ValidateAsync"/>
    public Task<TokenCheck> ValidateAsync(string token, string zone, string scope, CancellationToken cancellationToken) =>
        _verifier.ValidateAsync(token, zone, scope, cancellationToken);

    /// <summary>The id of a token this control plane issued, read without trusting it (for revocation by token).</summary>
    public static string? ReadTokenId(string token) => Jwt.TryRead(token)?.Id;

    public Task<IReadOnlySet<string>> RevokedAsync(CancellationToken cancellationToken) => _verifier.RevokedAsync(cancellationToken);

    /// <summary>
    /// Adds a token id to the revocation list (optimistic concurrency, retried on a race). The list is synced to
    /// zones, which check ingress/egress tokens against it; token ids are not secret.
    /// </summary>
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
            var resource = new Resource(key, ResourceTypes.GlobalSecret.SerializeSpec(spec));
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
