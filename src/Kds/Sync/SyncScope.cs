using Federation.Resources;
using Federation.Validation;

namespace Federation.Kds.Sync;

/// <summary>
/// Ownership on the receiving side of a KDS feed: which local resources belong to the feed (and so may be
/// changed or deleted by it), and how a received resource is named and labelled locally.
/// </summary>
public interface ISyncScope
{
    /// <summary>Who the feed comes from, for messages.</summary>
    string Source { get; }

    /// <summary>True when <paramref name="local"/> came from this feed.</summary>
    bool Owns(Resource local);

    /// <summary>The local key of a remote key.</summary>
    ResourceKey LocalKey(ResourceKey remote);

    /// <summary>The resource as stored locally; throws <see cref="ValidationException"/> when it cannot be.</summary>
    Resource ToLocal(Resource remote);
}

/// <summary>On a zone: what the global sends. Labelled <c>kuma.io/origin: global</c>; names kept.</summary>
public sealed class FromGlobalScope : ISyncScope
{
    public string Source => "the global control plane";

    public bool Owns(Resource local) => local.GetLabel(WellKnownLabels.Origin) == WellKnownLabels.OriginGlobal;

    public ResourceKey LocalKey(ResourceKey remote) => remote;

    public Resource ToLocal(Resource remote) => remote.WithLabel(WellKnownLabels.Origin, WellKnownLabels.OriginGlobal);
}

/// <summary>
/// On the global: what one zone sends. Stamped with the zone of the authenticated token (never from the
/// payload) and renamed <c>&lt;name&gt;.&lt;zone&gt;</c>, unique across zones, with <c>kuma.io/display-name</c>
/// keeping the original name.
/// </summary>
public sealed class FromZoneScope(string zone) : ISyncScope
{
    public string Zone => zone;

    public string Source => $"zone {zone}";

    public bool Owns(Resource local) =>
        local.GetLabel(WellKnownLabels.Origin) == WellKnownLabels.OriginZone && local.GetLabel(WellKnownLabels.Zone) == zone;

    public ResourceKey LocalKey(ResourceKey remote) => remote with { Name = $"{remote.Name}.{zone}" };

    public Resource ToLocal(Resource remote)
    {
        var key = LocalKey(remote.Key);
        if (Names.CheckResourceName(key.Name) is { } problem)
        {
            throw new ValidationException("name", $"the name on the global would be '{key.Name}', which is invalid: {problem}");
        }
        var labels = remote.Labels
            .SetItem(WellKnownLabels.Origin, WellKnownLabels.OriginZone)
            .SetItem(WellKnownLabels.Zone, zone)
            .SetItem(WellKnownLabels.DisplayName, remote.Name);
        return remote with { Key = key, Labels = labels };
    }
}
