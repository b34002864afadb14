using Federation.Resources;

namespace Federation.Kds.Cache;

/// <summary>
/// What a control plane exports over KDS: which types, which resources of them, and which extra types it
/// tracks because they change what peers may see (a Zone's <c>enabled</c> decides whether its ingresses are relayed).
/// </summary>
public sealed class KdsExport
{
    /// <summary>Types served to peers.</summary>
    public required IReadOnlyList<ResourceTypeDescriptor> Types { get; init; }

    /// <summary>Whether a stored resource is exported at all (before per-peer filtering).</summary>
    public required Func<Resource, bool> Includes { get; init; }

    /// <summary>Types kept in the snapshot for filtering, not served.</summary>
    public IReadOnlyList<ResourceTypeDescriptor> Tracked { get; init; } = [];

    /// <summary>When a tracked type changes, the views of these served types are treated as changed.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Dependents { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>What the global sends down to zones: global-provided types, plus ingresses relayed between zones.</summary>
    public static KdsExport GlobalToZones() => new()
    {
        Types = [.. ResourceTypes.All.Where(t => t.Flow.HasFlag(KdsFlow.GlobalToZones) || t.Flow.HasFlag(KdsFlow.ZoneToZones))],
        Includes = r =>
        {
            var type = r.Descriptor;
            var fromZone = r.GetLabel(WellKnownLabels.Origin) == WellKnownLabels.OriginZone;
            if (fromZone)
            {
                return type.Flow.HasFlag(KdsFlow.ZoneToZones);
            }
            return type.Flow.HasFlag(KdsFlow.GlobalToZones) && type.IsSynced(r);
        },
        Tracked = [ResourceTypes.Zone],
        Dependents = new Dictionary<string, IReadOnlyList<string>>
        {
            [ResourceTypes.Zone.Name] = [.. ResourceTypes.All.Where(t => t.Flow.HasFlag(KdsFlow.ZoneToZones)).Select(t => t.Name)],
        },
    };

    /// <summary>What a zone sends up: its own inventory, never what it got from the global.</summary>
    public static KdsExport ZoneToGlobal() => new()
    {
        Types = [.. ResourceTypes.All.Where(t => t.Flow.HasFlag(KdsFlow.ZoneToGlobal))],
        Includes = r => r.GetLabel(WellKnownLabels.Origin) != WellKnownLabels.OriginGlobal && r.Descriptor.IsSynced(r),
    };

    /// <summary>
    /// The per-peer filter on the global: a zone never gets back its own resources, nor ingresses of zones
    /// that are disabled.
    /// </summary>
    public static Func<CachedResource, bool> ForZonePeer(string zone, KdsSnapshot snapshot) => c =>
    {
        var r = c.Resource;
        if (r.GetLabel(WellKnownLabels.Origin) != WellKnownLabels.OriginZone)
        {
            return true;
        }
        var owner = r.GetLabel(WellKnownLabels.Zone);
        if (owner is null || owner == zone)
        {
            return false;
        }
        var zones = snapshot.View(ResourceTypes.Zone.Name);
        return !zones.Items.TryGetValue(owner, out var z) || z.Resource.GetSpec<Resources.Types.ZoneSpec>().IsEnabled;
    };
}
