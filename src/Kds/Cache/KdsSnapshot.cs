using System.Collections.Immutable;
using Federation.Kds.Conversion;
using Federation.Resources;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace Federation.Kds.Cache;

/// <summary>A resource as KDS sends it; the wire form is built once per version and shared by every peer.</summary>
public sealed class CachedResource
{
    private DeltaResource? _wire;

    public CachedResource(Resource resource)
    {
        Resource = resource;
        WireName = KdsConversion.WireName(resource.Key);
    }

    public Resource Resource { get; }

    public string WireName { get; }

    public string Version => Resource.ContentHash;

    public DeltaResource Wire => _wire ??= KdsConversion.ToWire(Resource);
}

/// <summary>Everything of one type a control plane exports, by wire name; <see cref="Version"/> bumps on every change.</summary>
public sealed record TypeView(string Type, long Version, ImmutableSortedDictionary<string, CachedResource> Items)
{
    public static TypeView Empty(string type) =>
        new(type, 0, ImmutableSortedDictionary.Create<string, CachedResource>(StringComparer.Ordinal));
}

/// <summary>An immutable snapshot of every exported type, swapped as a whole on change.</summary>
public sealed record KdsSnapshot(long Version, ImmutableDictionary<string, TypeView> Views)
{
    public TypeView View(string type) => Views.TryGetValue(type, out var v) ? v : TypeView.Empty(type);
}

/// <summary>A source of snapshots a KDS responder serves from.</summary>
public interface IKdsSnapshotSource
{
    KdsSnapshot Current { get; }

    /// <summary>Completes when a snapshot newer than <paramref name="version"/> is published.</summary>
    Task WaitForNewerAsync(long version, CancellationToken cancellationToken);
}
