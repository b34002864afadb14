using System.Collections.Immutable;
using System.Net;
using Federation.Dataplane.ZoneProxy.Routing;

namespace Federation.Dataplane.Tests.ZoneProxy;

public sealed class EndpointPickerTests
{
    private static UpstreamEndpoint Endpoint(int port, uint weight = 1, bool healthy = true) =>
        new(new IPEndPoint(IPAddress.Loopback, port), weight, healthy);

    private static UpstreamLocality Locality(string zone, uint weight, uint priority, params UpstreamEndpoint[] endpoints) =>
        new(zone, "", weight, priority, [.. endpoints]);

    private static Dictionary<int, int> Count(EndpointPicker picker, int picks) =>
        Enumerable.Range(0, picks).Select(_ => picker.Pick()!.Value.Endpoint.Address.Port).GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());

    [Fact]
    public void Pick_LocalityWeights_ExactShareOverEachCycle_Interleaved()
    {
        var picker = new EndpointPicker([Locality("zone-2", 2, 0, Endpoint(1)), Locality("zone-3", 1, 0, Endpoint(2))]);

        var sequence = Enumerable.Range(0, 6).Select(_ => picker.Pick()!.Value.Endpoint.Address.Port).ToArray();

        // Smooth: 2:1 spread out, not 1,1,2 runs that would burst one zone.
        Assert.Equal([1, 2, 1, 1, 2, 1], sequence);
        Assert.Equal(new Dictionary<int, int> { [1] = 200, [2] = 100 }, Count(picker, 300));
    }

    [Fact]
    public void Pick_EndpointWeightsWithinALocality_AreHonoured()
    {
        var picker = new EndpointPicker([Locality("zone-2", 4, 0, Endpoint(1, weight: 3), Endpoint(2, weight: 1))]);

        Assert.Equal(new Dictionary<int, int> { [1] = 300, [2] = 100 }, Count(picker, 400));
    }

    [Fact]
    public void Pick_LocalityWeightThenEndpointWeight_Multiply()
    {
        // zone-1 weighs 1 (two equal endpoints), zone-2 weighs 2 (one endpoint): 1/6, 1/6, 4/6.
        var picker = new EndpointPicker([Locality("zone-1", 1, 0, Endpoint(1), Endpoint(2)), Locality("zone-2", 2, 0, Endpoint(3))]);

        Assert.Equal(new Dictionary<int, int> { [1] = 100, [2] = 100, [3] = 400 }, Count(picker, 600));
    }

    [Fact]
    public void Pick_UnhealthyEndpoints_AreSkipped()
    {
        var picker = new EndpointPicker([Locality("zone-1", 2, 0, Endpoint(1, healthy: false), Endpoint(2)), Locality("zone-2", 1, 0, Endpoint(3, healthy: false))]);

        Assert.Equal(new Dictionary<int, int> { [2] = 50 }, Count(picker, 50));
        Assert.Equal(1, picker.HealthyEndpoints);
    }

    [Fact]
    public void Pick_PriorityOneIsUsedOnlyWhenPriorityZeroHasNoHealthyEndpoint()
    {
        var local = Locality("zone-1", 1, 0, Endpoint(1));
        var remote = Locality("zone-2", 5, 1, Endpoint(2));

        Assert.Equal(new Dictionary<int, int> { [1] = 20 }, Count(new EndpointPicker([local, remote]), 20));
        var failedOver = new EndpointPicker([local with { Endpoints = [Endpoint(1, healthy: false)] }, remote]);
        Assert.Equal(1u, failedOver.Priority);
        Assert.Equal(new Dictionary<int, int> { [2] = 20 }, Count(failedOver, 20));
    }

    [Fact]
    public void Pick_LocalityWithoutAWeight_WeighsItsHealthyEndpoints()
    {
        var picker = new EndpointPicker([Locality("zone-1", 0, 0, Endpoint(1, weight: 2), Endpoint(2, weight: 2)), Locality("zone-2", 0, 0, Endpoint(3, weight: 1))]);

        Assert.Equal(new Dictionary<int, int> { [1] = 200, [2] = 200, [3] = 100 }, Count(picker, 500));
    }

    [Fact]
    public void Pick_NothingHealthy_ReturnsNull()
    {
        var picker = new EndpointPicker([Locality("zone-1", 1, 0, Endpoint(1, healthy: false))]);

        Assert.False(picker.HasHealthyEndpoint);
        Assert.Null(picker.Priority);
        Assert.Null(picker.Pick());
        Assert.Null(EndpointPicker.Empty.Pick());
    }

    [Fact]
    public async Task Pick_FromManyThreads_KeepsTheExactShare()
    {
        var picker = new EndpointPicker([Locality("zone-2", 3, 0, Endpoint(1)), Locality("zone-3", 1, 0, Endpoint(2))]);
        var counts = new int[3];

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                Interlocked.Increment(ref counts[picker.Pick()!.Value.Endpoint.Address.Port]);
            }
        }, TestContext.Current.CancellationToken)));

        Assert.Equal((6000, 2000), (counts[1], counts[2]));
    }

    [Fact]
    public void Localities_AreKeptForStats()
    {
        ImmutableArray<UpstreamLocality> localities = [Locality("zone-2", 2, 1, Endpoint(1, weight: 2))];

        Assert.Equal(localities, new EndpointPicker(localities).Localities);
    }
}
