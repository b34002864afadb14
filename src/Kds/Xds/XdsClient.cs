using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using RpcStatus = Google.Rpc.Status;

namespace Federation.Kds.Xds;

/// <summary>
/// An ADS client (state of the world or delta) playing one proxy: subscribes to types by name or wildcard, ACKs
/// every valid response (NACKs what the validator rejects, keeping what it had), holds the latest resources per
/// type as an immutable <see cref="XdsClientSnapshot"/>, and reconnects with exponential backoff, telling the server
/// what it holds (version_info, or initial_resource_versions). Lean enough for one process to play a thousand
/// proxies: no thread or loop of its own besides reading its stream, and it can share one <see cref="GrpcChannel"/>
/// (one HTTP/2 connection pool) with the others, see <see cref="CreateChannel"/>.
/// </summary>
public sealed partial class XdsClient : IAsyncDisposable
{
    private const string ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";
    private const string ClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

    private readonly AggregatedDiscoveryService.AggregatedDiscoveryServiceClient _client;
    private readonly XdsClientOptions _options;
    private readonly ILogger _logger;

    // Guards the subscriptions and the current request stream, and serialises writes (one pending write per stream).
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    private IClientStreamWriter<DiscoveryRequest>? _sotw;
    private IClientStreamWriter<DeltaDiscoveryRequest>? _delta;
    private bool _nodeSent;

    private XdsClientSnapshot _current = XdsClientSnapshot.Empty;
    private TaskCompletionSource _changed = NewSignal();
    private CancellationTokenSource? _cts;
    private Task? _run;
    private long _connections;
    private volatile bool _connected;
    private volatile string? _lastError;

    /// <summary>A client on <paramref name="channel"/>, which many clients may share (see <see cref="CreateChannel"/>).</summary>
    public XdsClient(ChannelBase channel, XdsClientOptions options, ILogger<XdsClient>? logger = null)
    {
        _client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel);
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Raised on the reading loop after each response was ACKed or NACKed; keep handlers short.</summary>
    public event Action<XdsClient, XdsUpdate>? Updated;

    public string NodeId => _options.Node.Id;

    /// <summary>What the client holds now.</summary>
    public XdsClientSnapshot Current => Volatile.Read(ref _current);

    public bool Connected => _connected;

    /// <summary>Streams opened since start.</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Why the last stream ended or failed to open; null while connected.</summary>
    public string? LastError => _lastError;

    /// <summary>
    /// A channel to an xDS server for many clients: h2c for <c>http://</c>, more HTTP/2 connections when one reaches
    /// the server's stream limit, idle connections kept.
    /// </summary>
    public static GrpcChannel CreateChannel(Uri address, ILoggerFactory? loggerFactory = null) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            },
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            LoggerFactory = loggerFactory,
        });

    /// <summary>
    /// Subscribes to <paramref name="names"/> of a type (added to those already subscribed), or with null to every
    /// resource of it (wildcard). Sent at once when connected, else on connecting.
    /// </summary>
    public async Task SubscribeAsync(string typeUrl, IEnumerable<string>? names = null, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_subscriptions.TryGetValue(typeUrl, out var sub))
            {
                _subscriptions[typeUrl] = sub = new Subscription(typeUrl);
            }
            var added = new List<string>();
            if (names is null)
            {
                if (!sub.Wildcard)
                {
                    sub.Wildcard = true;
                    added.Add("*");
                }
            }
            else
            {
                added.AddRange(names.Where(sub.Names.Add));
            }
            if (added.Count > 0)
            {
                await TrySendAsync(sub, added, [], cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Unsubscribes from <paramref name="names"/> of a type (<c>*</c> ends a wildcard) and drops what they brought.</summary>
    public async Task UnsubscribeAsync(string typeUrl, IEnumerable<string> names, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_subscriptions.TryGetValue(typeUrl, out var sub))
            {
                return;
            }
            var removed = new List<string>();
            foreach (var name in names)
            {
                if (name == "*" ? sub.Wildcard : sub.Names.Remove(name))
                {
                    removed.Add(name);
                }
                if (name == "*")
                {
                    sub.Wildcard = false;
                }
            }
            if (removed.Count == 0)
            {
                return;
            }
            if (!sub.Wildcard)
            {
                sub.Resources = sub.Resources.RemoveRange(sub.Resources.Keys.Where(n => !sub.Names.Contains(n)));
                PublishLocked(sub);
            }
            await TrySendAsync(sub, [], removed, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Starts connecting (and reconnecting) in the background.</summary>
    public void Start()
    {
        if (_run is not null)
        {
            return;
        }
        _cts = new CancellationTokenSource();
        _run = RunAsync(_cts.Token);
    }

    /// <summary>Closes the stream and stops reconnecting.</summary>
    public async Task StopAsync()
    {
        if (_cts is null || _run is null)
        {
            return;
        }
        await _cts.CancelAsync();
        await _run;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _cts?.Dispose();
        _gate.Dispose();
    }

    /// <summary>Completes when <see cref="Current"/> has a version greater than <paramref name="version"/>.</summary>
    public async Task WaitForNewerAsync(long version, CancellationToken cancellationToken)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _changed).Task;
            if (Current.Version > version)
            {
                return;
            }
            await signal.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The current snapshot, then each newer one (intermediate ones may be skipped, never queued).</summary>
    public async IAsyncEnumerable<XdsClientSnapshot> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var snapshot = Current;
        yield return snapshot;
        while (true)
        {
            await WaitForNewerAsync(snapshot.Version, cancellationToken);
            snapshot = Current;
            yield return snapshot;
        }
    }

    /// <summary>Waits until what the client holds satisfies <paramref name="condition"/>, and returns it.</summary>
    public async Task<XdsClientSnapshot> WaitForAsync(Func<XdsClientSnapshot, bool> condition, CancellationToken cancellationToken)
    {
        await foreach (var snapshot in WatchAsync(cancellationToken))
        {
            if (condition(snapshot))
            {
                return snapshot;
            }
        }
        throw new OperationCanceledException(cancellationToken);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = _options.TimeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(_ => !ct.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.MinBackoff,
                MaxDelay = _options.MaxBackoff,
                OnRetry = args =>
                {
                    LogRetry(_logger, NodeId, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message ?? "");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // Returns normally after a stream that got responses ended: start over with a short pause, so the
                // backoff only grows while connecting fails.
                await pipeline.ExecuteAsync(ConnectOnceAsync, ct);
                await Task.Delay(_options.MinBackoff, _options.TimeProvider, ct);
            }
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // Stopped (a cancelled call may surface as an RpcException).
        }
    }

    private async ValueTask ConnectOnceAsync(CancellationToken ct)
    {
        var received = false;
        try
        {
            if (_options.Protocol == XdsProtocol.Delta)
            {
                using var call = _client.DeltaAggregatedResources(_options.Headers, cancellationToken: ct);
                await OpenedAsync(call.RequestStream, null, ct);
                while (await call.ResponseStream.MoveNext(ct))
                {
                    received = true;
                    await HandleAsync(call.ResponseStream.Current, ct);
                }
            }
            else
            {
                using var call = _client.StreamAggregatedResources(_options.Headers, cancellationToken: ct);
                await OpenedAsync(null, call.RequestStream, ct);
                while (await call.ResponseStream.MoveNext(ct))
                {
                    received = true;
                    await HandleAsync(call.ResponseStream.Current, ct);
                }
            }
            throw new RpcException(new Status(StatusCode.Unavailable, "the server ended the xDS stream"));
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            _lastError = e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
            LogDisconnected(_logger, NodeId, _lastError);
            if (received)
            {
                return;
            }
            throw;
        }
        finally
        {
            await ClosedAsync();
        }
    }

    private async Task OpenedAsync(IClientStreamWriter<DeltaDiscoveryRequest>? delta, IClientStreamWriter<DiscoveryRequest>? sotw, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            _delta = delta;
            _sotw = sotw;
            _nodeSent = false;
            foreach (var sub in _subscriptions.Values)
            {
                sub.Nonce = "";
                sub.RequestedOnStream = false;
                sub.NamesSentOnStream = false;
                await TrySendAsync(sub, sub.Wildcard ? ["*", .. sub.Names] : [.. sub.Names], [], ct);
            }
            _connected = true;
            _lastError = null;
            Interlocked.Increment(ref _connections);
        }
        finally
        {
            _gate.Release();
        }
        LogConnected(_logger, NodeId);
    }

    private async Task ClosedAsync()
    {
        await _gate.WaitAsync(CancellationToken.None);
        try
        {
            _delta = null;
            _sotw = null;
            _connected = false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends a subscription change on the current stream, if any; a failed write is left to the reader to notice.</summary>
    private async Task TrySendAsync(Subscription sub, IReadOnlyList<string> subscribe, IReadOnlyList<string> unsubscribe, CancellationToken ct)
    {
        try
        {
            if (_sotw is { } sotw)
            {
                if (!sub.Wildcard && sub.Names.Count == 0 && !sub.RequestedOnStream)
                {
                    return; // an empty first request would be a wildcard
                }
                await sotw.WriteAsync(SotwRequest(sub, error: null), ct);
            }
            else if (_delta is { } delta)
            {
                if (subscribe.Count == 0 && unsubscribe.Count == 0)
                {
                    return;
                }
                var request = new DeltaDiscoveryRequest
                {
                    Node = NodeOnce(),
                    TypeUrl = sub.TypeUrl,
                    ResourceNamesSubscribe = { subscribe },
                    ResourceNamesUnsubscribe = { unsubscribe },
                };
                if (!sub.RequestedOnStream)
                {
                    foreach (var (name, resource) in sub.Resources)
                    {
                        request.InitialResourceVersions[name] = resource.Version;
                    }
                }
                sub.RequestedOnStream = true;
                await delta.WriteAsync(request, ct);
            }
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
        {
            LogSendFailed(_logger, NodeId, sub.TypeUrl, e.Message);
        }
    }

    private DiscoveryRequest SotwRequest(Subscription sub, string? error)
    {
        var request = new DiscoveryRequest
        {
            Node = NodeOnce(),
            TypeUrl = sub.TypeUrl,
            VersionInfo = sub.Version,
            ResponseNonce = sub.Nonce,
        };
        if (sub.Wildcard && (sub.Names.Count > 0 || sub.NamesSentOnStream))
        {
            // After names, an empty list means "none": say "*" explicitly.
            request.ResourceNames.Add("*");
        }
        request.ResourceNames.Add(sub.Names);
        if (sub.Names.Count > 0)
        {
            sub.NamesSentOnStream = true;
        }
        if (error is not null)
        {
            request.ErrorDetail = new RpcStatus { Code = (int)StatusCode.InvalidArgument, Message = error };
        }
        sub.RequestedOnStream = true;
        return request;
    }

    private Envoy.Config.Core.V3.Node? NodeOnce()
    {
        if (_nodeSent)
        {
            return null;
        }
        _nodeSent = true;
        return _options.Node;
    }

    private async Task HandleAsync(DiscoveryResponse response, CancellationToken ct)
    {
        XdsUpdate update;
        await _gate.WaitAsync(ct);
        try
        {
            if (!_subscriptions.TryGetValue(response.TypeUrl, out var sub) || (!sub.Wildcard && sub.Names.Count == 0))
            {
                return; // not asked for: dropped without an answer, as grpc-js does
            }
            sub.Nonce = response.Nonce;
            var resources = new List<XdsClientResource>(response.Resources.Count);
            var error = Parse(response.TypeUrl, response.Resources, response.VersionInfo, resources) ?? _options.Validator?.Invoke(response.TypeUrl, resources);
            if (error is null)
            {
                var kept = resources.Where(r => sub.Wildcard || sub.Names.Contains(r.Name)).Select(r => KeyValuePair.Create(r.Name, r));
                sub.Resources = response.TypeUrl is ListenerType or ClusterType
                    ? ImmutableDictionary.CreateRange(StringComparer.Ordinal, kept)
                    : sub.Resources.SetItems(kept);
                sub.Version = response.VersionInfo;
                sub.LastError = null;
            }
            else
            {
                sub.LastError = error;
            }
            PublishLocked(sub);
            var answer = SotwRequest(sub, error);
            await _sotw!.WriteAsync(answer, ct);
            update = new XdsUpdate(response.TypeUrl, response.VersionInfo, error is null, error);
        }
        finally
        {
            _gate.Release();
        }
        Updated?.Invoke(this, update);
    }

    private async Task HandleAsync(DeltaDiscoveryResponse response, CancellationToken ct)
    {
        XdsUpdate update;
        await _gate.WaitAsync(ct);
        try
        {
            if (!_subscriptions.TryGetValue(response.TypeUrl, out var sub))
            {
                return;
            }
            var resources = new List<XdsClientResource>(response.Resources.Count);
            string? error = null;
            foreach (var resource in response.Resources)
            {
                if (resource.Resource_ is not { } any || any.TypeUrl != response.TypeUrl)
                {
                    error = $"resource '{resource.Name}' is {(resource.Resource_ is null ? "empty" : $"a {resource.Resource_.TypeUrl}")}, not a {response.TypeUrl}";
                    break;
                }
                if (sub.Wildcard || sub.Names.Contains(resource.Name))
                {
                    // Else unsubscribed while this response was on its way.
                    resources.Add(new XdsClientResource(resource.Name, resource.Version, any));
                }
            }
            error ??= _options.Validator?.Invoke(response.TypeUrl, resources);
            if (error is null)
            {
                sub.Resources = sub.Resources.RemoveRange(response.RemovedResources).SetItems(resources.Select(r => KeyValuePair.Create(r.Name, r)));
                sub.Version = response.SystemVersionInfo;
                sub.LastError = null;
            }
            else
            {
                sub.LastError = error;
            }
            PublishLocked(sub);
            var answer = new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce };
            if (error is not null)
            {
                answer.ErrorDetail = new RpcStatus { Code = (int)StatusCode.InvalidArgument, Message = error };
            }
            await _delta!.WriteAsync(answer, ct);
            update = new XdsUpdate(response.TypeUrl, response.SystemVersionInfo, error is null, error);
        }
        finally
        {
            _gate.Release();
        }
        Updated?.Invoke(this, update);
    }

    private static string? Parse(string typeUrl, IEnumerable<Google.Protobuf.WellKnownTypes.Any> packed, string version, List<XdsClientResource> into)
    {
        var index = 0;
        foreach (var any in packed)
        {
            if (any.TypeUrl != typeUrl)
            {
                return $"resource index {index} is a {any.TypeUrl}, not a {typeUrl}";
            }
            if (ResourceNames.NameOf(any) is not { } name)
            {
                return $"resource index {index}: undecodable {typeUrl}";
            }
            into.Add(new XdsClientResource(name, version, any));
            index++;
        }
        return null;
    }

    private void PublishLocked(Subscription sub)
    {
        var current = Current;
        Volatile.Write(ref _current, new XdsClientSnapshot(current.Version + 1,
            current.Types.SetItem(sub.TypeUrl, new XdsTypeState(sub.TypeUrl, sub.Version, sub.Resources, sub.LastError))));
        Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(EventId = 1, EventName = "XdsClientConnected", Level = LogLevel.Debug, Message = "{Node}: xDS stream open")]
    private static partial void LogConnected(ILogger logger, string node);

    [LoggerMessage(EventId = 2, EventName = "XdsClientDisconnected", Level = LogLevel.Information, Message = "{Node}: xDS stream ended: {Reason}")]
    private static partial void LogDisconnected(ILogger logger, string node, string reason);

    [LoggerMessage(EventId = 3, EventName = "XdsClientRetry", Level = LogLevel.Debug, Message = "{Node}: reconnecting in {DelayMs:0} ms after: {Reason}")]
    private static partial void LogRetry(ILogger logger, string node, double delayMs, string reason);

    [LoggerMessage(EventId = 4, EventName = "XdsClientSendFailed", Level = LogLevel.Debug, Message = "{Node}: could not send the {Type} request (the stream is ending): {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string node, string type, string reason);

    /// <summary>One subscribed type: what was asked, what is held, and the state of the current stream.</summary>
    private sealed class Subscription(string typeUrl)
    {
        public string TypeUrl { get; } = typeUrl;

        public bool Wildcard { get; set; }

        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        public ImmutableDictionary<string, XdsClientResource> Resources { get; set; } =
            ImmutableDictionary.Create<string, XdsClientResource>(StringComparer.Ordinal);

        /// <summary>The last accepted version (state of the world: sent back as version_info).</summary>
        public string Version { get; set; } = "";

        public string? LastError { get; set; }

        public string Nonce { get; set; } = "";

        public bool RequestedOnStream { get; set; }

        public bool NamesSentOnStream { get; set; }
    }
}
