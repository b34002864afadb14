using Envoy.Service.Discovery.V3;
using Federation.Zone.Tests.Xds.Server.Fakes;
using Federation.Zone.Xds.Server;
using Grpc.Core;

namespace Federation.Zone.Tests.Xds.Server;

/// <summary>State-of-the-world ADS on fake streams: the test plays the proxy, request by request.</summary>
public sealed class AdsServiceSotwTests : IDisposable
{
    private readonly AdsServiceUnderTest _ads = new();

    public void Dispose() => _ads.Dispose();

    [Fact]
    public async Task StreamAggregatedResources_FirstRequestWithoutNode_EndsWithInvalidArgument()
    {
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener), withNode: false);

        Assert.Equal("the first request must carry node", await s.EndsWithAsync(StatusCode.InvalidArgument));
        Assert.Empty(s.Proxy.Watches);
    }

    [Fact]
    public async Task StreamAggregatedResources_SourceRefusesProxy_EndsWithItsStatus()
    {
        _ads.Source.Refuse = node => new RpcException(new Status(StatusCode.Unauthenticated, $"no dataplane token for {node.Id}"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));

        Assert.Equal("no dataplane token for default.web", await s.EndsWithAsync(StatusCode.Unauthenticated));
    }

    [Fact]
    public async Task StreamAggregatedResources_ZoneStopping_EndsTheStreamWithUnavailable()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Listener("a"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        await s.NextAsync(XdsTypes.Listener, "the first LDS");

        _ads.Lifetime.StopApplication();

        Assert.Equal("the zone control plane is shutting down; reconnect", await s.EndsWithAsync(StatusCode.Unavailable));
        await s.Proxy.WaitUntilAsync(p => p.Watches.All(w => w.Disposed), "the watch to be disposed");
    }

    [Fact]
    public async Task StreamAggregatedResources_UnknownTypeUrl_EndsWithInvalidArgumentNamingServedTypes()
    {
        const string Unknown = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        await s.NextAsync(XdsTypes.Listener, "the first LDS");

        await s.SendAsync(Sotw.Request(Unknown, "x"));

        var detail = await s.EndsWithAsync(StatusCode.InvalidArgument);
        Assert.Equal($"type {Unknown} is not served (served: {string.Join(", ", XdsTypes.All)})", detail);
        await s.Proxy.WaitUntilAsync(p => p.Watches.All(w => w.Disposed), "the watch to be disposed");
    }

    [Fact]
    public async Task StreamAggregatedResources_NoTypeUrl_EndsWithInvalidArgument()
    {
        await using var s = await _ads.SotwAsync(new DiscoveryRequest());

        Assert.Equal("the request has no type_url", await s.EndsWithAsync(StatusCode.InvalidArgument));
    }

    [Fact]
    public async Task StreamAggregatedResources_EmptyFirstListenerRequest_SendsEveryListener()
    {
        var version = _ads.Source.Proxy("default.web").Publish(b => b.Listener("a").Listener("b").Listener("c").Cluster("x"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));

        var response = await s.NextAsync(XdsTypes.Listener, "LDS");

        Assert.Equal(["a", "b", "c"], Sotw.Names(response));
        Assert.Equal(_ads.Source.Proxy("default.web").Current.VersionOf(XdsTypes.Listener), response.VersionInfo);
        Assert.NotEmpty(response.Nonce);
        Assert.Equal(1, version);
    }

    [Fact]
    public async Task StreamAggregatedResources_NoListenersYet_SendsEmptyFirstResponse()
    {
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));

        var response = await s.NextAsync(XdsTypes.Listener, "the empty LDS Envoy waits for");

        Assert.Empty(response.Resources);
    }

    [Fact]
    public async Task StreamAggregatedResources_NamedSubscription_SendsOnlyNamedThatExist()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Cluster("a").Cluster("b").Cluster("c"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Cluster, "a", "c", "missing"));

        var response = await s.NextAsync(XdsTypes.Cluster, "CDS");

        Assert.Equal(["a", "c"], Sotw.Names(response));
    }

    [Fact]
    public async Task StreamAggregatedResources_StarAmongNames_IsWildcard()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Endpoints("a").Endpoints("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.ClusterLoadAssignment, "*"));

        Assert.Equal(["a", "b"], Sotw.Names(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS")));
    }

    [Fact]
    public async Task StreamAggregatedResources_OneClusterChanges_ResendsEverySubscribedCluster()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Cluster("a").Cluster("b").Cluster("c").Cluster("other"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Cluster, "a", "b", "c"));
        var first = await s.NextAsync(XdsTypes.Cluster, "CDS");
        await s.SendAsync(Sotw.Ack(first, "a", "b", "c"));

        await s.PublishAsync(b => b.Cluster("a").Cluster("b", "2").Cluster("c").Cluster("other"));

        var update = await s.NextAsync(XdsTypes.Cluster, "CDS after b changed");
        Assert.Equal(["a", "b", "c"], Sotw.Names(update));
        Assert.NotEqual(first.VersionInfo, update.VersionInfo);
        Assert.NotEqual(first.Nonce, update.Nonce);
    }

    [Fact]
    public async Task StreamAggregatedResources_OneEndpointsChanges_SendsEverySubscribedThatExists()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Endpoints("a").Endpoints("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.ClusterLoadAssignment, "a", "b"));
        await s.SendAsync(Sotw.Ack(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS"), "a", "b"));

        await s.PublishAsync(b => b.Endpoints("a").Endpoints("b", "2"));

        Assert.Equal(["a", "b"], Sotw.Names(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS after b changed")));
    }

    [Fact]
    public async Task StreamAggregatedResources_Ack_RecordedAndNothingResent()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Listener("a"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        var response = await s.NextAsync(XdsTypes.Listener, "LDS");

        await s.SendAsync(Sotw.Ack(response));

        Assert.Empty(await s.ProbeAsync());
        Assert.Equal([new Answer(XdsTypes.Listener, response.VersionInfo, null)], s.Proxy.Acks);
        Assert.Equal([(XdsTypes.Listener, response.VersionInfo, 1)], s.Proxy.Sent.Where(x => x.TypeUrl == XdsTypes.Listener));
    }

    [Fact]
    public async Task StreamAggregatedResources_NackThenFix_RecordsNackWithoutResendThenSendsFix()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Cluster("a"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Cluster, "a"));
        var good = await s.NextAsync(XdsTypes.Cluster, "CDS v1");
        await s.SendAsync(Sotw.Ack(good, "a"));

        await s.PublishAsync(b => b.Cluster("a", "bad"));
        var bad = await s.NextAsync(XdsTypes.Cluster, "the bad CDS");
        await s.SendAsync(Sotw.Nack(bad, good.VersionInfo, "Cluster message validation failed: [Unsupported type STATIC]", "a"));

        Assert.Empty(await s.ProbeAsync());
        Assert.Equal([new Answer(XdsTypes.Cluster, bad.VersionInfo, "Cluster message validation failed: [Unsupported type STATIC]")], s.Proxy.Nacks);

        await s.PublishAsync(b => b.Cluster("a", "fixed"));
        var fixedResponse = await s.NextAsync(XdsTypes.Cluster, "the fixed CDS");
        await s.SendAsync(Sotw.Ack(fixedResponse, "a"));

        await s.Proxy.WaitUntilAsync(p => p.Acks.Any(a => a.Version == fixedResponse.VersionInfo), "the ACK of the fix");
        Assert.Equal([good.VersionInfo, fixedResponse.VersionInfo], s.Proxy.Acks.Select(a => a.Version));
        Assert.Single(s.Proxy.Nacks);
    }

    [Fact]
    public async Task StreamAggregatedResources_PartialAcceptWithErrorDetail_IsANack()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Cluster("a").Cluster("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Cluster, "a", "b"));
        var response = await s.NextAsync(XdsTypes.Cluster, "CDS");

        // grpc-js accepts the valid resources: new version_info *and* error_detail.
        var partial = Sotw.Nack(response, response.VersionInfo, "resource index 1: invalid", "a", "b");
        await s.SendAsync(partial);

        await s.Proxy.WaitUntilAsync(p => p.Nacks.Count == 1, "the NACK");
        Assert.Empty(s.Proxy.Acks);
    }

    [Fact]
    public async Task StreamAggregatedResources_EmptyListAfterNames_UnsubscribesEverything()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Cluster("a"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Cluster, "a"));
        var first = await s.NextAsync(XdsTypes.Cluster, "CDS");
        await s.SendAsync(Sotw.Ack(first, "a"));

        await s.SendAsync(new DiscoveryRequest { TypeUrl = XdsTypes.Cluster, VersionInfo = first.VersionInfo, ResponseNonce = first.Nonce });
        await s.PublishAsync(b => b.Cluster("a", "2").Cluster("b"));

        Assert.Empty(await s.ProbeAsync());

        await s.SendAsync(Sotw.Request(XdsTypes.Cluster, "a"));
        var again = await s.NextAsync(XdsTypes.Cluster, "CDS after subscribing again");
        Assert.Equal(["a"], Sotw.Names(again));
    }

    [Fact]
    public async Task StreamAggregatedResources_UnsubscribeOneName_StopsSendingIt()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Endpoints("a").Endpoints("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.ClusterLoadAssignment, "a", "b"));
        var first = await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS");
        await s.SendAsync(Sotw.Ack(first, "a", "b"));

        await s.SendAsync(Sotw.Request(XdsTypes.ClusterLoadAssignment, "a"));
        await s.PublishAsync(b => b.Endpoints("a").Endpoints("b", "2"));
        Assert.Empty(await s.ProbeAsync());

        await s.PublishAsync(b => b.Endpoints("a", "2").Endpoints("b", "2"));
        Assert.Equal(["a"], Sotw.Names(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS after a changed")));
    }

    [Fact]
    public async Task StreamAggregatedResources_UnsubscribeThenResubscribe_SendsTheNameAgain()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Endpoints("a").Endpoints("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.ClusterLoadAssignment, "a", "b"));
        var first = await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS");
        await s.SendAsync(Sotw.Ack(first, "a", "b"));

        // The client holds exactly what it still wants: nothing to send.
        await s.SendAsync(Sotw.Request(XdsTypes.ClusterLoadAssignment, "a"));
        Assert.Empty(await s.ProbeAsync());

        // It dropped b when it unsubscribed, unchanged as b is.
        await s.SendAsync(Sotw.Request(XdsTypes.ClusterLoadAssignment, "a", "b"));
        Assert.Equal(["a", "b"], Sotw.Names(await s.NextAsync(XdsTypes.ClusterLoadAssignment, "EDS after re-subscribing b")));
    }

    [Fact]
    public async Task StreamAggregatedResources_SnapshotRebuiltWithSameContent_SendsNothing()
    {
        var proxy = _ads.Source.Proxy("default.web");
        proxy.Publish(b => b.Listener("a").Cluster("c"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        await s.SendAsync(Sotw.Ack(await s.NextAsync(XdsTypes.Listener, "LDS")));

        // A new snapshot object (new dictionaries) with the same listeners, then a real change.
        await s.PublishAsync(b => b.Listener("a").Cluster("c", "2"));
        Assert.Empty(await s.ProbeAsync());
        await s.PublishAsync(b => b.Listener("a", "2").Cluster("c", "2"));

        Assert.Equal(["a"], Sotw.Names(await s.NextAsync(XdsTypes.Listener, "LDS after a changed")));
    }

    [Fact]
    public async Task StreamAggregatedResources_WildcardThenNames_OnlyNamesFollow()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Listener("a").Listener("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        var first = await s.NextAsync(XdsTypes.Listener, "LDS");
        await s.SendAsync(Sotw.Ack(first));

        await s.SendAsync(Sotw.Request(XdsTypes.Listener, "a"));
        await s.PublishAsync(b => b.Listener("a").Listener("b", "2"));
        Assert.Empty(await s.ProbeAsync());

        await s.PublishAsync(b => b.Listener("a", "2").Listener("b", "2"));
        Assert.Equal(["a"], Sotw.Names(await s.NextAsync(XdsTypes.Listener, "LDS after a changed")));
    }

    [Fact]
    public async Task StreamAggregatedResources_EmptyListWhileWildcard_StaysWildcard()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Listener("a"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        await s.SendAsync(Sotw.Ack(await s.NextAsync(XdsTypes.Listener, "LDS")));

        await s.PublishAsync(b => b.Listener("a").Listener("b"));

        Assert.Equal(["a", "b"], Sotw.Names(await s.NextAsync(XdsTypes.Listener, "LDS with the new listener")));
    }

    [Fact]
    public async Task StreamAggregatedResources_NewNameBeforeAck_AnsweredAtOnce()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Cluster("a").Cluster("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Cluster, "a"));
        var first = await s.NextAsync(XdsTypes.Cluster, "CDS [a]");

        // grpc-js: a route now references b, so it asks for [a, b] with the nonce it has but the version it accepted ("").
        await s.SendAsync(new DiscoveryRequest { TypeUrl = XdsTypes.Cluster, ResponseNonce = first.Nonce, ResourceNames = { "a", "b" } });
        var second = await s.NextAsync(XdsTypes.Cluster, "CDS [a, b]");
        Assert.Equal(["a", "b"], Sotw.Names(second));

        await s.SendAsync(Sotw.Ack(first, "a", "b"));
        await s.SendAsync(Sotw.Ack(second, "a", "b"));
        await s.Proxy.WaitUntilAsync(p => p.Acks.Count > 0, "the ACK of the second response");
        Assert.Empty(await s.ProbeAsync());
        Assert.Equal([new Answer(XdsTypes.Cluster, second.VersionInfo, null)], s.Proxy.Acks);
    }

    [Fact]
    public async Task StreamAggregatedResources_StaleNonceWithErrorDetail_OnlyUpdatesSubscription()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Cluster("a").Cluster("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Cluster, "a"));
        var first = await s.NextAsync(XdsTypes.Cluster, "CDS [a]");
        await s.SendAsync(new DiscoveryRequest { TypeUrl = XdsTypes.Cluster, ResponseNonce = first.Nonce, ResourceNames = { "a", "b" } });
        var second = await s.NextAsync(XdsTypes.Cluster, "CDS [a, b]");

        await s.SendAsync(Sotw.Nack(first, "", "late rejection of an old response", "a", "b"));

        Assert.Empty(await s.ProbeAsync());
        Assert.Empty(s.Proxy.Nacks);
        Assert.Equal(["a", "b"], Sotw.Names(second));
    }

    [Fact]
    public async Task StreamAggregatedResources_ReconnectWithCurrentVersion_SendsNothingUntilChange()
    {
        var proxy = _ads.Source.Proxy("default.web");
        proxy.Publish(b => b.Listener("a"));
        await using var s = await _ads.SotwAsync(new DiscoveryRequest { TypeUrl = XdsTypes.Listener, VersionInfo = proxy.Current.VersionOf(XdsTypes.Listener) });

        Assert.Empty(await s.ProbeAsync());

        await s.PublishAsync(b => b.Listener("a", "2"));
        Assert.Equal(["a"], Sotw.Names(await s.NextAsync(XdsTypes.Listener, "LDS after the change")));
    }

    [Fact]
    public async Task StreamAggregatedResources_ReconnectWithOldVersion_SendsCurrent()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Listener("a", "2"));
        await using var s = await _ads.SotwAsync(new DiscoveryRequest { TypeUrl = XdsTypes.Listener, VersionInfo = "some-older-version" });

        var response = await s.NextAsync(XdsTypes.Listener, "LDS");

        Assert.Equal(["a"], Sotw.Names(response));
    }

    [Fact]
    public async Task StreamAggregatedResources_ChangeOfUnsubscribedResource_SendsNothing()
    {
        _ads.Source.Proxy("default.web").Publish(b => b.Cluster("a").Cluster("b"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Cluster, "a"));
        await s.SendAsync(Sotw.Ack(await s.NextAsync(XdsTypes.Cluster, "CDS"), "a"));

        await s.PublishAsync(b => b.Cluster("a").Cluster("b", "2").Listener("new"));

        Assert.Empty(await s.ProbeAsync());
    }

    [Fact]
    public async Task StreamAggregatedResources_ClientNeverAcksWhileSnapshotChanges1000Times_SendsOnlyTheLatestAfterAnAnswer()
    {
        var proxy = _ads.Source.Proxy("default.web");
        proxy.Publish(b => b.Listener("a", "0"));
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        var first = await s.NextAsync(XdsTypes.Listener, "the first LDS");

        long last = 0;
        for (var i = 1; i <= 1000; i++)
        {
            var n = i;
            last = proxy.Publish(b => b.Listener("a", n.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        await s.Watch.ObservedAsync(last);

        Assert.Empty(await s.ProbeAsync());
        Assert.Single(proxy.Sent, x => x.TypeUrl == XdsTypes.Listener);

        await s.SendAsync(Sotw.Ack(first));
        var latest = await s.NextAsync(XdsTypes.Listener, "the latest LDS after the ACK");
        Assert.Equal(proxy.Current.VersionOf(XdsTypes.Listener), latest.VersionInfo);
        Assert.Empty(await s.ProbeAsync());
        Assert.Equal(2, proxy.Sent.Count(x => x.TypeUrl == XdsTypes.Listener));
    }

    [Fact]
    public async Task StreamAggregatedResources_WriterStuck_KeepsReadingAndHoldsOneResponsePerType()
    {
        var proxy = _ads.Source.Proxy("default.web");
        proxy.Publish(b => b.Listener("a", "0").Cluster("c", "0"));
        // Capacity 1: each request write completes only once the server has read the one before.
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener), requestCapacity: 1, holdResponses: true);
        await s.Responses.Blocked.WaitUntilAsync(() => s.Responses.BlockedWrites == 1, "the first write to block");

        long last = 0;
        for (var i = 1; i <= 1000; i++)
        {
            var n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            last = proxy.Publish(b => b.Listener("a", n).Cluster("c", n));
            // Subscription changes are answered whatever the ACK state, so they are what could pile up.
            await s.SendAsync(Sotw.Request(XdsTypes.Cluster, i % 2 == 0 ? ["c"] : ["c", $"missing-{n}"]));
        }
        await s.Watch.ObservedAsync(last);
        Assert.Equal(0, s.Responses.Writes);

        s.Responses.Release();
        var written = await s.ProbeAsync();

        // The blocked LDS, then at most one CDS that was taken while blocked and one computed from the latest state.
        Assert.Equal(XdsTypes.Listener, written[0].TypeUrl);
        Assert.InRange(written.Count(r => r.TypeUrl == XdsTypes.Cluster), 1, 2);
        Assert.Equal(proxy.Current.VersionOf(XdsTypes.Cluster), written[^1].VersionInfo);
        Assert.Equal(written.Count, proxy.Sent.Count(x => x.TypeUrl != XdsTypes.Secret));
    }

    [Fact]
    public async Task StreamAggregatedResources_ClientHalfCloses_EndsWithOk()
    {
        await using var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        await s.NextAsync(XdsTypes.Listener, "LDS");

        s.Requests.Complete();

        await s.Call.Within10s("the call to end");
        await s.Proxy.WaitUntilAsync(p => p.Watches.All(w => w.Disposed), "the watch to be disposed");
    }

    [Fact]
    public async Task StreamAggregatedResources_ClientGoesAway_DisposesWatch()
    {
        var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener));
        await s.NextAsync(XdsTypes.Listener, "LDS");

        await s.DisposeAsync();

        Assert.True(s.Call.IsCompletedSuccessfully);
        Assert.True(s.Watch.Disposed);
    }
}
