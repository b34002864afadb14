using System.Globalization;
using Envoy.Service.Discovery.V3;
using Federation.Zone.Tests.Xds.Server.Fakes;
using Federation.Zone.Xds.Server;
using Grpc.Core;

namespace Federation.Zone.Tests.Xds.Server;

/// <summary>Incremental ADS on fake streams: the test plays the proxy, request by request.</summary>
public sealed class AdsServiceDeltaTests : IDisposable
{
    private readonly AdsServiceUnderTest _ads = new();

    public void Dispose() => _ads.Dispose();

    private FakeProxy Proxy => _ads.Source.Proxy("default.web");

    [Fact]
    public async Task DeltaAggregatedResources_FirstRequestWithoutNode_EndsWithInvalidArgument()
    {
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Listener), withNode: false);

        Assert.Equal("the first request must carry node", await s.EndsWithAsync(StatusCode.InvalidArgument));
    }

    [Fact]
    public async Task DeltaAggregatedResources_UnknownTypeUrl_EndsWithInvalidArgument()
    {
        await using var s = await _ads.DeltaAsync(Delta.Subscribe("type.googleapis.com/google.protobuf.Empty", "x"));

        var detail = await s.EndsWithAsync(StatusCode.InvalidArgument);
        Assert.StartsWith("type type.googleapis.com/google.protobuf.Empty is not served (served: ", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeltaAggregatedResources_SameNameSubscribedAndUnsubscribed_EndsWithInvalidArgument()
    {
        await using var s = await _ads.DeltaAsync(new DeltaDiscoveryRequest
        {
            TypeUrl = XdsTypes.Cluster,
            ResourceNamesSubscribe = { "a" },
            ResourceNamesUnsubscribe = { "a" },
        });

        Assert.Equal($"a {XdsTypes.Cluster} request both subscribes and unsubscribes 'a'", await s.EndsWithAsync(StatusCode.InvalidArgument));
    }

    [Fact]
    public async Task DeltaAggregatedResources_InitialVersionsOnALaterRequest_EndsWithInvalidArgument()
    {
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Cluster, "a"));

        await s.SendAsync(new DeltaDiscoveryRequest { TypeUrl = XdsTypes.Cluster, InitialResourceVersions = { ["a"] = "1" } });

        Assert.Equal($"initial_resource_versions is only allowed on the first request of {XdsTypes.Cluster} on a stream",
            await s.EndsWithAsync(StatusCode.InvalidArgument));
    }

    [Fact]
    public async Task DeltaAggregatedResources_ErrorDetailWithoutNonce_EndsWithInvalidArgument()
    {
        await using var s = await _ads.DeltaAsync(new DeltaDiscoveryRequest
        {
            TypeUrl = XdsTypes.Cluster,
            ErrorDetail = new Google.Rpc.Status { Code = 3, Message = "what?" },
        });

        var detail = await s.EndsWithAsync(StatusCode.InvalidArgument);
        Assert.Contains("error_detail but no response_nonce", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeltaAggregatedResources_EmptyFirstListenerSubscribe_SendsEveryListenerWithVersions()
    {
        Proxy.Publish(b => b.Listener("a").Listener("b", "7"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Listener));

        var response = await s.NextAsync(XdsTypes.Listener, "LDS");

        Assert.Equal(["a=1", "b=7"], Delta.Versions(response));
        Assert.Empty(response.RemovedResources);
        Assert.Equal(Proxy.Current.VersionOf(XdsTypes.Listener), response.SystemVersionInfo);
        Assert.NotEmpty(response.Nonce);
    }

    [Fact]
    public async Task DeltaAggregatedResources_FreshWildcardWithNothing_SendsOneEmptyResponse()
    {
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Cluster));

        var response = await s.NextAsync(XdsTypes.Cluster, "the empty CDS Envoy waits for");

        Assert.Empty(response.Resources);
        Assert.Empty(response.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_EmptyFirstEndpointsSubscribe_IsNotWildcard()
    {
        Proxy.Publish(b => b.Endpoints("a"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.ClusterLoadAssignment));

        Assert.Empty(await s.ProbeAsync());

        await s.SendAsync(Delta.Subscribe(XdsTypes.ClusterLoadAssignment, "a"));
        Assert.Equal(["a=1"], Delta.Versions(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS [a]")));
    }

    [Fact]
    public async Task DeltaAggregatedResources_StarSubscribe_IsWildcardUntilUnsubscribed()
    {
        Proxy.Publish(b => b.Endpoints("a").Endpoints("b"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.ClusterLoadAssignment, "*"));
        var first = await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS *");
        Assert.Equal(["a=1", "b=1"], Delta.Versions(first));
        await s.SendAsync(Delta.Ack(first));

        await s.SendAsync(Delta.Unsubscribe(XdsTypes.ClusterLoadAssignment, "*"));
        await s.PublishAsync(b => b.Endpoints("a", "2").Endpoints("b", "2").Endpoints("c"));

        Assert.Empty(await s.ProbeAsync());
    }

    [Fact]
    public async Task DeltaAggregatedResources_OneResourceChanges_SendsOnlyIt()
    {
        Proxy.Publish(b => b.Cluster("a").Cluster("b"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Cluster));
        await s.SendAsync(Delta.Ack(await s.NextAsync(XdsTypes.Cluster, "CDS")));

        await s.PublishAsync(b => b.Cluster("a").Cluster("b", "2").Cluster("c"));

        var update = await s.NextAsync(XdsTypes.Cluster, "CDS after the change");
        Assert.Equal(["b=2", "c=1"], Delta.Versions(update));
        Assert.Empty(update.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_SubscribedResourceDisappears_ListedInRemovedResources()
    {
        Proxy.Publish(b => b.Cluster("a").Cluster("b"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Cluster));
        await s.SendAsync(Delta.Ack(await s.NextAsync(XdsTypes.Cluster, "CDS")));

        await s.PublishAsync(b => b.Cluster("a"));

        var update = await s.NextAsync(XdsTypes.Cluster, "CDS after b was removed");
        Assert.Empty(update.Resources);
        Assert.Equal(["b"], update.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_NothingChanged_SendsNothing()
    {
        Proxy.Publish(b => b.Cluster("a"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Cluster));
        await s.SendAsync(Delta.Ack(await s.NextAsync(XdsTypes.Cluster, "CDS")));

        await s.PublishAsync(b => b.Cluster("a").Listener("new"));
        await s.PublishAsync(b => b.Cluster("a").Listener("new", "2"));

        Assert.Empty(await s.ProbeAsync());
    }

    [Fact]
    public async Task DeltaAggregatedResources_InitialResourceVersions_SendsOnlyWhatTheClientLacks()
    {
        Proxy.Publish(b => b.Cluster("same").Cluster("changed", "2").Cluster("new"));
        await using var s = await _ads.DeltaAsync(new DeltaDiscoveryRequest
        {
            TypeUrl = XdsTypes.Cluster,
            ResourceNamesSubscribe = { "*" },
            InitialResourceVersions = { ["same"] = "1", ["changed"] = "1", ["gone"] = "1" },
        });

        var response = await s.NextAsync(XdsTypes.Cluster, "CDS after reconnecting");

        Assert.Equal(["changed=2", "new=1"], Delta.Versions(response));
        Assert.Equal(["gone"], response.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_InitialResourceVersionsAllCurrent_SendsNothing()
    {
        Proxy.Publish(b => b.Endpoints("a").Endpoints("b", "3"));
        await using var s = await _ads.DeltaAsync(new DeltaDiscoveryRequest
        {
            TypeUrl = XdsTypes.ClusterLoadAssignment,
            ResourceNamesSubscribe = { "a", "b" },
            InitialResourceVersions = { ["a"] = "1", ["b"] = "3" },
        });

        Assert.Empty(await s.ProbeAsync());

        await s.PublishAsync(b => b.Endpoints("a").Endpoints("b", "4"));
        Assert.Equal(["b=4"], Delta.Versions(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS after b changed")));
    }

    [Fact]
    public async Task DeltaAggregatedResources_Unsubscribe_NoUpdatesAndNoRemoval()
    {
        Proxy.Publish(b => b.Endpoints("a").Endpoints("b"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.ClusterLoadAssignment, "a", "b"));
        await s.SendAsync(Delta.Ack(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS")));

        await s.SendAsync(Delta.Unsubscribe(XdsTypes.ClusterLoadAssignment, "b"));
        await s.PublishAsync(b => b.Endpoints("a").Endpoints("b", "2"));
        await s.PublishAsync(b => b.Endpoints("a"));
        Assert.Empty(await s.ProbeAsync());

        await s.PublishAsync(b => b.Endpoints("a", "2"));
        var update = await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS after a changed");
        Assert.Equal(["a=2"], Delta.Versions(update));
        Assert.Empty(update.RemovedResources);
    }

    [Fact]
    public async Task DeltaAggregatedResources_SubscribedNameMissing_SentWhenItAppears()
    {
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.RouteConfiguration, "r"));
        Assert.Empty(await s.ProbeAsync());

        await s.PublishAsync(b => b.Route("r"));

        Assert.Equal(["r=1"], Delta.Versions(await s.NextAsync(XdsTypes.RouteConfiguration, "RDS once r exists")));
    }

    [Fact]
    public async Task DeltaAggregatedResources_NackThenFix_RecordsNackWithoutResendThenSendsFix()
    {
        Proxy.Publish(b => b.Cluster("a"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Cluster, "a"));
        var good = await s.NextAsync(XdsTypes.Cluster, "CDS v1");
        await s.SendAsync(Delta.Ack(good));

        await s.PublishAsync(b => b.Cluster("a", "bad"));
        var bad = await s.NextAsync(XdsTypes.Cluster, "the bad CDS");
        await s.SendAsync(Delta.Nack(bad, "rejected a"));
        Assert.Empty(await s.ProbeAsync());
        Assert.Equal([new Answer(XdsTypes.Cluster, bad.SystemVersionInfo, "rejected a")], Proxy.Nacks);

        await s.PublishAsync(b => b.Cluster("a", "fixed"));
        var fixedResponse = await s.NextAsync(XdsTypes.Cluster, "the fixed CDS");
        Assert.Equal(["a=fixed"], Delta.Versions(fixedResponse));
        await s.SendAsync(Delta.Ack(fixedResponse));

        await Proxy.WaitUntilAsync(p => p.Acks.Count == 2, "the ACK of the fix");
        Assert.Equal([good.SystemVersionInfo, fixedResponse.SystemVersionInfo], Proxy.Acks.Select(a => a.Version));
    }

    [Fact]
    public async Task DeltaAggregatedResources_ClientNeverAcksWhileSnapshotChanges1000Times_SendsOnlyTheLatestAfterAnAnswer()
    {
        Proxy.Publish(b => b.Cluster("a", "0").Cluster("gone"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Cluster));
        var first = await s.NextAsync(XdsTypes.Cluster, "the first CDS");

        long last = 0;
        for (var i = 1; i <= 1000; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            last = Proxy.Publish(b => b.Cluster("a", n).Cluster($"c{n}"));
        }
        await s.Watch.ObservedAsync(last);
        Assert.Empty(await s.ProbeAsync());
        Assert.Single(Proxy.Sent, x => x.TypeUrl == XdsTypes.Cluster);

        await s.SendAsync(Delta.Ack(first));
        var latest = await s.NextAsync(XdsTypes.Cluster, "the latest CDS after the ACK");

        Assert.Equal(["a=1000", "c1000=1"], Delta.Versions(latest));
        Assert.Equal(["gone"], latest.RemovedResources);
        Assert.Empty(await s.ProbeAsync());
    }

    [Fact]
    public async Task DeltaAggregatedResources_NewNameBeforeAck_AnsweredAtOnce()
    {
        Proxy.Publish(b => b.Endpoints("a").Endpoints("b"));
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.ClusterLoadAssignment, "a"));
        await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS [a]");

        await s.SendAsync(Delta.Subscribe(XdsTypes.ClusterLoadAssignment, "b"));

        Assert.Equal(["b=1"], Delta.Versions(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS [b]")));
    }
}
