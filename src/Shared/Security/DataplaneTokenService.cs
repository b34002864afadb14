using Federation.Resources;
using Federation.Stores;

namespace Federation.Security;

/// <summary>
/// Dataplane tokens: RS256 JWTs bound to one mesh and one Dataplane name. Each mesh has its own signing keys,
/// created on the global (or a standalone zone); the private halves stay there, the public halves are synced
/// to zones as Secrets, where proxies present the tokens.
/// </summary>
public sealed class DataplaneTokenService(IResourceStore store, TimeProvider time)
{
    public const string Audience = "federation-dataplane";
    public const string KeyPrefix = "dataplane-token-signing-key";
    public const string PublicKeyPrefix = "dataplane-token-signing-public-key";
    public const string MeshClaim = "mesh";
    public const string NameClaim = "name";

    private readonly Dictionary<string, SigningKeyStore> _keys = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public SigningKeyStore KeysOf(string mesh)
    {
        lock (_lock)
        {
            if (!_keys.TryGetValue(mesh, out var keys))
            {
                keys = _keys[mesh] = new SigningKeyStore(store, ResourceTypes.Secret, mesh, KeyPrefix, PublicKeyPrefix);
            }
            return keys;
        }
    }

    public Task EnsureKeysAsync(string mesh, CancellationToken cancellationToken) => KeysOf(mesh).EnsureAsync(cancellationToken);

    /// <summary>Issues a token; null when this control plane holds no private key for the mesh (a federated zone).</summary>
    public async Task<string?> IssueAsync(string mesh, string name, TimeSpan validFor, CancellationToken cancellationToken)
    {
        var keys = await KeysOf(mesh).LoadAsync(cancellationToken);
        if (keys.Count == 0)
        {
            return null;
        }
        var key = keys.MaxBy(k => k.Serial)!;
        var claims = new Dictionary<string, object> { [MeshClaim] = mesh, [NameClaim] = name };
        return Jwt.Issue(key, Audience, claims, time.GetUtcNow(), validFor, Jwt.NewTokenId());
    }

    /// <summary>Checks the token with the mesh's public keys, and that it names this mesh and Dataplane.</summary>
    public async Task<TokenCheck> ValidateAsync(string token, string mesh, string name, CancellationToken cancellationToken)
    {
        var keys = KeysOf(mesh);
        var check = await Jwt.ValidateAsync(token, Audience, kid => keys.FindPublicAsync(kid, cancellationToken), time.GetUtcNow());
        if (!check.IsValid)
        {
            return check;
        }
        var tokenMesh = check.Claim(MeshClaim);
        var tokenName = check.Claim(NameClaim);
        if (tokenMesh != mesh || tokenName != name)
        {
            return TokenCheck.Fail(TokenFailure.WrongSubject, $"the token is for Dataplane '{tokenName}' in mesh '{tokenMesh}', not '{name}' in mesh '{mesh}'");
        }
        return check;
    }
}
