using System.Collections.Immutable;
using System.IO.Hashing;
using System.Text;

namespace Federation.Resources;

/// <summary>
/// One stored resource: identity, labels, its body as canonical JSON (the fields beside the meta for flat
/// types, the content of <c>spec</c> for policies), an optional status, and the store's bookkeeping.
/// Immutable; the typed body and the content hash are computed once, on first use.
/// </summary>
public sealed record Resource
{
    private object? _typedSpec;
    private string? _contentHash;

    public Resource(ResourceKey key, string spec, ImmutableSortedDictionary<string, string>? labels = null, string? status = null)
    {
        Key = key;
        Spec = spec;
        Labels = labels ?? ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        Status = status;
    }

    // A `with` expression must not carry the cached typed spec or hash of the original.
    private Resource(Resource original)
    {
        Key = original.Key;
        Spec = original.Spec;
        Labels = original.Labels;
        Status = original.Status;
        Version = original.Version;
        CreationTime = original.CreationTime;
        ModificationTime = original.ModificationTime;
    }

    public ResourceKey Key { get; init; }

    public string Type => Key.Type;

    public string Mesh => Key.Mesh;

    public string Name => Key.Name;

    public ImmutableSortedDictionary<string, string> Labels { get; init; }

    /// <summary>The body as canonical JSON (an object).</summary>
    public string Spec { get; init; }

    /// <summary>Server-written status as JSON, for types that have one.</summary>
    public string? Status { get; init; }

    /// <summary>Store version, 1 on create and +1 per change; 0 for a resource never stored.</summary>
    public long Version { get; init; }

    public DateTimeOffset CreationTime { get; init; }

    public DateTimeOffset ModificationTime { get; init; }

    public ResourceTypeDescriptor Descriptor => ResourceTypes.Get(Type);

    /// <summary>The body deserialized into the type's record, parsed once.</summary>
    public T GetSpec<T>() where T : class
    {
        var spec = _typedSpec ??= Descriptor.DeserializeSpec(Spec);
        return (T)spec;
    }

    public string? GetLabel(string name) => Labels.TryGetValue(name, out var v) ? v : null;

    public Resource WithLabel(string name, string value) => this with { Labels = Labels.SetItem(name, value) };

    /// <summary>
    /// A hash of what the resource says (identity, labels, spec, status), not of when or how often it was
    /// written: two stores holding the same resource agree on it. Used as the KDS/xDS resource version.
    /// </summary>
    public string ContentHash => _contentHash ??= ComputeContentHash();

    private string ComputeContentHash()
    {
        var hash = new XxHash64();
        Append(hash, Key.Type);
        Append(hash, Key.Mesh);
        Append(hash, Key.Name);
        foreach (var (k, v) in Labels)
        {
            Append(hash, k);
            Append(hash, v);
        }
        Append(hash, Spec);
        Append(hash, Status ?? "");
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    private static void Append(XxHash64 hash, string s)
    {
        Span<byte> len = stackalloc byte[4];
        var bytes = Encoding.UTF8.GetBytes(s);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(len, bytes.Length);
        hash.Append(len);
        hash.Append(bytes);
    }

    /// <summary>Same identity, version and content.</summary>
    public bool Equals(Resource? other) =>
        other is not null && Key == other.Key && Version == other.Version && ContentHash == other.ContentHash;

    public override int GetHashCode() => HashCode.Combine(Key, Version);
}
