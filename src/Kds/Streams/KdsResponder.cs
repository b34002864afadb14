using System.Threading.Channels;
using Envoy.Service.Discovery.V3;
using Federation.Kds.Cache;
using Federation.Kds.Conversion;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federation.Kds.Streams;

/// <summary>
/// The serving side of a KDS stream, whichever process opened it (the global in GlobalToZone, a zone in
/// ZoneToGlobal). Per type: a full state first (and periodically), deltas after, one response in flight,
/// resent only when the snapshot changes. Reading requests, deciding what to send and writing run on separate
/// loops joined by bounded channels, so a slow writer never stops reads.
/// </summary>
public sealed partial class KdsResponder
{
    private readonly IKdsSnapshotSource _source;
    private readonly IReadOnlySet<string> _served;
    private readonly Func<KdsSnapshot, Func<CachedResource, bool>> _peerFilter;
    private readonly KdsStreamOptions _options;
    private readonly IKdsStreamObserver _observer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _peer;
    private readonly Dictionary<string, TypeState> _types = new(StringComparer.Ordinal);
    private readonly Channel<Event> _events = Channel.CreateBounded<Event>(new BoundedChannelOptions(256) { SingleReader = true });
    private readonly Channel<DeltaDiscoveryResponse> _outgoing;
    private long _nonce;
    private long _seenSnapshot = -1;

    public KdsResponder(
        string peer,
        IKdsSnapshotSource source,
        IEnumerable<string> servedTypes,
        Func<KdsSnapshot, Func<CachedResource, bool>>? peerFilter,
        KdsStreamOptions options,
        IKdsStreamObserver? observer,
        TimeProvider time,
        ILogger logger)
    {
        _peer = peer;
        _source = source;
        _served = new HashSet<string>(servedTypes, StringComparer.Ordinal);
        _peerFilter = peerFilter ?? (_ => _ => true);
        _options = options;
        _observer = observer ?? IKdsStreamObserver.None;
        _time = time;
        _logger = logger;
        // At most one response per type is in flight, so this never fills.
        _outgoing = Channel.CreateBounded<DeltaDiscoveryResponse>(new BoundedChannelOptions(_served.Count + 1) { SingleReader = true, SingleWriter = true });
    }

    private abstract record Event;

    private sealed record RequestEvent(DeltaDiscoveryRequest Request) : Event;

    private sealed record SnapshotEvent : Event;

    private sealed record TickEvent : Event;

    private sealed class TypeState
    {
        public string? InFlightNonce;
        public DateTimeOffset InFlightSince;
        public Dictionary<string, string> Sent = new(StringComparer.Ordinal);
        public long SeenViewVersion = -1;
        public bool NeedFull = true;
        public DateTimeOffset LastFull;
        public long TooLargeViewVersion = -1;
    }

    /// <summary>Serves until the peer closes the stream, a protocol violation, or cancellation.</summary>
    public async Task RunAsync(IAsyncStreamReader<DeltaDiscoveryRequest> requests, IAsyncStreamWriter<DeltaDiscoveryResponse> responses, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = cts.Token;
        var tasks = new[]
        {
            ReadLoopAsync(requests, ct),
            PumpAsync(ct),
            WriteLoopAsync(responses, ct),
            WatchSnapshotsAsync(ct),
            TickAsync(ct),
        };
        await StreamLoops.RunAllAsync(tasks, cts);
    }

    private async Task ReadLoopAsync(IAsyncStreamReader<DeltaDiscoveryRequest> requests, CancellationToken ct)
    {
        while (await requests.MoveNext(ct))
        {
            await _events.Writer.WriteAsync(new RequestEvent(requests.Current), ct);
        }
        // The peer half-closed: the stream is over.
    }

    private async Task WatchSnapshotsAsync(CancellationToken ct)
    {
        var seen = -1L;
        while (true)
        {
            await _source.WaitForNewerAsync(seen, ct);
            seen = _source.Current.Version;
            _events.Writer.TryWrite(new SnapshotEvent());
        }
    }

    private async Task TickAsync(CancellationToken ct)
    {
        var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 50, Math.Min(_options.AckTimeout.Ticks, _options.FullResyncInterval.Ticks) / 4));
        using var timer = new PeriodicTimer(period, _time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            _events.Writer.TryWrite(new TickEvent());
        }
    }

    private async Task WriteLoopAsync(IAsyncStreamWriter<DeltaDiscoveryResponse> responses, CancellationToken ct)
    {
        await foreach (var response in _outgoing.Reader.ReadAllAsync(ct))
        {
            await responses.WriteAsync(response, ct);
        }
    }

    private async Task PumpAsync(CancellationToken ct)
    {
        await foreach (var e in _events.Reader.ReadAllAsync(ct))
        {
            switch (e)
            {
                case RequestEvent r:
                    OnRequest(r.Request);
                    break;
                case TickEvent:
                    OnTick();
                    break;
            }
            var snapshot = _source.Current;
            _seenSnapshot = snapshot.Version;
            foreach (var (type, state) in _types)
            {
                TrySend(type, state, snapshot);
            }
        }
    }

    private void OnRequest(DeltaDiscoveryRequest request)
    {
        var type = request.TypeUrl;
        if (!_served.Contains(type))
        {
            throw new KdsProtocolException($"type '{type}' is not served on this stream (served: {string.Join(", ", _served.Order(StringComparer.Ordinal))})");
        }
        if (request.ResponseNonce.Length == 0)
        {
            // A (re)subscription: wildcard only, so the names are not consulted; start over with a full state.
            var state = _types.TryGetValue(type, out var existing) ? existing : _types[type] = new TypeState();
            state.InFlightNonce = null;
            state.NeedFull = true;
            LogSubscribed(_logger, _peer, type);
            return;
        }
        if (!_types.TryGetValue(type, out var s))
        {
            throw new KdsProtocolException($"ACK for type '{type}' before subscribing to it");
        }
        if (request.ResponseNonce != s.InFlightNonce)
        {
            // An answer to a response that was superseded (e.g. by a re-subscription): nothing to do.
            return;
        }
        var latency = _time.GetUtcNow() - s.InFlightSince;
        s.InFlightNonce = null;
        if (request.ErrorDetail is { } error && (error.Code != 0 || error.Message.Length > 0))
        {
            // The peer applied what it could; do not resend the same versions in a loop. The next change or the
            // periodic full resync sends again.
            _observer.OnNacked(type, error.Message);
            LogNacked(_logger, _peer, type, error.Message);
        }
        else
        {
            _observer.OnAcked(type, latency);
        }
    }

    private void OnTick()
    {
        var now = _time.GetUtcNow();
        foreach (var (type, state) in _types)
        {
            if (state.InFlightNonce is not null && now - state.InFlightSince > _options.AckTimeout)
            {
                throw new TimeoutException($"{_peer} did not ACK or NACK the {type} response within {_options.AckTimeout.TotalSeconds:0}s");
            }
            if (now - state.LastFull >= _options.FullResyncInterval)
            {
                state.NeedFull = true;
            }
        }
    }

    private void TrySend(string type, TypeState state, KdsSnapshot snapshot)
    {
        if (state.InFlightNonce is not null)
        {
            return;
        }
        var view = snapshot.View(type);
        if ((!state.NeedFull && view.Version == state.SeenViewVersion) || view.Version == state.TooLargeViewVersion)
        {
            // Unchanged, or unchanged since it was too large to send: only a change can make it fit.
            return;
        }
        state.SeenViewVersion = view.Version;
        var include = _peerFilter(snapshot);
        var desired = new Dictionary<string, string>(StringComparer.Ordinal);
        var response = new DeltaDiscoveryResponse { TypeUrl = type };
        foreach (var (name, cached) in view.Items)
        {
            if (!include(cached))
            {
                continue;
            }
            desired[name] = cached.Version;
            if (state.NeedFull || !state.Sent.TryGetValue(name, out var sentVersion) || sentVersion != cached.Version)
            {
                response.Resources.Add(cached.Wire);
            }
        }
        var full = state.NeedFull;
        if (!full)
        {
            foreach (var name in state.Sent.Keys)
            {
                if (!desired.ContainsKey(name))
                {
                    response.RemovedResources.Add(name);
                }
            }
            if (response.Resources.Count == 0 && response.RemovedResources.Count == 0)
            {
                return;
            }
        }
        response.SystemVersionInfo = full ? KdsConversion.FullStateMarker : "delta";
        response.Nonce = (++_nonce).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var size = response.CalculateSize();
        if (size > _options.MaxMessageBytes)
        {
            var reason = $"the {type} response is {size} bytes with {response.Resources.Count} resources, above the {_options.MaxMessageBytes}-byte message limit; {type} is not synced until it shrinks or the limit is raised";
            state.TooLargeViewVersion = view.Version;
            _observer.OnSendFailed(type, reason);
            LogTooLarge(_logger, _peer, reason);
            return;
        }
        if (!_outgoing.Writer.TryWrite(response))
        {
            throw new InvalidOperationException("KDS outgoing queue overflow (more than one response in flight per type)");
        }
        var now = _time.GetUtcNow();
        state.InFlightNonce = response.Nonce;
        state.InFlightSince = now;
        state.Sent = desired;
        if (full)
        {
            state.NeedFull = false;
            state.LastFull = now;
        }
        _observer.OnResponseSent(type, response.Resources.Count, response.RemovedResources.Count, full);
    }

    [LoggerMessage(EventId = 1, EventName = "KdsSubscribed", Level = LogLevel.Debug, Message = "{Peer} subscribed to {Type}")]
    private static partial void LogSubscribed(ILogger logger, string peer, string type);

    [LoggerMessage(EventId = 2, EventName = "KdsNacked", Level = LogLevel.Warning, Message = "{Peer} rejected {Type}: {Reason}")]
    private static partial void LogNacked(ILogger logger, string peer, string type, string reason);

    [LoggerMessage(EventId = 3, EventName = "KdsResponseTooLarge", Level = LogLevel.Error, Message = "Not sending to {Peer}: {Reason}")]
    private static partial void LogTooLarge(ILogger logger, string peer, string reason);
}
