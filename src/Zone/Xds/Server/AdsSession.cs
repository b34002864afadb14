using System.Globalization;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;

namespace Federation.Zone.Xds.Server;

/// <summary>
/// The loops of one ADS stream, whichever variant: a reader feeding requests to the pump, a watcher telling it the
/// proxy's snapshot changed, the pump (the only owner of the protocol state and the only caller of the watch
/// hooks) and a writer (gRPC allows one pending write). The pump never waits on the writer: it hands over at most
/// one waiting response per type and computes the next one from the latest snapshot once the writer took it, so
/// a stream holds a bounded amount of memory however slow the proxy is and however often its config changes. The
/// writer serializes a response only within the server-wide <see cref="AdsWriteBudget"/>.
/// </summary>
internal abstract class AdsSession<TRequest, TResponse>
    where TRequest : class, IMessage
    where TResponse : class, IMessage
{
    private const int EventCapacity = 64;

    private readonly Channel<SessionEvent> _events =
        Channel.CreateBounded<SessionEvent>(new BoundedChannelOptions(EventCapacity) { SingleReader = true });

    // Capacity = served types: each type has at most one response waiting for the writer (TypeState.WritePending).
    // Evaluate enqueues in a fixed type order, so one decision's responses are written in that order.
    private readonly Channel<Outgoing> _outgoing =
        Channel.CreateBounded<Outgoing>(new BoundedChannelOptions(XdsTypes.All.Count) { SingleReader = true, SingleWriter = true });

    private long _nonce;

    private readonly AdsWriteBudget _budget;

    protected AdsSession(IProxyWatch watch, XdsServerMetrics metrics, AdsWriteBudget budget)
    {
        Watch = watch;
        Metrics = metrics;
        _budget = budget;
    }

    protected IProxyWatch Watch { get; }

    protected XdsServerMetrics Metrics { get; }

    /// <summary>Serves until the proxy half-closes, a protocol violation, or cancellation.</summary>
    public async Task RunAsync(TRequest first, IAsyncStreamReader<TRequest> requests, IAsyncStreamWriter<TResponse> responses, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = cts.Token;
        // Capacity is far above 1 and nothing was written yet.
        _events.Writer.TryWrite(SessionEvent.Of(first));
        var read = ReadLoopAsync(requests, ct);
        var watch = WatchLoopAsync(ct);
        var pump = PumpLoopAsync(ct);
        var write = WriteLoopAsync(responses, ct);

        // The stream is over when the writer has drained after the pump stopped (the proxy half-closed), or as soon
        // as any loop fails or is cancelled. The reader and the watcher ending on their own is no reason to stop.
        var running = new List<Task> { read, watch, pump, write };
        Task ended;
        do
        {
            ended = await Task.WhenAny(running);
            running.Remove(ended);
        }
        while (ended != write && ended.IsCompletedSuccessfully);
        await cts.CancelAsync();
        try
        {
            await Task.WhenAll(read, watch, pump, write);
        }
        catch
        {
            // The other loops end with a cancellation; the outcome of the first one to end is what counts.
        }
        await ended;
    }

    /// <summary>Handles one request: validation (throw <see cref="RpcException"/> to end the stream), ACK/NACK, subscriptions.</summary>
    protected abstract void OnRequest(TRequest request);

    /// <summary>Decides, for every type, whether to send; calls <see cref="Enqueue"/> for each response.</summary>
    protected abstract void Evaluate(ProxySnapshot snapshot);

    /// <summary>The writer took the response of this type; the type may prepare the next one.</summary>
    protected abstract void OnTaken(string typeUrl);

    /// <summary>
    /// Make before break, as Envoy advises for ADS: clusters and their endpoints before the listeners and routes that
    /// point at them; secrets last, as they are requested once something references them.
    /// </summary>
    protected static readonly IReadOnlyList<string> XdsTypesInSendOrder = SendOrder();

    protected string NextNonce() => (++_nonce).ToString(CultureInfo.InvariantCulture);

    /// <summary>Hands a response to the writer. The caller guarantees at most one unwritten response per type.</summary>
    protected void Enqueue(string typeUrl, string version, int resources, TResponse response)
    {
        if (!_outgoing.Writer.TryWrite(new Outgoing(typeUrl, response)))
        {
            throw new InvalidOperationException($"ADS outgoing queue overflow for {typeUrl} (more than one unwritten response per type)");
        }
        Metrics.ResponseSent(typeUrl);
        Watch.OnSent(typeUrl, version, resources);
    }

    protected static RpcException Violation(string message) => new(new Status(StatusCode.InvalidArgument, message));

    protected static void RequireServed(string typeUrl)
    {
        if (typeUrl.Length == 0)
        {
            throw Violation("the request has no type_url");
        }
        if (!XdsTypes.All.Contains(typeUrl, StringComparer.Ordinal))
        {
            throw Violation($"type {typeUrl} is not served (served: {string.Join(", ", XdsTypes.All)})");
        }
    }

    /// <summary>Hands an event to the pump; false once the pump has stopped.</summary>
    private async ValueTask<bool> PostAsync(SessionEvent e, CancellationToken ct)
    {
        while (!_events.Writer.TryWrite(e))
        {
            if (!await _events.Writer.WaitToWriteAsync(ct))
            {
                return false;
            }
        }
        return true;
    }

    private static string[] SendOrder()
    {
        string[] preferred = [XdsTypes.Cluster, XdsTypes.ClusterLoadAssignment, XdsTypes.Listener, XdsTypes.RouteConfiguration, XdsTypes.Secret];
        return [.. preferred.Where(t => XdsTypes.All.Contains(t)), .. XdsTypes.All.Except(preferred)];
    }

    private async Task ReadLoopAsync(IAsyncStreamReader<TRequest> requests, CancellationToken ct)
    {
        while (await requests.MoveNext(ct))
        {
            if (!await PostAsync(SessionEvent.Of(requests.Current), ct))
            {
                return;
            }
        }
        await PostAsync(new SessionEvent(EventKind.HalfClosed, null, null), ct);
    }

    private async Task WatchLoopAsync(CancellationToken ct)
    {
        var seen = Watch.Current.Version;
        while (true)
        {
            await Watch.WaitForNewerAsync(seen, ct);
            seen = Watch.Current.Version;
            // The pump reads the latest snapshot when it gets to this event, so a burst of versions costs one event.
            if (!await PostAsync(new SessionEvent(EventKind.SnapshotChanged, null, null), ct))
            {
                return;
            }
        }
    }

    private async Task PumpLoopAsync(CancellationToken ct)
    {
        var reader = _events.Reader;
        while (await reader.WaitToReadAsync(ct))
        {
            var halfClosed = false;
            while (!halfClosed && reader.TryRead(out var e))
            {
                switch (e.Kind)
                {
                    case EventKind.Request:
                        OnRequest(e.Request!);
                        break;
                    case EventKind.Taken:
                        OnTaken(e.TypeUrl!);
                        break;
                    case EventKind.HalfClosed:
                        halfClosed = true;
                        break;
                    case EventKind.SnapshotChanged:
                    default:
                        break;
                }
            }
            // No config generated yet: answering now would tell the proxy to drop what it holds.
            if (!Watch.Current.IsPending)
            {
                Evaluate(Watch.Current);
            }
            if (halfClosed)
            {
                // Let the writer finish what was decided, then the stream ends.
                _events.Writer.TryComplete();
                _outgoing.Writer.TryComplete();
                return;
            }
        }
    }

    private async Task WriteLoopAsync(IAsyncStreamWriter<TResponse> responses, CancellationToken ct)
    {
        var reader = _outgoing.Reader;
        while (await reader.WaitToReadAsync(ct))
        {
            while (reader.TryRead(out var item))
            {
                // Told before writing, so the pump may prepare the next response of the type while this one is on
                // its way: per type at most one response is being written and one waits.
                await PostAsync(new SessionEvent(EventKind.Taken, null, item.TypeUrl), ct);
                // The write completes once the bytes left the stream's buffers (flow control permitting).
                using var lease = await _budget.AcquireAsync(item.Response.CalculateSize(), ct);
                await responses.WriteAsync(item.Response, ct);
            }
        }
    }

    private enum EventKind
    {
        Request,
        SnapshotChanged,
        Taken,
        HalfClosed,
    }

    private readonly record struct SessionEvent(EventKind Kind, TRequest? Request, string? TypeUrl)
    {
        public static SessionEvent Of(TRequest request) => new(EventKind.Request, request, null);
    }

    private readonly record struct Outgoing(string TypeUrl, TResponse Response);
}
