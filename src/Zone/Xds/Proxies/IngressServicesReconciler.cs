using System.Threading.Channels;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Stores;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.State;

namespace Federation.Zone.Xds.Proxies;

/// <summary>
/// Computes each local ZoneIngress's <c>availableServices</c> from the zone's healthy Dataplane inbounds: per
/// mesh (with mTLS: cross-zone traffic needs it) and tag set (including <c>kuma.io/zone</c>), with instance
/// counts. An ingress whose proxy has had no xDS stream for longer than the grace period advertises nothing, so
/// other zones stop routing to a dead ingress. KDS carries the result up to the global, which relays it.
/// </summary>
public sealed partial class IngressServicesReconciler : BackgroundService
{
    private readonly ZoneStateBuilder _state;
    private readonly ProxyRegistry _proxies;
    private readonly IResourceStore _store;
    private readonly ZoneOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<IngressServicesReconciler> _logger;
    private readonly Channel<bool> _kick = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Dictionary<string, DateTimeOffset> _lastConnected = new(StringComparer.Ordinal);
    private readonly DateTimeOffset _started;

    public IngressServicesReconciler(ZoneStateBuilder state, ProxyRegistry proxies, IResourceStore store, ZoneOptions options, TimeProvider time, ILogger<IngressServicesReconciler> logger)
    {
        _state = state;
        _proxies = proxies;
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _started = time.GetUtcNow();
        _state.Changed += (_, _) => Kick();
        _proxies.ZoneProxyConnectivityChanged += (_, _) => Kick();
    }

    private TimeSpan Grace => TimeSpan.FromSeconds(_options.IngressHealthTimeoutSeconds);

    private void Kick() => _kick.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _state.Loaded.WaitAsync(stoppingToken);
            Kick();
            while (!stoppingToken.IsCancellationRequested)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                // Re-check at least every quarter grace period so a vanished ingress is withdrawn on time.
                tick.CancelAfter(Grace / 4);
                try
                {
                    await _kick.Reader.ReadAsync(tick.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                }
                try
                {
                    await ReconcileAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var state = _state.Current;
        var now = _time.GetUtcNow();
        foreach (var ingress in state.LocalIngresses)
        {
            if (_proxies.IsConnected(ProxyKind.Ingress, ingress.Name))
            {
                _lastConnected[ingress.Name] = now;
            }
            var seen = _lastConnected.TryGetValue(ingress.Name, out var t) ? t : _started;
            var alive = now - seen <= Grace;
            var wanted = alive ? Compute(state) : [];
            var spec = ingress.GetSpec<ZoneIngressSpec>();
            if (Same(spec.AvailableServices ?? [], wanted) && spec.Zone == state.Zone)
            {
                continue;
            }
            var updated = spec with { AvailableServices = wanted, Zone = state.Zone };
            try
            {
                await _store.PutAsync(ingress with { Spec = ResourceTypes.ZoneIngress.SerializeSpec(updated) }, ingress.Version, cancellationToken);
                LogUpdated(_logger, ingress.Name, wanted.Count, alive);
            }
            catch (ResourceConflictException)
            {
                // Changed meanwhile (re-registered); the change brings us back here.
                Kick();
            }
        }
    }

    /// <summary>Healthy inbounds grouped by mesh and tag set (with this zone's tag), mTLS meshes only.</summary>
    public static IReadOnlyList<AvailableService> Compute(ZoneState state)
    {
        var result = new List<AvailableService>();
        foreach (var mesh in state.Meshes.Values.Where(m => m.MtlsEnabled).OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            var counts = new SortedDictionary<string, (IReadOnlyDictionary<string, string> Tags, int Count)>(StringComparer.Ordinal);
            foreach (var endpoint in mesh.Services.Values.SelectMany(s => s.Local).Where(e => e.Healthy))
            {
                var key = string.Join(';', endpoint.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));
                counts[key] = counts.TryGetValue(key, out var c) ? (c.Tags, c.Count + 1) : (endpoint.Tags, 1);
            }
            result.AddRange(counts.Values.Select(c => new AvailableService
            {
                Mesh = mesh.Name,
                Tags = new SortedDictionary<string, string>(c.Tags.ToDictionary(), StringComparer.Ordinal),
                Instances = c.Count,
            }));
        }
        return result;
    }

    private static bool Same(IReadOnlyList<AvailableService> a, IReadOnlyList<AvailableService> b)
    {
        static string Key(AvailableService s) =>
            $"{s.Mesh}|{s.Instances}|{string.Join(';', s.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"))}";
        return a.Select(Key).Order(StringComparer.Ordinal).SequenceEqual(b.Select(Key).Order(StringComparer.Ordinal));
    }

    [LoggerMessage(EventId = 80, EventName = "IngressServicesUpdated", Level = LogLevel.Information, Message = "ZoneIngress {Name} now advertises {Count} services (ingress alive: {Alive})")]
    private static partial void LogUpdated(ILogger logger, string name, int count, bool alive);

    [LoggerMessage(EventId = 81, EventName = "IngressServicesFailed", Level = LogLevel.Warning, Message = "Could not update ZoneIngress available services")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
