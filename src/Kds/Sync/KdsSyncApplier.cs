using Federation.Kds.Conversion;
using Federation.Resources;
using Federation.Stores;
using Federation.Validation;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace Federation.Kds.Sync;

/// <summary>Applies one received KDS response to the local store.</summary>
public interface IKdsApplier
{
    /// <returns>One reason per resource that was not applied (empty: everything applied).</returns>
    Task<IReadOnlyList<string>> ApplyAsync(ResourceTypeDescriptor type, bool fullState, IReadOnlyList<DeltaResource> resources, IReadOnlyList<string> removed, CancellationToken cancellationToken);
}

/// <summary>
/// Applies a response in one store transaction, within the feed's scope: valid resources are written,
/// invalid or conflicting ones are reported, removals (and, for a full state, whatever the feed owns locally
/// but no longer sends) are deleted. Resources outside the scope are never touched.
/// </summary>
public sealed class KdsSyncApplier(IResourceStore store, ISyncScope scope) : IKdsApplier
{
    /// <summary>Above this many resources, read the whole type once instead of one key at a time.</summary>
    private const int PointReadLimit = 16;

    public async Task<IReadOnlyList<string>> ApplyAsync(ResourceTypeDescriptor type, bool fullState, IReadOnlyList<DeltaResource> resources, IReadOnlyList<string> removed, CancellationToken cancellationToken)
    {
        // The writes that produced these versions, when the sender traced them: this commit continues their trace.
        using var activity = Hosting.TraceContext.StartCausedBy("kds.apply", resources.Select(KdsConversion.TraceOf));
        activity?.SetTag("federation.kds.type", type.Name);
        activity?.SetTag("federation.kds.resources", resources.Count);
        activity?.SetTag("federation.kds.removed", removed.Count);
        activity?.SetTag("federation.kds.full_state", fullState);
        var rejected = new List<string>();
        var local = new List<Resource>(resources.Count);
        // Keys named in the response, valid or not: a full state must not delete a resource just because its
        // new version was rejected (the last good one stays).
        var named = new HashSet<ResourceKey>();
        foreach (var wire in resources)
        {
            try
            {
                var remote = KdsConversion.FromWire(type, wire);
                named.Add(scope.LocalKey(remote.Key));
                local.Add(scope.ToLocal(remote));
            }
            catch (ValidationException e)
            {
                rejected.Add($"{type.Name} '{wire.Name}': {e.Message}");
                try
                {
                    named.Add(scope.LocalKey(KdsConversion.ParseWireName(type, wire.Name)));
                }
                catch (FormatException)
                {
                }
            }
        }

        Dictionary<ResourceKey, Resource>? all = null;
        if (fullState || local.Count > PointReadLimit)
        {
            var page = await store.ListAsync(new ResourceQuery(type.Name), cancellationToken);
            all = page.Items.ToDictionary(r => r.Key);
        }

        var writes = new List<ResourceWrite>();
        foreach (var resource in local)
        {
            var existing = all is not null
                ? all.GetValueOrDefault(resource.Key)
                : await store.GetAsync(resource.Key, cancellationToken);
            if (existing is not null && !scope.Owns(existing))
            {
                rejected.Add($"{type.Name} '{KdsConversion.WireName(resource.Key)}': conflicts with {Describe(existing)} of the same name; rename one of them");
                continue;
            }
            writes.Add(new PutResource(resource));
        }

        foreach (var name in removed)
        {
            ResourceKey key;
            try
            {
                key = scope.LocalKey(KdsConversion.ParseWireName(type, name));
            }
            catch (FormatException e)
            {
                rejected.Add($"removal of '{name}': {e.Message}");
                continue;
            }
            var existing = all is not null ? all.GetValueOrDefault(key) : await store.GetAsync(key, cancellationToken);
            if (existing is not null && scope.Owns(existing))
            {
                writes.Add(new DeleteResource(key, MustExist: false));
            }
        }

        if (fullState)
        {
            foreach (var (key, existing) in all!)
            {
                if (scope.Owns(existing) && !named.Contains(key))
                {
                    writes.Add(new DeleteResource(key, MustExist: false));
                }
            }
        }

        if (writes.Count > 0)
        {
            await store.CommitAsync(writes, cancellationToken);
        }
        return rejected;
    }

    private static string Describe(Resource existing)
    {
        var origin = existing.GetLabel(WellKnownLabels.Origin);
        var zone = existing.GetLabel(WellKnownLabels.Zone);
        return origin switch
        {
            WellKnownLabels.OriginZone when zone is not null => $"a resource from zone '{zone}'",
            WellKnownLabels.OriginGlobal => "a resource from the global control plane",
            _ => "a resource created locally",
        };
    }
}
