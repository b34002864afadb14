using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Federation.Kds.Conversion;
using Federation.Kds.Streams;
using Federation.Kds.Sync;
using Federation.Kds.Tests.Fakes;
using Federation.Resources;
using Microsoft.Extensions.Logging.Abstractions;
using static Federation.Kds.Tests.Fakes.TestResources;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace Federation.Kds.Tests.Streams;

public sealed class KdsSubscriberTests
{
    private static readonly ResourceTypeDescriptor[] Types = [ResourceTypes.Mesh, ResourceTypes.MeshTrafficPermission];

    /// <summary>Records what it is asked to apply and rejects what the test says.</summary>
    private sealed class FakeApplier : IKdsApplier
    {
        public List<(string Type, bool Full, string[] Names, string[] Removed)> Calls { get; } = [];

        public Func<DeltaResource, string?> Reject { get; set; } = _ => null;

        public Task<IReadOnlyList<string>> ApplyAsync(ResourceTypeDescriptor type, bool fullState, IReadOnlyList<DeltaResource> resources, IReadOnlyList<string> removed, CancellationToken cancellationToken)
        {
            lock (Calls)
            {
                Calls.Add((type.Name, fullState, [.. resources.Select(r => r.Name)], [.. removed]));
            }
            return Task.FromResult<IReadOnlyList<string>>([.. resources.Select(Reject).OfType<string>()]);
        }
    }

    private sealed class Harness : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        public Harness(Node? node = null)
        {
            Run = new KdsSubscriber("the global", Types, Applier, node, Observer, NullLogger.Instance).RunAsync(Responses, Requests, _stop.Token);
        }

        public FakeApplier Applier { get; } = new();

        public RecordingObserver Observer { get; } = new();

        public ChannelStreamReader<DeltaDiscoveryResponse> Responses { get; } = new();

        public ChannelStreamWriter<DeltaDiscoveryRequest> Requests { get; } = new();

        public Task Run { get; }

        public async Task SkipSubscriptionsAsync()
        {
            foreach (var _ in Types)
            {
                await Requests.NextAsync("a subscription");
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await Run.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (OperationCanceledException)
            {
            }
            _stop.Dispose();
        }
    }

    private static DeltaDiscoveryResponse Response(string type, string nonce, bool full, Resources.Resource[] resources, params string[] removed)
    {
        var response = new DeltaDiscoveryResponse { TypeUrl = type, Nonce = nonce, SystemVersionInfo = full ? KdsConversion.FullStateMarker : "delta" };
        response.Resources.Add(resources.Select(KdsConversion.ToWire));
        response.RemovedResources.Add(removed);
        return response;
    }

    [Fact]
    public async Task Run_Start_SubscribesWildcardToEveryTypeWithTheNodeOnTheFirstRequest()
    {
        await using var h = new Harness(new Node { Id = "zone-1" });

        var first = await h.Requests.NextAsync("the Mesh subscription");
        var second = await h.Requests.NextAsync("the MeshTrafficPermission subscription");

        Assert.Equal("Mesh", first.TypeUrl);
        Assert.Equal(["*"], first.ResourceNamesSubscribe);
        Assert.Equal("", first.ResponseNonce);
        Assert.Equal("zone-1", first.Node.Id);
        Assert.Equal("MeshTrafficPermission", second.TypeUrl);
        Assert.Equal(["*"], second.ResourceNamesSubscribe);
        Assert.Null(second.Node);
    }

    [Fact]
    public async Task Run_FullStateResponse_AppliedAsFullStateAndAckedWithItsNonce()
    {
        await using var h = new Harness();
        await h.SkipSubscriptionsAsync();

        h.Responses.Send(Response("MeshTrafficPermission", "n-1", full: true, [Policy("a"), Policy("b")]));
        var ack = await h.Requests.NextAsync("the ACK");

        Assert.Equal("MeshTrafficPermission", ack.TypeUrl);
        Assert.Equal("n-1", ack.ResponseNonce);
        Assert.Null(ack.ErrorDetail);
        Assert.Empty(ack.ResourceNamesSubscribe);
        var call = Assert.Single(h.Applier.Calls);
        Assert.Equal(("MeshTrafficPermission", true), (call.Type, call.Full));
        Assert.Equal(["a.default", "b.default"], call.Names);
    }

    [Fact]
    public async Task Run_DeltaResponse_AppliedAsDeltaWithItsRemovals()
    {
        await using var h = new Harness();
        await h.SkipSubscriptionsAsync();

        h.Responses.Send(Response("MeshTrafficPermission", "n-2", full: false, [Policy("c")], "a.default"));
        var ack = await h.Requests.NextAsync("the ACK");

        Assert.Equal("n-2", ack.ResponseNonce);
        var call = Assert.Single(h.Applier.Calls);
        Assert.False(call.Full);
        Assert.Equal(["c.default"], call.Names);
        Assert.Equal(["a.default"], call.Removed);
    }

    [Fact]
    public async Task Run_SomeResourcesRejected_NackNamesThemAndTheRestWasApplied()
    {
        await using var h = new Harness();
        await h.SkipSubscriptionsAsync();
        h.Applier.Reject = r => r.Name == "x.default" ? "MeshTrafficPermission 'x.default': conflicts with a resource created locally" : null;

        h.Responses.Send(Response("MeshTrafficPermission", "n-3", full: true, [Policy("x"), Policy("y")]));
        var nack = await h.Requests.NextAsync("the NACK");

        Assert.Equal("n-3", nack.ResponseNonce);
        Assert.Equal(3, nack.ErrorDetail.Code);
        Assert.Equal("rejected 1 of 2 MeshTrafficPermission resources: MeshTrafficPermission 'x.default': conflicts with a resource created locally", nack.ErrorDetail.Message);
        Assert.Equal(["x.default", "y.default"], Assert.Single(h.Applier.Calls).Names);
        var applied = Assert.Single(h.Observer.Applied);
        Assert.Equal(2, applied.Resources);
        Assert.Single(applied.Rejected);
    }

    [Fact]
    public async Task Run_ResponseOfUnsubscribedType_NackedWithoutApplying()
    {
        await using var h = new Harness();
        await h.SkipSubscriptionsAsync();

        h.Responses.Send(Response("Dataplane", "n-4", full: true, [Dataplane("dp")]));
        var nack = await h.Requests.NextAsync("the NACK");

        Assert.Equal("Dataplane", nack.TypeUrl);
        Assert.Equal("n-4", nack.ResponseNonce);
        Assert.Contains("'Dataplane' was not subscribed to", nack.ErrorDetail.Message, StringComparison.Ordinal);
        Assert.Empty(h.Applier.Calls);
    }

    [Fact]
    public async Task Run_PeerEndsTheStream_RunEnds()
    {
        await using var h = new Harness();
        h.Responses.Complete();
        await h.Run.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }
}
