using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Federation.Zone.Xds.Server;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Status = Google.Rpc.Status;

namespace Federation.Zone.Tests.Xds.Server.Fakes;

/// <summary>
/// One ADS call on <see cref="AdsService"/> over fake streams: the test plays the proxy. <see cref="ProbeAsync"/> is
/// the barrier that proves a negative ("nothing was sent"): the session handles events in order and writes what it
/// decides in order, so everything it decided before a probe arrives before the probe's answer.
/// </summary>
internal sealed class StreamHarness<TRequest, TResponse> : IAsyncDisposable
    where TRequest : class, IMessage
    where TResponse : class, IMessage
{
    private readonly Func<TResponse, string> _typeOf;
    private readonly Func<int, TRequest[]> _probe;
    private int _probes;

    internal StreamHarness(FakeProxy proxy, Func<TResponse, string> typeOf, Func<int, TRequest[]> probe, int requestCapacity)
    {
        Proxy = proxy;
        _typeOf = typeOf;
        _probe = probe;
        Requests = new FakeRequestStream<TRequest>(requestCapacity);
    }

    public FakeProxy Proxy { get; }

    public FakeRequestStream<TRequest> Requests { get; }

    public FakeResponseStream<TResponse> Responses { get; } = new();

    public FakeCallContext Context { get; } = new("/envoy.service.discovery.v3.AggregatedDiscoveryService/Stream");

    public Task Call { get; internal set; } = Task.CompletedTask;

    /// <summary>The watch of this stream (the latest one of the proxy).</summary>
    public FakeWatch Watch => Proxy.Watches[^1];

    public Task SendAsync(TRequest request) => Requests.WriteAsync(request).AsTask().Within10s("the server to take the request");

    /// <summary>The next response, whatever its type.</summary>
    public Task<TResponse> NextAsync(string what) =>
        Responses.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().Within10s($"the response: {what}");

    /// <summary>The next response, which must be of <paramref name="typeUrl"/>.</summary>
    public async Task<TResponse> NextAsync(string typeUrl, string what)
    {
        var response = await NextAsync(what);
        Assert.Equal(typeUrl, _typeOf(response));
        return response;
    }

    /// <summary>Publishes a snapshot and waits until this stream has taken it in (not until anything was sent).</summary>
    public async Task<long> PublishAsync(Action<SnapshotBuilder> build)
    {
        var version = Proxy.Publish(build);
        await Watch.ObservedAsync(version);
        return version;
    }

    /// <summary>
    /// Returns every response sent before the answer to a probe (and consumes them). Two probes in a row: a decision
    /// may wait until the writer took the previous response of its type, and once the first probe's answer is read,
    /// every such "taken" is known to the session before the second probe arrives.
    /// </summary>
    public async Task<IReadOnlyList<TResponse>> ProbeAsync()
    {
        var before = new List<TResponse>();
        for (var round = 0; round < 2; round++)
        {
            foreach (var request in _probe(_probes++))
            {
                await SendAsync(request);
            }
            while (true)
            {
                var response = await NextAsync($"the answer to probe {_probes}");
                if (_typeOf(response) == XdsTypes.Secret)
                {
                    break;
                }
                before.Add(response);
            }
        }
        return before;
    }

    /// <summary>The call must end with <paramref name="code"/>; returns the status detail.</summary>
    public async Task<string> EndsWithAsync(StatusCode code)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Call.Within10s($"the call to end with {code}"));
        Assert.Equal(code, e.StatusCode);
        return e.Status.Detail;
    }

    public async ValueTask DisposeAsync()
    {
        Context.Cancel();
        Responses.Release();
        try
        {
            await Call.WaitAsync(Within.Default, CancellationToken.None);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            // Tests assert on the outcome themselves.
        }
    }
}

/// <summary>Starts harnessed calls on an <see cref="AdsService"/> backed by a <see cref="FakeSnapshotSource"/>.</summary>
internal sealed class AdsServiceUnderTest : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public AdsServiceUnderTest(AdsWriteBudget? budget = null)
    {
        Metrics = new XdsServerMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        Service = new AdsService(Source, Metrics, NullLogger<AdsService>.Instance, Lifetime, budget);
    }

    /// <summary>The host's lifetime: <see cref="FakeLifetime.StopApplication"/> is the zone shutting down.</summary>
    public FakeLifetime Lifetime { get; } = new();

    public FakeSnapshotSource Source { get; } = new();

    public XdsServerMetrics Metrics { get; }

    public AdsService Service { get; }

    public object MeterScope => _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();

    public static Node Node(string id = "default.web") => new() { Id = id, UserAgentName = "test" };

    /// <summary>Opens a state-of-the-world call and sends <paramref name="first"/> (which gets the node unless it has one).</summary>
    public async Task<StreamHarness<DiscoveryRequest, DiscoveryResponse>> SotwAsync(DiscoveryRequest first, string nodeId = "default.web", int requestCapacity = 0, bool withNode = true, bool holdResponses = false)
    {
        if (withNode)
        {
            first.Node ??= Node(nodeId);
        }
        var harness = new StreamHarness<DiscoveryRequest, DiscoveryResponse>(Source.Proxy(nodeId), r => r.TypeUrl,
            n => n == 0 ? [Sotw.Request(XdsTypes.Secret, SnapshotBuilder.ProbeSecret)] : [Sotw.Request(XdsTypes.Secret), Sotw.Request(XdsTypes.Secret, SnapshotBuilder.ProbeSecret)],
            requestCapacity);
        if (holdResponses)
        {
            harness.Responses.Hold();
        }
        var watches = harness.Proxy.Watches.Count;
        await harness.SendAsync(first);
        harness.Call = Service.StreamAggregatedResources(harness.Requests, harness.Responses, harness.Context);
        if (withNode && Source.Refuse is null)
        {
            await harness.Proxy.WaitUntilAsync(p => p.Watches.Count > watches || harness.Call.IsCompleted, "the stream to connect");
        }
        return harness;
    }

    /// <summary>Opens an incremental call and sends <paramref name="first"/> (which gets the node unless it has one).</summary>
    public async Task<StreamHarness<DeltaDiscoveryRequest, DeltaDiscoveryResponse>> DeltaAsync(DeltaDiscoveryRequest first, string nodeId = "default.web", bool withNode = true)
    {
        if (withNode)
        {
            first.Node ??= Node(nodeId);
        }
        var harness = new StreamHarness<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(Source.Proxy(nodeId), r => r.TypeUrl,
            n => n == 0 ? [Delta.Subscribe(XdsTypes.Secret, SnapshotBuilder.ProbeSecret)] : [Delta.Unsubscribe(XdsTypes.Secret, SnapshotBuilder.ProbeSecret), Delta.Subscribe(XdsTypes.Secret, SnapshotBuilder.ProbeSecret)],
            0);
        var watches = harness.Proxy.Watches.Count;
        await harness.SendAsync(first);
        harness.Call = Service.DeltaAggregatedResources(harness.Requests, harness.Responses, harness.Context);
        if (withNode && Source.Refuse is null)
        {
            await harness.Proxy.WaitUntilAsync(p => p.Watches.Count > watches || harness.Call.IsCompleted, "the stream to connect");
        }
        return harness;
    }

    public void Dispose()
    {
        Metrics.Dispose();
        _services.Dispose();
        Lifetime.Dispose();
    }
}

/// <summary>State-of-the-world requests as a proxy sends them.</summary>
internal static class Sotw
{
    public static DiscoveryRequest Request(string typeUrl, params string[] names) => new() { TypeUrl = typeUrl, ResourceNames = { names } };

    /// <summary>An ACK of <paramref name="response"/>, keeping <paramref name="names"/> subscribed.</summary>
    public static DiscoveryRequest Ack(DiscoveryResponse response, params string[] names) =>
        new() { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce, VersionInfo = response.VersionInfo, ResourceNames = { names } };

    /// <summary>A NACK of <paramref name="response"/>: the previous version and error_detail.</summary>
    public static DiscoveryRequest Nack(DiscoveryResponse response, string previousVersion, string reason, params string[] names) =>
        new()
        {
            TypeUrl = response.TypeUrl,
            ResponseNonce = response.Nonce,
            VersionInfo = previousVersion,
            ResourceNames = { names },
            ErrorDetail = new Status { Code = (int)StatusCode.InvalidArgument, Message = reason },
        };

    public static string[] Names(DiscoveryResponse response) =>
        [.. response.Resources.Select(NameOf).Order(StringComparer.Ordinal)];

    public static string NameOf(Google.Protobuf.WellKnownTypes.Any any) => any.TypeUrl switch
    {
        XdsTypes.Listener => any.Unpack<Envoy.Config.Listener.V3.Listener>().Name,
        XdsTypes.RouteConfiguration => any.Unpack<Envoy.Config.Route.V3.RouteConfiguration>().Name,
        XdsTypes.Cluster => any.Unpack<Envoy.Config.Cluster.V3.Cluster>().Name,
        XdsTypes.ClusterLoadAssignment => any.Unpack<Envoy.Config.Endpoint.V3.ClusterLoadAssignment>().ClusterName,
        XdsTypes.Secret => any.Unpack<Envoy.Extensions.TransportSockets.Tls.V3.Secret>().Name,
        _ => throw new ArgumentException($"unexpected type {any.TypeUrl}", nameof(any)),
    };
}

/// <summary>Incremental requests as a proxy sends them.</summary>
internal static class Delta
{
    public static DeltaDiscoveryRequest Subscribe(string typeUrl, params string[] names) => new() { TypeUrl = typeUrl, ResourceNamesSubscribe = { names } };

    public static DeltaDiscoveryRequest Unsubscribe(string typeUrl, params string[] names) => new() { TypeUrl = typeUrl, ResourceNamesUnsubscribe = { names } };

    public static DeltaDiscoveryRequest Ack(DeltaDiscoveryResponse response) => new() { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce };

    public static DeltaDiscoveryRequest Nack(DeltaDiscoveryResponse response, string reason) =>
        new() { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce, ErrorDetail = new Status { Code = (int)StatusCode.InvalidArgument, Message = reason } };

    /// <summary>name=version of each resource, sorted.</summary>
    public static string[] Versions(DeltaDiscoveryResponse response) =>
        [.. response.Resources.Select(r => $"{r.Name}={r.Version}").Order(StringComparer.Ordinal)];
}

/// <summary>A host lifetime the test stops.</summary>
internal sealed class FakeLifetime : Microsoft.Extensions.Hosting.IHostApplicationLifetime, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => _stopping.Token;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() => _stopping.Cancel();

    public void Dispose() => _stopping.Dispose();
}
