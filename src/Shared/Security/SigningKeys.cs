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
public sealed class SigningKeyStore(IResourceStore store, ResourceTypeDescriptor secretType, string mesh, string prefix)
{
    private readonly Lock _lock = new();
    private (long Revision, IReadOnlyList<SigningKey> Keys)? _cache;

    public string Prefix => prefix;

    /// <summary>Creates key 1 if there is none (safe against another replica doing the same).</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if ((await LoadAsync(cancellationToken)).Count > 0)
        {
            return;
        }
        await RotateAsync(cancellationToken);
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
        try
        {
            await store.CreateAsync(resource, cancellationToken);
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
