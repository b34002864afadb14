using System.Security.Cryptography;
using System.Text;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Stores;

namespace Federation.Security;

/// <summary>An RSA key that signs tokens, named by its id (the JWT <c>kid</c>).</summary>
public sealed record SigningKey(string Id, int Serial, RSA Rsa);

/// <summary>
/// Token signing keys kept in the store as secrets named <c>&lt;prefix&gt;-N</c> (RS256, 2048-bit) and marked
/// private so KDS never carries them. The highest N signs; any present key verifies (so keys can rotate).
/// </summary>
public sealed class SigningKeyStore(IResourceStore store, ResourceTypeDescriptor secretType, string mesh, string prefix, string? publicPrefix = null)
{
    private readonly Lock _lock = new();
    private (long Revision, IReadOnlyList<SigningKey> Keys)? _cache;

    public string Prefix => prefix;

    /// <summary>Creates key 1 if there is none (safe against another replica doing the same).</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var keys = await LoadAsync(cancellationToken);
        if (keys.Count == 0)
        {
            await RotateAsync(cancellationToken);
            return;
        }
        if (publicPrefix is null)
        {
            return;
        }
        // Keys made before public halves were published get theirs now.
        foreach (var key in keys)
        {
            var name = $"{publicPrefix}-{key.Serial}";
            if (await store.GetAsync(new ResourceKey(secretType.Name, mesh, name), cancellationToken) is null)
            {
                var publicSpec = new SecretSpec { Data = Convert.ToBase64String(Encoding.UTF8.GetBytes(key.Rsa.ExportSubjectPublicKeyInfoPem())) };
                try
                {
                    await store.CreateAsync(new Resource(new ResourceKey(secretType.Name, mesh, name), secretType.SerializeSpec(publicSpec)), cancellationToken);
                }
                catch (ResourceConflictException)
                {
                }
            }
        }
    }

    /// <summary>Adds a new newest key; older keys keep verifying what they signed.</summary>
    public async Task<SigningKey> RotateAsync(CancellationToken cancellationToken)
    {
        var keys = await LoadAsync(cancellationToken);
        var serial = keys.Count == 0 ? 1 : keys.Max(k => k.Serial) + 1;
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportPkcs8PrivateKeyPem();
        var spec = new SecretSpec { Data = Convert.ToBase64String(Encoding.UTF8.GetBytes(pem)) };
        var resource = new Resource(new ResourceKey(secretType.Name, mesh, $"{prefix}-{serial}"), secretType.SerializeSpec(spec))
            .WithLabel(SecretLabels.Private, "true");
        var writes = new List<ResourceWrite> { new PutResource(resource, 0) };
        if (publicPrefix is not null)
        {
            // The public half travels (KDS) to where tokens are verified; the private half never does.
            var publicSpec = new SecretSpec { Data = Convert.ToBase64String(Encoding.UTF8.GetBytes(rsa.ExportSubjectPublicKeyInfoPem())) };
            writes.Add(new PutResource(new Resource(new ResourceKey(secretType.Name, mesh, $"{publicPrefix}-{serial}"), secretType.SerializeSpec(publicSpec)), 0));
        }
        try
        {
            await store.CommitAsync(writes, cancellationToken);
        }
        catch (ResourceConflictException)
        {
            // Another replica created it first; use theirs.
        }
        _cache = null;
        return (await LoadAsync(cancellationToken)).First(k => k.Serial == serial);
    }

    public async Task<SigningKey> CurrentAsync(CancellationToken cancellationToken)
    {
        var keys = await LoadAsync(cancellationToken);
        return keys.Count > 0
            ? keys.MaxBy(k => k.Serial)!
            : throw new InvalidOperationException($"no signing key '{prefix}-N' exists yet");
    }

    public async Task<SigningKey?> FindAsync(string id, CancellationToken cancellationToken) =>
        (await LoadAsync(cancellationToken)).FirstOrDefault(k => k.Id == id);

    /// <summary>
    /// The public key for a key id (<c>&lt;prefix&gt;-N</c>), read from the public Secret: works where only the
    /// public halves were synced (zones).
    /// </summary>
    public async Task<RSA?> FindPublicAsync(string id, CancellationToken cancellationToken)
    {
        if (publicPrefix is null || !id.StartsWith(prefix + "-", StringComparison.Ordinal))
        {
            return null;
        }
        var name = $"{publicPrefix}-{id[(prefix.Length + 1)..]}";
        var secret = await store.GetAsync(new ResourceKey(secretType.Name, mesh, name), cancellationToken);
        if (secret is null)
        {
            return null;
        }
        lock (_lock)
        {
            if (_public.TryGetValue(name, out var cached) && cached.Version == secret.Version)
            {
                return cached.Rsa;
            }
        }
        var rsa = RSA.Create();
        rsa.ImportFromPem(Encoding.UTF8.GetString(secret.GetSpec<SecretSpec>().Bytes));
        lock (_lock)
        {
            _public[name] = (secret.Version, rsa);
        }
        return rsa;
    }

    private readonly Dictionary<string, (long Version, RSA Rsa)> _public = new(StringComparer.Ordinal);

    public async Task<IReadOnlyList<SigningKey>> LoadAsync(CancellationToken cancellationToken)
    {
        var page = await store.ListAsync(new ResourceQuery(secretType.Name) { Mesh = secretType.IsMeshScoped ? mesh : null }, cancellationToken);
        var found = page.Items.Where(r => r.Name.StartsWith(prefix + "-", StringComparison.Ordinal) && int.TryParse(r.Name.AsSpan(prefix.Length + 1), out _)).ToList();
        var revision = found.Sum(r => r.Version) + found.Count * 1_000_000L;
        lock (_lock)
        {
            if (_cache is { } c && c.Revision == revision && c.Keys.Count == found.Count)
            {
                return c.Keys;
            }
            var keys = found.Select(r =>
            {
                var rsa = RSA.Create();
                rsa.ImportFromPem(Encoding.UTF8.GetString(r.GetSpec<SecretSpec>().Bytes));
                return new SigningKey(r.Name, int.Parse(r.Name.AsSpan(prefix.Length + 1), System.Globalization.CultureInfo.InvariantCulture), rsa);
            }).ToList();
            _cache = (revision, keys);
            return keys;
        }
    }
}
