using System.Collections.Immutable;
using System.Globalization;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Envoy.Config.Cluster.V3;
using Envoy.Service.Discovery.V3;
using Federation.Zone.Xds.Server;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Node = Envoy.Config.Core.V3.Node;

namespace Federation.Benchmarks.Xds;

/// <summary>
/// What one config change costs a connected stream, in memory: the proxy's snapshot changes (one of
/// <see cref="Clusters"/> clusters), the session decides and writes the response, the proxy ACKs it. In-memory
/// streams, so the figure is the protocol engine's (plus a few hundred bytes of this harness: the snapshot's new
/// version record, the change signal, the ACK message), not HTTP/2's.
/// </summary>
[MemoryDiagnoser]
public class AdsServeBenchmarks
{
    private ServiceProvider? _services;
    private BenchSource _source = null!;
    private FakeCall<DiscoveryRequest, DiscoveryResponse>? _sotw;
    private FakeCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>? _delta;
    private ProxySnapshot _a = null!;
    private ProxySnapshot _b = null!;
    private long _version;

    [Params(50)]
    public int Clusters { get; set; }

    [Params("sotw", "delta")]
    public string Protocol { get; set; } = "sotw";

    [GlobalSetup]
    public void Setup()
    {
        _a = Build(Clusters, "1");
        _b = Build(Clusters, "2");
        _source = new BenchSource(_a);
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new XdsServerMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var service = new AdsService(_source, metrics, NullLogger<AdsService>.Instance);
        var node = new Node { Id = "default.bench" };
        if (Protocol == "sotw")
        {
            _sotw = new FakeCall<DiscoveryRequest, DiscoveryResponse>();
            _sotw.Requests.Writer.TryWrite(new DiscoveryRequest { Node = node, TypeUrl = XdsTypes.Cluster });
            _sotw.Call = service.StreamAggregatedResources(_sotw, _sotw, new BenchCallContext(_sotw.Cancel.Token));
            var first = _sotw.Responses.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
            _sotw.Requests.Writer.TryWrite(new DiscoveryRequest { TypeUrl = XdsTypes.Cluster, VersionInfo = first.VersionInfo, ResponseNonce = first.Nonce });
        }
        else
        {
            _delta = new FakeCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>();
            _delta.Requests.Writer.TryWrite(new DeltaDiscoveryRequest { Node = node, TypeUrl = XdsTypes.Cluster });
            _delta.Call = service.DeltaAggregatedResources(_delta, _delta, new BenchCallContext(_delta.Cancel.Token));
            var first = _delta.Responses.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
            _delta.Requests.Writer.TryWrite(new DeltaDiscoveryRequest { TypeUrl = XdsTypes.Cluster, ResponseNonce = first.Nonce });
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sotw?.Cancel.Cancel();
        _delta?.Cancel.Cancel();
        _services?.Dispose();
    }

    /// <summary>One change served and ACKed.</summary>
    [Benchmark]
    public async Task ChangeServedAndAcked()
    {
        var version = ++_version;
        _source.Publish((version % 2 == 0 ? _a : _b) with { Version = version });
        if (_sotw is { } sotw)
        {
            var response = await sotw.Responses.Reader.ReadAsync();
            sotw.Requests.Writer.TryWrite(new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce });
        }
        else
        {
            var response = await _delta!.Responses.Reader.ReadAsync();
            _delta.Requests.Writer.TryWrite(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce });
        }
    }

    private static ProxySnapshot Build(int clusters, string changedVersion)
    {
        var resources = ImmutableDictionary.CreateBuilder<string, XdsResource>(StringComparer.Ordinal);
        for (var i = 0; i < clusters; i++)
        {
            var name = $"cluster-{i.ToString(CultureInfo.InvariantCulture)}";
            var version = i == 0 ? changedVersion : "1";
            resources[name] = new XdsResource(name, version, Any.Pack(new Cluster { Name = name, Type = Cluster.Types.DiscoveryType.Eds }));
        }
        return new ProxySnapshot(0,
            ImmutableDictionary.Create<string, ImmutableDictionary<string, XdsResource>>(StringComparer.Ordinal).Add(XdsTypes.Cluster, resources.ToImmutable()),
            ImmutableDictionary.Create<string, string>(StringComparer.Ordinal).Add(XdsTypes.Cluster, $"v{changedVersion}"));
    }

    private sealed class BenchSource(ProxySnapshot initial) : IXdsSnapshotSource, IProxyWatch
    {
        private ProxySnapshot _current = initial;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string ProxyId => "default.bench";

        public ProxySnapshot Current => Volatile.Read(ref _current);

        public void Publish(ProxySnapshot snapshot)
        {
            Volatile.Write(ref _current, snapshot);
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        public ValueTask<IProxyWatch> ConnectAsync(Node node, ServerCallContext context, CancellationToken cancellationToken) => ValueTask.FromResult<IProxyWatch>(this);

        public async Task WaitForNewerAsync(long version, CancellationToken cancellationToken)
        {
            while (true)
            {
                var changed = Volatile.Read(ref _changed).Task;
                if (Current.Version > version)
                {
                    return;
                }
                await changed.WaitAsync(cancellationToken);
            }
        }

        public void OnAck(string typeUrl, string version)
        {
        }

        public void OnNack(string typeUrl, string version, string reason)
        {
        }

        public void OnSent(string typeUrl, string version, int resources)
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed class FakeCall<TRequest, TResponse> : IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>
    {
        public Channel<TRequest> Requests { get; } = Channel.CreateUnbounded<TRequest>(new UnboundedChannelOptions { SingleReader = true });

        public Channel<TResponse> Responses { get; } = Channel.CreateUnbounded<TResponse>(new UnboundedChannelOptions { SingleReader = true });

        public CancellationTokenSource Cancel { get; } = new();

        public Task Call { get; set; } = Task.CompletedTask;

        public TRequest Current { get; private set; } = default!;

        public WriteOptions? WriteOptions { get; set; }

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            while (await Requests.Reader.WaitToReadAsync(cancellationToken))
            {
                if (Requests.Reader.TryRead(out var item))
                {
                    Current = item;
                    return true;
                }
            }
            return false;
        }

        public Task WriteAsync(TResponse message) => Responses.Writer.WriteAsync(message).AsTask();

        public Task WriteAsync(TResponse message, CancellationToken cancellationToken) => Responses.Writer.WriteAsync(message, cancellationToken).AsTask();
    }

    private sealed class BenchCallContext(CancellationToken token) : ServerCallContext
    {
        protected override string MethodCore => "/envoy.service.discovery.v3.AggregatedDiscoveryService/Bench";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "bench";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => token;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
