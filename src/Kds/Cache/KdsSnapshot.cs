using System.Collections.Immutable;
using System.Diagnostics;
using Federation.Kds.Conversion;
using Federation.Resources;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace Federation.Kds.Cache;

/// <summary>
/// A resource as KDS sends it; the wire form is built once per version and shared by every peer. It carries the trace
/// of the write that produced this version, when that write was traced here, so the receiver can continue it.
/// </summary>
public sealed class CachedResource
{
    private DeltaResource? _wire;

    public CachedResource(Resource resource, ActivityContext trace = default)
    {
        Resource = resource;
        WireName = KdsConversion.WireName(resource.Key);
        Trace = trace;
    }

    public ActivityContext Trace { get; }

    public Resource Resource { get; }

    public string WireName { get; }

    public string Version => Resource.ContentHash;

    public DeltaResource Wire => _wire ??= KdsConversion.WithTrace(KdsConversion.ToWire(Resource), Trace);
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
