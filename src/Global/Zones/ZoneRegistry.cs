using System.Collections.Concurrent;
using Federation.Kds.Streams;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Stores;

namespace Federation.Global.Zones;

/// <summary>
/// The zones connected to this global instance: one subscription per zone connection (its GlobalToZone and
/// ZoneToGlobal streams share it), counters per type in both directions, health checks. A newer connection of
/// the same zone closes the older one's streams. Subscriptions are persisted as the zone's ZoneInsight, which
/// is also where Online/Offline is computed from (so every replica agrees).
/// </summary>
public sealed partial class ZoneRegistry(IResourceStore store, KdsGlobalOptions options, TimeProvider time, ILogger<ZoneRegistry> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, ZoneConnection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _dirty = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _flushSignal = new(0);

    public static string InstanceId { get; } = Guid.NewGuid().ToString("n")[..12];

    /// <summary>
    /// Registers a stream of a zone connection. Streams of an older connection of the same zone are cancelled:
    /// they are stale duplicates left by a zone that restarted or reconnected.
    /// </summary>
    public ZoneConnection Attach(string zone, string connectionId, string stream, string tokenId, string? zoneVersion, CancellationTokenSource streamCts)
    {
        ZoneConnection? stale = null;
        var connection = _connections.AddOrUpdate(zone,
            _ => new ZoneConnection(zone, connectionId, tokenId, zoneVersion, time),
            (_, existing) =>
            {
                if (existing.Id == connectionId)
                {
                    return existing;
                }
                stale = existing;
                return new ZoneConnection(zone, connectionId, tokenId, zoneVersion, time);
            });
        if (stale is not null)
        {
            LogStaleConnection(logger, zone, stale.Id, connectionId);
            stale.CloseAll();
            MarkDisconnected(stale);
        }
        connection.Changed ??= () => MarkDirty(zone);
        connection.AddStream(stream, streamCts);
        MarkDirty(zone);
        return connection;
    }

    public void Detach(ZoneConnection connection, string stream)
    {
        if (connection.RemoveStream(stream) == 0 && _connections.TryRemove(new KeyValuePair<string, ZoneConnection>(connection.Zone, connection)))
        {
            MarkDisconnected(connection);
        }
        MarkDirty(connection.Zone);
    }

    public void HealthCheck(string zone, string connectionId, string? version)
    {
        if (_connections.TryGetValue(zone, out var connection) && connection.Id == connectionId)
        {
            connection.LastHealthCheck = time.GetUtcNow();
            if (!string.IsNullOrEmpty(version))
            {
                connection.ZoneVersion = version;
            }
            MarkDirty(zone);
        }
    }

    /// <summary>Closes every stream of zones whose token was revoked (or of one zone, for tests and admin).</summary>
    public int CloseWhere(Func<ZoneConnection, bool> predicate)
    {
        var closed = 0;
        foreach (var connection in _connections.Values.Where(predicate))
        {
            connection.CloseAll();
            closed++;
        }
        return closed;
    }

    public bool IsConnectedHere(string zone) => _connections.ContainsKey(zone);

    private void MarkDisconnected(ZoneConnection connection)
    {
        connection.DisconnectTime ??= time.GetUtcNow();
        _pendingFinal[connection.Id] = connection;
    }

    private readonly ConcurrentDictionary<string, ZoneConnection> _pendingFinal = new(StringComparer.Ordinal);

    private void MarkDirty(string zone)
    {
        _dirty[zone] = true;
        if (_flushSignal.CurrentCount == 0)
        {
            _flushSignal.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _flushSignal.WaitAsync(stoppingToken);
                await FlushAsync(stoppingToken);
                await Task.Delay(options.InsightFlushInterval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var connection in _connections.Values)
        {
            connection.CloseAll();
            MarkDisconnected(connection);
            _dirty[connection.Zone] = true;
        }
        await base.StopAsync(cancellationToken);
        try
        {
            await FlushAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFlushFailed(logger, e);
        }
    }

    /// <summary>Writes the ZoneInsight of every zone that changed since the last flush.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var zone in _dirty.Keys.ToList())
        {
            _dirty.TryRemove(zone, out _);
            var finals = _pendingFinal.Values.Where(c => c.Zone == zone).ToList();
            var live = _connections.TryGetValue(zone, out var c) ? c : null;
            try
            {
                await WriteInsightAsync(zone, finals.Append(live).OfType<ZoneConnection>().ToList(), cancellationToken);
                foreach (var f in finals)
                {
                    _pendingFinal.TryRemove(f.Id, out _);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _dirty[zone] = true;
                LogFlushFailed(logger, e);
            }
        }
    }

    private async Task WriteInsightAsync(string zone, IReadOnlyList<ZoneConnection> connections, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Global(ResourceTypes.ZoneInsight.Name, zone);
        for (var attempt = 0; ; attempt++)
        {
            var existing = await store.GetAsync(key, cancellationToken);
            var subscriptions = existing?.GetSpec<ZoneInsightSpec>().Subscriptions?.ToList() ?? [];
            foreach (var connection in connections)
            {
                var snapshot = connection.ToSubscription(InstanceId);
                var index = subscriptions.FindIndex(s => s.Id == snapshot.Id);
                if (index >= 0)
                {
                    subscriptions[index] = snapshot;
                }
                else
                {
                    subscriptions.Add(snapshot);
                }
            }
            // A subscription of another instance that we know ended (the zone is connected here now) is closed.
            var current = connections.LastOrDefault(c => c.DisconnectTime is null);
            if (current is not null)
            {
                for (var i = 0; i < subscriptions.Count; i++)
                {
                    if (subscriptions[i].Id != current.Id && subscriptions[i].DisconnectTime is null)
                    {
                        subscriptions[i] = subscriptions[i] with { DisconnectTime = current.ConnectTime };
                    }
                }
            }
            subscriptions = [.. subscriptions.OrderBy(s => s.ConnectTime).TakeLast(options.SubscriptionHistory)];
            var spec = new ZoneInsightSpec { Subscriptions = subscriptions };
            var resource = new Resource(key, ResourceTypes.ZoneInsight.SerializeSpec(spec));
            try
            {
                await store.PutAsync(resource, existing?.Version ?? 0, cancellationToken);
                return;
            }
            catch (ResourceConflictException) when (attempt < 5)
            {
            }
        }
    }

    /// <summary>Creates the Zone resource the first time a zone connects.</summary>
    public async Task EnsureZoneAsync(string zone, CancellationToken cancellationToken)
    {
        var key = ResourceKey.Global(ResourceTypes.Zone.Name, zone);
        if (await store.GetAsync(key, cancellationToken) is not null)
        {
            return;
        }
        try
        {
            await store.CreateAsync(new Resource(key, ResourceTypes.Zone.SerializeSpec(new ZoneSpec { Enabled = true })), cancellationToken);
        }
        catch (ResourceConflictException)
        {
        }
    }

    [LoggerMessage(EventId = 20, EventName = "ZoneStaleConnection", Level = LogLevel.Information, Message = "Zone {Zone} reconnected ({NewId}); closing its older connection {OldId}")]
    private static partial void LogStaleConnection(ILogger logger, string zone, string oldId, string newId);

    [LoggerMessage(EventId = 21, EventName = "ZoneInsightFlushFailed", Level = LogLevel.Warning, Message = "Could not store a ZoneInsight")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}

/// <summary>One connection of a zone: its streams, and the counters that become a ZoneInsight subscription.</summary>
public sealed class ZoneConnection(string zone, string id, string tokenId, string? zoneVersion, TimeProvider time) : IKdsStreamObserver
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, CancellationTokenSource> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, KdsCounters> _stat = new(StringComparer.Ordinal);
    private DateTimeOffset? _lastUpdate;

    public string Zone => zone;

    public string Id => id;

    public string TokenId => tokenId;

    public DateTimeOffset ConnectTime { get; } = time.GetUtcNow();

    public string? ZoneVersion { get; set; } = zoneVersion;

    public DateTimeOffset? LastHealthCheck { get; set; }

    public DateTimeOffset? DisconnectTime { get; set; }

    /// <summary>Raised after any counter changes, so the registry persists it.</summary>
    public Action? Changed { get; set; }

    public void AddStream(string stream, CancellationTokenSource cts)
    {
        CancellationTokenSource? old;
        lock (_lock)
        {
            _streams.TryGetValue(stream, out old);
            _streams[stream] = cts;
        }
        // The same connection opening a stream kind twice: the older one is stale.
        if (old is not null && old != cts)
        {
            TryCancel(old);
        }
    }

    public int RemoveStream(string stream)
    {
        lock (_lock)
        {
            _streams.Remove(stream);
            return _streams.Count;
        }
    }

    public void CloseAll()
    {
        List<CancellationTokenSource> all;
        lock (_lock)
        {
            all = [.. _streams.Values];
        }
        foreach (var cts in all)
        {
            TryCancel(cts);
        }
    }

    private static void TryCancel(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Update(string type, Func<KdsCounters, KdsCounters> change)
    {
        lock (_lock)
        {
            _stat[type] = change(_stat.GetValueOrDefault(type) ?? new KdsCounters());
            _lastUpdate = time.GetUtcNow();
        }
        Changed?.Invoke();
    }

    public void OnResponseSent(string type, int resources, int removed, bool full) => Update(type, c => c with { ResponsesSent = c.ResponsesSent + 1 });

    public void OnAcked(string type, TimeSpan latency) => Update(type, c => c with { ResponsesAcknowledged = c.ResponsesAcknowledged + 1 });

    public void OnNacked(string type, string reason) => Update(type, c => c with { ResponsesRejected = c.ResponsesRejected + 1, LastNackReason = reason });

    public void OnSendFailed(string type, string reason) => Update(type, c => c with { LastNackReason = reason });

    public void OnResponseApplied(string type, int resources, int removed, IReadOnlyList<string> rejected) =>
        Update(type, c => c with
        {
            ResponsesReceived = c.ResponsesReceived + 1,
            ResponsesRefused = c.ResponsesRefused + (rejected.Count > 0 ? 1 : 0),
            LastRefusalReason = rejected.Count > 0 ? string.Join("; ", rejected) : c.LastRefusalReason,
        });

    public KdsSubscription ToSubscription(string globalInstanceId)
    {
        lock (_lock)
        {
            var total = _stat.Values.Aggregate(new KdsCounters(), (a, c) => a with
            {
                ResponsesSent = a.ResponsesSent + c.ResponsesSent,
                ResponsesAcknowledged = a.ResponsesAcknowledged + c.ResponsesAcknowledged,
                ResponsesRejected = a.ResponsesRejected + c.ResponsesRejected,
                ResponsesReceived = a.ResponsesReceived + c.ResponsesReceived,
                ResponsesRefused = a.ResponsesRefused + c.ResponsesRefused,
                LastNackReason = c.LastNackReason ?? a.LastNackReason,
                LastRefusalReason = c.LastRefusalReason ?? a.LastRefusalReason,
            });
            return new KdsSubscription
            {
                Id = Id,
                GlobalInstanceId = globalInstanceId,
                ConnectTime = ConnectTime,
                DisconnectTime = DisconnectTime,
                LastHealthCheck = LastHealthCheck,
                ZoneVersion = ZoneVersion,
                TokenId = TokenId,
                Status = new KdsSubscriptionStatus
                {
                    LastUpdateTime = _lastUpdate,
                    Total = total,
                    Stat = new SortedDictionary<string, KdsCounters>(_stat, StringComparer.Ordinal),
                },
            };
        }
    }
}
