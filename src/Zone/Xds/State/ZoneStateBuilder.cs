using System.Collections.Immutable;
using System.Diagnostics;
using System.Threading.Channels;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Security.Pki;
using Federation.Stores;

namespace Federation.Zone.Xds.State;

/// <summary>
/// Keeps <see cref="ZoneState"/> current from the store's changes: an in-memory mirror of the types config
/// depends on (Mesh, Dataplane, MeshTrafficPermission, Secret, ZoneIngress), updated per change; only the meshes
/// a batch touched are rebuilt. Subscribers learn which meshes changed.
/// </summary>
public sealed partial class ZoneStateBuilder : BackgroundService
{
    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.Ordinal)
    {
        ResourceTypes.Mesh.Name, ResourceTypes.Dataplane.Name, ResourceTypes.MeshTrafficPermission.Name,
        ResourceTypes.Secret.Name, ResourceTypes.ZoneIngress.Name, ResourceTypes.ZoneEgress.Name, ResourceTypes.VirtualIps.Name,
    };

    private readonly IResourceStore _store;
    private readonly string _zone;
    private readonly TimeSpan _batchWindow;
    private readonly TimeProvider _time;
    private readonly ILogger<ZoneStateBuilder> _logger;
    private readonly Channel<(ResourceChange Change, ActivityContext Trace)> _changes =
        Channel.CreateUnbounded<(ResourceChange, ActivityContext)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, Dictionary<ResourceKey, Resource>> _mirror = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Every service each mesh has had since the zone started, with its last known protocol. A service that goes
    // away (its last instance left, or the ingress serving it was withdrawn or deleted) stays as a service without
    // endpoints: proxies keep resources the server merely stops sending (gRPC clients run with
    // ignore_resource_deletion, and EDS has no deletion in state of the world), so only an empty
    // ClusterLoadAssignment makes them stop dialing the endpoints they had.
    private readonly Dictionary<string, Dictionary<string, string>> _knownServices = new(StringComparer.Ordinal);
    private ZoneState _current;
    private DateTimeOffset _lastPublish = DateTimeOffset.MinValue;
    private long _version;

    public ZoneStateBuilder(IResourceStore store, ZoneOptions options, TimeProvider time, ILogger<ZoneStateBuilder> logger)
    {
        _store = store;
        _zone = options.Zone;
        _batchWindow = TimeSpan.FromMilliseconds(options.XdsBatchWindowMs);
        _time = time;
        _logger = logger;
        _current = new ZoneState(_zone, 0, ImmutableDictionary<string, MeshView>.Empty);
        foreach (var t in Types)
        {
            _mirror[t] = [];
        }
    }

    public ZoneState Current => Volatile.Read(ref _current);

    public Task Loaded => _loaded.Task;

    /// <summary>Raised (on the builder's loop) after a new state is published, with the meshes that changed.</summary>
    public event Action<ZoneState, IReadOnlySet<string>>? Changed;

    public void Enqueue(ResourceChange change)
    {
        if (change.Kind == ChangeKind.Reset || Types.Contains(change.Key.Type))
        {
            _changes.Writer.TryWrite((change, Hosting.TraceContext.Current));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReloadAsync(stoppingToken);
            _loaded.TrySetResult();
            var reader = _changes.Reader;
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                // Leading edge: a change after a quiet spell is applied at once; a burst within the window after it
                // waits for the window's end and becomes one round of generation.
                var wait = _lastPublish + _batchWindow - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stoppingToken);
                }
                _lastPublish = _time.GetUtcNow();
                var touched = new HashSet<string>(StringComparer.Ordinal);
                var causes = new List<ActivityContext>();
                var notOnlyPermissions = new HashSet<string>(StringComparer.Ordinal);
                var reset = false;
                while (reader.TryRead(out var item))
                {
                    var change = item.Change;
                    causes.Add(item.Trace);
                    if (change.Kind == ChangeKind.Reset)
                    {
                        reset = true;
                        continue;
                    }
                    var byKey = _mirror[change.Key.Type];
                    var before = byKey.GetValueOrDefault(change.Key);
                    if (change.Kind == ChangeKind.Deleted)
                    {
                        byKey.Remove(change.Key);
                    }
                    else
                    {
                        byKey[change.Key] = change.Resource!;
                    }
                    var meshes = change.Key.Type == ResourceTypes.VirtualIps.Name
                        ? MeshesWithOtherVips(before, change.Kind == ChangeKind.Deleted ? null : change.Resource)
                        : MeshesOf(change.Resource!);
                    touched.UnionWith(meshes);
                    if (change.Key.Type != ResourceTypes.MeshTrafficPermission.Name)
                    {
                        notOnlyPermissions.UnionWith(meshes);
                    }
                }
                // The writes behind this round, when traced, get its generation and push in their trace.
                using var activity = Hosting.TraceContext.StartCausedBy("xds.push", causes);
                activity?.SetTag("federation.zone", _zone);
                activity?.SetTag("federation.xds.changes", causes.Count);
                if (reset)
                {
                    await ReloadAsync(stoppingToken);
                }
                else if (touched.Count > 0)
                {
                    Publish(touched, touched.Except(notOnlyPermissions).ToHashSet(StringComparer.Ordinal));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _loaded.TrySetException(e);
            LogFailed(_logger, e);
            throw;
        }
    }

    /// <summary>The zone's VIP table, <c>&lt;service&gt;.&lt;mesh&gt;</c> → address (the allocator keeps it in the store).</summary>
    private static IReadOnlyDictionary<string, string> VipsOf(Resource? table) =>
        table?.GetSpec<VirtualIpsSpec>().Vips ?? ImmutableDictionary<string, string>.Empty;

    /// <summary>The meshes whose VIPs differ between two versions of the VIP table (mesh names hold no dots).</summary>
    private static IEnumerable<string> MeshesWithOtherVips(Resource? before, Resource? after)
    {
        var (old, now) = (VipsOf(before), VipsOf(after));
        return old.Keys.Union(now.Keys)
            .Where(k => old.GetValueOrDefault(k) != now.GetValueOrDefault(k))
            .Select(k => k[(k.LastIndexOf('.') + 1)..])
            .Distinct(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Which meshes a change affects (ZoneIngress: every mesh it advertises).</summary>
    private static IEnumerable<string> MeshesOf(Resource resource)
    {
        if (resource.Type == ResourceTypes.Mesh.Name)
        {
            return [resource.Name];
        }
        if (resource.Type == ResourceTypes.ZoneIngress.Name || resource.Type == ResourceTypes.ZoneEgress.Name)
        {
            return ["*"];
        }
        return [resource.Mesh];
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        foreach (var type in Types)
        {
            var all = await _store.ListAllAsync(type, cancellationToken: cancellationToken);
            _mirror[type] = all.ToDictionary(r => r.Key);
        }
        Publish(null);
    }

    /// <param name="touched">The meshes to rebuild; null: all.</param>
    /// <param name="permissionsOnly">Those of them where only MeshTrafficPermissions changed.</param>
    private void Publish(HashSet<string>? touched, IReadOnlySet<string>? permissionsOnly = null)
    {
        var previous = Current;
        var version = ++_version;
        var meshNames = _mirror[ResourceTypes.Mesh.Name].Values.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var rebuildAll = touched is null || touched.Contains("*");
        var meshes = previous.Meshes.RemoveRange(previous.Meshes.Keys.Where(k => !meshNames.Contains(k)));
        foreach (var gone in _knownServices.Keys.Where(k => !meshNames.Contains(k)).ToList())
        {
            _knownServices.Remove(gone);
        }
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in meshNames)
        {
            if (!rebuildAll && permissionsOnly?.Contains(name) == true && meshes.TryGetValue(name, out var unchanged))
            {
                // A policy change, the most common one: everything else of the mesh (its services over every
                // Dataplane, its CA) is kept as it was, so what depends only on that stays the same objects.
                meshes = meshes.SetItem(name, unchanged with { Version = version, Permissions = Permissions(name) });
                changed.Add(name);
            }
            else if (rebuildAll || touched!.Contains(name) || !meshes.ContainsKey(name))
            {
                meshes = meshes.SetItem(name, BuildMesh(name, version));
                changed.Add(name);
            }
        }
        changed.UnionWith(previous.Meshes.Keys.Where(k => !meshNames.Contains(k)));
        if (rebuildAll)
        {
            // Ingress and egress proxies serve every mesh.
            changed.Add("*");
        }
        var state = new ZoneState(_zone, version, meshes)
        {
            LocalIngresses = [.. _mirror[ResourceTypes.ZoneIngress.Name].Values.Where(IsLocal).OrderBy(r => r.Name, StringComparer.Ordinal)],
            LocalEgresses = [.. _mirror[ResourceTypes.ZoneEgress.Name].Values.Where(IsLocal).OrderBy(r => r.Name, StringComparer.Ordinal)],
        };
        Volatile.Write(ref _current, state);
        Changed?.Invoke(state, changed);
    }

    /// <summary>Registered in this zone, not relayed from another one.</summary>
    private bool IsLocal(Resource r) =>
        r.GetLabel(WellKnownLabels.Origin) != WellKnownLabels.OriginGlobal && (r.GetLabel(WellKnownLabels.Zone) ?? _zone) == _zone;

    private MeshView BuildMesh(string name, long version)
    {
        var mesh = _mirror[ResourceTypes.Mesh.Name][ResourceKey.Global(ResourceTypes.Mesh.Name, name)];
        var spec = mesh.GetSpec<MeshSpec>();
        var secrets = _mirror[ResourceTypes.Secret.Name];
        MeshCaMaterial? ca = null;
        var backend = spec.EnabledBackend;
        if (backend is not null)
        {
            ca = MeshCa.FromSecrets(
                secrets.GetValueOrDefault(new ResourceKey(ResourceTypes.Secret.Name, name, MeshCa.CertSecretName(name, backend.Name))),
                secrets.GetValueOrDefault(new ResourceKey(ResourceTypes.Secret.Name, name, MeshCa.KeySecretName(name, backend.Name))));
        }

        var dataplanes = _mirror[ResourceTypes.Dataplane.Name].Values.Where(d => d.Mesh == name).ToImmutableDictionary(d => d.Name, StringComparer.Ordinal);
        var local = new Dictionary<string, List<LocalEndpoint>>(StringComparer.Ordinal);
        var protocols = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var dp in dataplanes.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            var networking = dp.GetSpec<DataplaneSpec>().Networking;
            foreach (var inbound in networking.Inbound ?? [])
            {
                if (!inbound.Tags.TryGetValue(WellKnownLabels.Service, out var service))
                {
                    continue;
                }
                var tags = new Dictionary<string, string>(inbound.Tags, StringComparer.Ordinal) { [WellKnownLabels.Zone] = _zone };
                (local.TryGetValue(service, out var list) ? list : local[service] = []).Add(
                    new LocalEndpoint(dp.Name, inbound.Address ?? networking.AdvertisedAddress ?? networking.Address, inbound.Port, tags, inbound.IsReady));
                if (inbound.Tags.TryGetValue(WellKnownLabels.Protocol, out var protocol))
                {
                    protocols.TryAdd(service, protocol);
                }
            }
        }

        var remote = new Dictionary<string, List<RemoteEndpoint>>(StringComparer.Ordinal);
        foreach (var ingress in _mirror[ResourceTypes.ZoneIngress.Name].Values)
        {
            var owner = ingress.GetLabel(WellKnownLabels.Zone);
            var ingressSpec = ingress.GetSpec<ZoneIngressSpec>();
            var address = ingressSpec.Networking.AdvertisedAddress;
            var port = ingressSpec.Networking.AdvertisedPort;
            if (owner is null || owner == _zone || address is null || port is null)
            {
                continue;
            }
            foreach (var available in ingressSpec.AvailableServices ?? [])
            {
                if (available.Mesh != name || available.Instances <= 0 || !available.Tags.TryGetValue(WellKnownLabels.Service, out var service))
                {
                    continue;
                }
                var list = remote.TryGetValue(service, out var l) ? l : remote[service] = [];
                // Several instances of one ingress (or several tag sets) behind one advertised address count once.
                var existing = list.FindIndex(r => r.Zone == owner && r.Address == address && r.Port == port);
                if (existing >= 0)
                {
                    list[existing] = list[existing] with { Instances = list[existing].Instances + available.Instances };
                }
                else
                {
                    list.Add(new RemoteEndpoint(owner, address, port.Value, available.Instances));
                }
                if (available.Tags.TryGetValue(WellKnownLabels.Protocol, out var protocol))
                {
                    protocols.TryAdd(service, protocol);
                }
            }
        }

        if (!_knownServices.TryGetValue(name, out var known))
        {
            _knownServices[name] = known = new Dictionary<string, string>(StringComparer.Ordinal);
        }
        foreach (var s in local.Keys.Union(remote.Keys))
        {
            known[s] = protocols.GetValueOrDefault(s, "tcp");
        }
        var services = known.Keys.ToImmutableSortedDictionary(s => s, s => new ServiceView(
            s,
            known[s],
            [.. local.GetValueOrDefault(s) ?? []],
            // Cross-zone traffic needs mTLS (the ingress routes by SNI and never terminates TLS).
            spec.MtlsEnabled ? [.. (remote.GetValueOrDefault(s) ?? []).OrderBy(r => r.Zone, StringComparer.Ordinal)] : []), StringComparer.Ordinal);

        var permissions = Permissions(name);
        var egresses = spec.Routing?.ZoneEgress == true
            ? _mirror[ResourceTypes.ZoneEgress.Name].Values.Where(IsLocal)
                .Select(e => e.GetSpec<ZoneEgressSpec>().Networking).Select(n => (n.Address, n.Port)).Distinct().Order().ToImmutableArray()
            : [];
        var suffix = "." + name;
        var vips = _mirror[ResourceTypes.VirtualIps.Name].Values.SelectMany(t => VipsOf(t))
            .Where(kv => kv.Key.EndsWith(suffix, StringComparison.Ordinal) && services.ContainsKey(kv.Key[..^suffix.Length]))
            .ToImmutableSortedDictionary(kv => kv.Key[..^suffix.Length], kv => kv.Value, StringComparer.Ordinal);
        return new MeshView(name, version, spec, ca, backend?.Name, services, permissions, dataplanes) { Egresses = egresses, Vips = vips };
    }

    private ImmutableArray<Resource> Permissions(string mesh) =>
        [.. _mirror[ResourceTypes.MeshTrafficPermission.Name].Values.Where(p => p.Mesh == mesh).OrderBy(p => p.Name, StringComparer.Ordinal)];

    [LoggerMessage(EventId = 60, EventName = "ZoneStateFailed", Level = LogLevel.Critical, Message = "The zone state builder stopped")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
