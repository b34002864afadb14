using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Stores;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.Server;
using Federation.Zone.Xds.State;

namespace Federation.Zone.Xds.Proxies;

/// <summary>
/// Every connected proxy of this zone. When the zone state changes, the snapshots of the proxies in the changed
/// meshes are regenerated (and only those); certificates are rotated when due; each proxy's DataplaneInsight is
/// written in batches.
/// </summary>
public sealed partial class ProxyRegistry : BackgroundService
{
    private readonly ConcurrentDictionary<string, ProxyWatch> _watches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Mesh, string Name), bool> _dirty = new();
    private readonly ConcurrentDictionary<(string Mesh, string Name), List<XdsSubscription>> _ended = new();
    private readonly ZoneStateBuilder _state;
    private readonly ConfigGenerator _generator;
    private readonly CertificateManager _certificates;
    private readonly IResourceStore _store;
    private readonly ZoneOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ProxyRegistry> _logger;
    private long _version;

    private readonly System.Diagnostics.Metrics.Histogram<double> _generation;

    public ProxyRegistry(ZoneStateBuilder state, ConfigGenerator generator, CertificateManager certificates, IResourceStore store, ZoneOptions options, TimeProvider time, ILogger<ProxyRegistry> logger, System.Diagnostics.Metrics.IMeterFactory meters)
    {
        var meter = meters.Create("Federation");
        _generation = meter.CreateHistogram<double>("federation.xds.generation.duration", unit: "ms", description: "Time to generate one proxy's config snapshot");
        meter.CreateObservableGauge("federation.xds.proxies", () => _watches.Count, unit: "{proxy}", description: "Proxies connected to this zone's xDS server");
        _state = state;
        _generator = generator;
        _certificates = certificates;
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _state.Changed += OnStateChanged;
    }

    public static string InstanceId { get; } = Guid.NewGuid().ToString("n")[..12];

    internal DateTimeOffset Now => _time.GetUtcNow();

    public int Count => _watches.Count;

    public IEnumerable<ProxyWatch> Watches => _watches.Values;

    /// <summary>Registers a new stream and gives it its first snapshot.</summary>
    public ProxyWatch Add(string mesh, string name, ProxyKind kind, string protocol, string? proxyVersion)
    {
        var watch = new ProxyWatch(this, Guid.NewGuid().ToString("n"), mesh, name, kind, protocol, proxyVersion, _time.GetUtcNow());
        _watches[watch.Id] = watch;
        Regenerate(watch, _state.Current);
        MarkDirty(mesh, name);
        LogConnected(_logger, watch.ProxyId, kind, protocol);
        if (mesh.Length == 0)
        {
            ZoneProxyConnectivityChanged?.Invoke(kind, name);
        }
        return watch;
    }

    internal void Remove(ProxyWatch watch)
    {
        if (_watches.TryRemove(watch.Id, out _))
        {
            watch.DisconnectTime = _time.GetUtcNow();
            if (watch.Mesh.Length > 0)
            {
                RecordEnded(watch);
            }
            MarkDirty(watch.Mesh, watch.Name);
            LogDisconnected(_logger, watch.ProxyId);
            if (watch.Mesh.Length == 0)
            {
                ZoneProxyConnectivityChanged?.Invoke(watch.Kind, watch.Name);
            }
        }
    }

    private void RecordEnded(ProxyWatch watch) =>
        _ended.AddOrUpdate((watch.Mesh, watch.Name), _ => [watch.ToSubscription(InstanceId)], (_, list) =>
        {
            lock (list)
            {
                list.Add(watch.ToSubscription(InstanceId));
            }
            return list;
        });

    internal void MarkDirty(string mesh, string name)
    {
        if (mesh.Length > 0)
        {
            _dirty[(mesh, name)] = true;
        }
    }

    /// <summary>Raised when an ingress or egress proxy connects or disconnects.</summary>
    public event Action<ProxyKind, string>? ZoneProxyConnectivityChanged;

    /// <summary>Whether a zone ingress/egress of this name has an xDS stream open now.</summary>
    public bool IsConnected(ProxyKind kind, string name) => _watches.Values.Any(w => w.Kind == kind && w.Name == name);

    private void OnStateChanged(ZoneState state, IReadOnlySet<string> meshes)
    {
        foreach (var watch in _watches.Values)
        {
            // Ingress and egress proxies serve every mesh.
            if (watch.Mesh.Length == 0 || meshes.Contains(watch.Mesh) || meshes.Contains("*"))
            {
                Regenerate(watch, state);
            }
        }
    }

    private void Regenerate(ProxyWatch watch, ZoneState state)
    {
        if (watch.Kind is ProxyKind.Ingress or ProxyKind.Egress)
        {
            var own = (watch.Kind == ProxyKind.Ingress ? state.LocalIngresses : state.LocalEgresses).FirstOrDefault(r => r.Name == watch.Name);
            if (own is not null)
            {
                Publish(watch, _generator.Generate(state, new ProxyContext(state.Zone, own, watch.Kind, null), Interlocked.Increment(ref _version)));
            }
            return;
        }
        var mesh = state.Mesh(watch.Mesh);
        if (mesh is null || !mesh.Ready || !mesh.Dataplanes.TryGetValue(watch.Name, out var dataplane))
        {
            // The Dataplane is gone (or not yet seen): keep serving the last config; traffic must not stop on a blip.
            return;
        }
        var certificate = watch.Kind == ProxyKind.Envoy ? _certificates.Get(mesh, dataplane) : null;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var snapshot = _generator.Generate(state, new ProxyContext(state.Zone, dataplane, watch.Kind, certificate), Interlocked.Increment(ref _version));
        _generation.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        Publish(watch, snapshot);
    }

    private static void Publish(ProxyWatch watch, ProxySnapshot snapshot)
    {
        var previous = watch.Current;
        if (previous.IsPending || !SameContent(previous, snapshot))
        {
            watch.Publish(snapshot);
        }
    }

    private static bool SameContent(ProxySnapshot a, ProxySnapshot b) =>
        a.TypeVersions.Count == b.TypeVersions.Count && a.TypeVersions.All(kv => b.TypeVersions.TryGetValue(kv.Key, out var v) && v == kv.Value);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.InsightFlushIntervalMs), _time);
        var nextRotationCheck = _time.GetUtcNow();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (_time.GetUtcNow() >= nextRotationCheck)
                {
                    // Certificates due for renewal come back new from the manager; regenerate Envoy proxies to serve them.
                    var state = _state.Current;
                    foreach (var watch in _watches.Values.Where(w => w.Kind == ProxyKind.Envoy))
                    {
                        Regenerate(watch, state);
                    }
                    nextRotationCheck = _time.GetUtcNow() + TimeSpan.FromSeconds(30);
                }
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var watch in _watches.Values)
        {
            Remove(watch);
        }
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFlushFailed(_logger, e);
        }
    }

    /// <summary>Writes the DataplaneInsight of every proxy that changed, in one batch.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_dirty.IsEmpty)
        {
            return;
        }
        var keys = _dirty.Keys.ToList();
        foreach (var k in keys)
        {
            _dirty.TryRemove(k, out _);
        }
        var writes = new List<ResourceWrite>();
        foreach (var (mesh, name) in keys)
        {
            var key = new ResourceKey(ResourceTypes.DataplaneInsight.Name, mesh, name);
            var existing = await _store.GetAsync(key, cancellationToken);
            var subscriptions = existing?.GetSpec<DataplaneInsightSpec>().Subscriptions?.ToList() ?? [];
            var current = _watches.Values.Where(w => w.Mesh == mesh && w.Name == name).Select(w => w.ToSubscription(InstanceId));
            var ended = _ended.TryRemove((mesh, name), out var e) ? e : [];
            foreach (var subscription in ended.Concat(current))
            {
                var index = subscriptions.FindIndex(s => s.Id == subscription.Id);
                if (index >= 0)
                {
                    subscriptions[index] = subscription;
                }
                else
                {
                    subscriptions.Add(subscription);
                }
            }
            var spec = new DataplaneInsightSpec
            {
                Subscriptions = [.. subscriptions.OrderBy(s => s.ConnectTime).TakeLast(5)],
                MTls = _certificates.Info(mesh, name, _state.Current.Mesh(mesh)?.CaBackend),
            };
            writes.Add(new PutResource(new Resource(key, ResourceTypes.DataplaneInsight.SerializeSpec(spec))));
        }
        try
        {
            await _store.CommitAsync(writes, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            foreach (var k in keys)
            {
                MarkDirty(k.Mesh, k.Name);
            }
            LogFlushFailed(_logger, e);
        }
    }

    public override void Dispose()
    {
        _state.Changed -= OnStateChanged;
        base.Dispose();
    }

    [LoggerMessage(EventId = 70, EventName = "ProxyConnected", Level = LogLevel.Information, Message = "Proxy {ProxyId} connected ({Kind}, {Protocol})")]
    private static partial void LogConnected(ILogger logger, string proxyId, ProxyKind kind, string protocol);

    [LoggerMessage(EventId = 71, EventName = "ProxyDisconnected", Level = LogLevel.Information, Message = "Proxy {ProxyId} disconnected")]
    private static partial void LogDisconnected(ILogger logger, string proxyId);

    [LoggerMessage(EventId = 72, EventName = "DataplaneInsightFlushFailed", Level = LogLevel.Warning, Message = "Could not store DataplaneInsights")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
