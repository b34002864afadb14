using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Federation.Hosting;
using Federation.Kds.Cache;
using Federation.Kds.Protocol;
using Federation.Kds.Streams;
using Federation.Kds.Sync;
using Federation.Resources;
using Federation.Stores;
using Grpc.Core;
using Grpc.Net.Client;
using Polly;
using Polly.Retry;
using Node = Envoy.Config.Core.V3.Node;

namespace Federation.Zone.Kds;

/// <summary>What the zone's KDS client is doing, for the zone's API and for tests.</summary>
public sealed class KdsClientState
{
    private long _connections;

    public bool Connected { get; set; }

    public string? LastError { get; set; }

    private readonly TaskCompletionSource _initialSync = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once, when every type's first full state from the global has been applied.</summary>
    public Task InitialSync => _initialSync.Task;

    internal void OnInitialSync() => _initialSync.TrySetResult();

    /// <summary>How many connections have been established since start.</summary>
    public long Connections => Interlocked.Read(ref _connections);

    public void OnConnected()
    {
        Connected = true;
        LastError = null;
        Interlocked.Increment(ref _connections);
    }
}

/// <summary>
/// The zone side of KDS: dials the global (the global never dials a zone), authenticates with the zone token,
/// opens GlobalToZone (subscribing to policies) and ZoneToGlobal (serving inventory) plus health checks, and
/// reconnects with exponential backoff and jitter (1 s to 30 s) whenever any of them ends. Disconnecting
/// deletes nothing: the zone keeps serving its last state, and the next connection resyncs both ways.
/// </summary>
public sealed partial class KdsClient(
    ZoneOptions options,
    IResourceStore store,
    KdsResourceCache cache,
    KdsClientState state,
    KdsMetrics metrics,
    TimeProvider time,
    ILogger<KdsClient> logger) : BackgroundService
{
    /// <summary>A connection that stayed up this long resets the backoff.</summary>
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(30);

    private static readonly IReadOnlyList<ResourceTypeDescriptor> DownTypes =
        [.. ResourceTypes.All.Where(t => t.Flow.HasFlag(KdsFlow.GlobalToZones) || t.Flow.HasFlag(KdsFlow.ZoneToZones))];

    private TimeSpan MinBackoff => TimeSpan.FromSeconds(options.KdsBackoffMinSeconds);

    private TimeSpan MaxBackoff => TimeSpan.FromSeconds(options.KdsBackoffMaxSeconds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pipeline = new ResiliencePipelineBuilder
        {
            TimeProvider = time,
        }.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException || !stoppingToken.IsCancellationRequested),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = MinBackoff,
            MaxDelay = MaxBackoff,
            OnRetry = args =>
            {
                LogRetry(logger, args.RetryDelay.TotalSeconds, args.Outcome.Exception?.Message ?? "");
                return ValueTask.CompletedTask;
            },
        }).Build();

        await cache.Loaded.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await pipeline.ExecuteAsync(async ct => await ConnectOnceAsync(ct), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One connection; returns normally only after a stable connection ended (so backoff starts over).</summary>
    private async Task ConnectOnceAsync(CancellationToken stoppingToken)
    {
        var token = (await File.ReadAllTextAsync(options.ZoneTokenFile!, stoppingToken)).Trim();
        var connectionId = Guid.NewGuid().ToString("n");
        var metadata = new Metadata
        {
            { "authorization", $"Bearer {token}" },
            { "kds-zone", options.Zone },
            { "kds-connection", connectionId },
            { "kds-version", ControlPlaneIdentity.Version },
        };
        using var channel = CreateChannel();
        var client = new KdsSync.KdsSyncClient(channel);
        var started = time.GetUtcNow();
        try
        {
            // A health check first: a refused token fails here, before any stream, with the global's reason.
            var first = await client.HealthCheckAsync(new ZoneHealthCheckRequest { Zone = options.Zone, Version = ControlPlaneIdentity.Version }, metadata, cancellationToken: stoppingToken);
            var interval = first.Interval?.ToTimeSpan() ?? TimeSpan.FromSeconds(5);

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var ct = cts.Token;
            using var down = client.GlobalToZone(metadata, cancellationToken: ct);
            using var up = client.ZoneToGlobal(metadata, cancellationToken: ct);
            state.OnConnected();
            LogConnected(logger, options.GlobalAddress!, connectionId);

            var node = new Node { Id = options.Zone, UserAgentName = "federation-zone", UserAgentVersion = ControlPlaneIdentity.Version };
            var subscriber = new KdsSubscriber("the global", DownTypes, new KdsSyncApplier(store, new FromGlobalScope()), node,
                metrics.For(options.Zone, new InitialSyncObserver(DownTypes.Count, state)), logger);
            var responder = new KdsResponder("the global", cache, cache.ExportedTypes, peerFilter: null, new KdsStreamOptions { MaxMessageBytes = options.KdsMaxMessageBytes }, metrics.For(options.Zone), time, logger);
            var loops = new[]
            {
                subscriber.RunAsync(down.ResponseStream, down.RequestStream, ct),
                responder.RunAsync(up.ResponseStream, up.RequestStream, ct),
                HealthLoopAsync(client, metadata, interval, ct),
            };
            var ended = await Task.WhenAny(loops);
            await cts.CancelAsync();
            await Task.WhenAll(loops.Select(l => l.ContinueWith(_ => { }, TaskScheduler.Default)));
            await ended;
            throw new RpcException(new Status(StatusCode.Unavailable, "the global closed the KDS stream"));
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            state.Connected = false;
            state.LastError = Describe(e);
            var wasStable = time.GetUtcNow() - started >= StableAfter;
            if (e is RpcException { StatusCode: StatusCode.Unauthenticated or StatusCode.PermissionDenied } refused)
            {
                LogRefused(logger, refused.Status.Detail);
            }
            else
            {
                LogDisconnected(logger, state.LastError);
            }
            if (wasStable)
            {
                return;
            }
            throw new KdsConnectionException(state.LastError, e);
        }
        finally
        {
            state.Connected = false;
        }
    }

    /// <summary>
    /// Health checks at the interval the global asks for. One slow or failed check is not a dead connection (a
    /// busy global, a GC pause): only several in a row, or a refusal, end it.
    /// </summary>
    private async Task HealthLoopAsync(KdsSync.KdsSyncClient client, Metadata metadata, TimeSpan interval, CancellationToken ct)
    {
        const int MaxConsecutiveFailures = 3;
        var failures = 0;
        while (true)
        {
            await Task.Delay(interval, time, ct);
            var deadline = TimeSpan.FromTicks(Math.Max(interval.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            try
            {
                var response = await client.HealthCheckAsync(new ZoneHealthCheckRequest { Zone = options.Zone, Version = ControlPlaneIdentity.Version }, metadata,
                    deadline: DateTime.UtcNow + deadline, cancellationToken: ct);
                interval = response.Interval?.ToTimeSpan() ?? interval;
                failures = 0;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Unavailable && ++failures < MaxConsecutiveFailures)
            {
                LogHealthCheckFailed(logger, failures, e.Status.Detail);
            }
        }
    }

    private GrpcChannel CreateChannel()
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        if (!string.IsNullOrEmpty(options.KdsCaFile))
        {
            var ca = X509Certificate2.CreateFromPem(File.ReadAllText(options.KdsCaFile));
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => VerifyWithCa(ca, certificate, errors);
        }
        return GrpcChannel.ForAddress(options.GlobalAddress!, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options.KdsMaxMessageBytes,
            MaxSendMessageSize = options.KdsMaxMessageBytes,
        });
    }

    /// <summary>Trusts the global's certificate only if it chains to the given CA and names the host dialled.</summary>
    internal static bool VerifyWithCa(X509Certificate2 ca, X509Certificate? presented, SslPolicyErrors errors)
    {
        if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(presented);
        return chain.Build(leaf);
    }

    private static string Describe(Exception e) => e switch
    {
        RpcException r => $"{r.StatusCode}: {r.Status.Detail}",
        _ => e.Message,
    };

    [LoggerMessage(EventId = 40, EventName = "KdsConnected", Level = LogLevel.Information, Message = "Connected to the global control plane at {Address} (connection {ConnectionId})")]
    private static partial void LogConnected(ILogger logger, string address, string connectionId);

    [LoggerMessage(EventId = 41, EventName = "KdsDisconnected", Level = LogLevel.Warning, Message = "KDS connection to the global ended: {Reason}; still serving the last state")]
    private static partial void LogDisconnected(ILogger logger, string reason);

    [LoggerMessage(EventId = 42, EventName = "KdsRefused", Level = LogLevel.Error, Message = "The global control plane refused this zone: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 44, EventName = "KdsHealthCheckFailed", Level = LogLevel.Warning, Message = "Health check to the global failed ({Failures} in a row): {Reason}")]
    private static partial void LogHealthCheckFailed(ILogger logger, int failures, string reason);

    [LoggerMessage(EventId = 43, EventName = "KdsRetry", Level = LogLevel.Information, Message = "Reconnecting to the global in {Seconds:0.0}s (last error: {Reason})")]
    private static partial void LogRetry(ILogger logger, double seconds, string reason);
}

/// <summary>Tells the client state once every type's first response (the full state) has been applied.</summary>
internal sealed class InitialSyncObserver(int types, KdsClientState state) : IKdsStreamObserver
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public void OnResponseApplied(string type, int resources, int removed, IReadOnlyList<string> rejected)
    {
        lock (_seen)
        {
            if (_seen.Add(type) && _seen.Count == types)
            {
                state.OnInitialSync();
            }
        }
    }
}

/// <summary>A KDS connection attempt that failed; retried with backoff.</summary>
public sealed class KdsConnectionException(string message, Exception inner) : Exception(message, inner);
