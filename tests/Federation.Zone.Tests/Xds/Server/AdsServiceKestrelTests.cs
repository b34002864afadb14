using System.Globalization;
using Envoy.Service.Discovery.V3;
using Federation.Zone.Tests.Xds.Server.Fakes;
using Federation.Zone.Xds.Server;
using Grpc.Core;

namespace Federation.Zone.Tests.Xds.Server;

/// <summary>The ADS service on real Kestrel, driven with the generated gRPC client as a proxy would.</summary>
public sealed class AdsServiceKestrelTests(KestrelAdsFixture server) : IClassFixture<KestrelAdsFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private AggregatedDiscoveryService.AggregatedDiscoveryServiceClient Client => new(server.Channel);

    [Fact]
    public async Task StreamAggregatedResources_UnknownTypeUrl_FailsWithInvalidArgumentNamingServedTypes()
    {
        using var call = Client.StreamAggregatedResources(cancellationToken: Ct);

        await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = AdsServiceUnderTest.Node("default.unknown-type"), TypeUrl = "type.googleapis.com/envoy.config.core.v3.Foo" }, Ct).Within10s("the request to be sent");

        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(Ct).Within10s("the call to fail"));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal($"type type.googleapis.com/envoy.config.core.v3.Foo is not served (served: {string.Join(", ", XdsTypes.All)})", e.Status.Detail);
    }

    [Fact]
    public async Task DeltaAggregatedResources_NoNode_FailsWithInvalidArgument()
    {
        using var call = Client.DeltaAggregatedResources(cancellationToken: Ct);

        await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = XdsTypes.Listener }, Ct).Within10s("the request to be sent");

        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(Ct).Within10s("the call to fail"));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("the first request must carry node", e.Status.Detail);
    }

    [Fact]
    public async Task StreamAggregatedResources_SourceRefuses_FailsWithItsStatus()
    {
        server.Source.Refuse = node => node.Id == "default.refused" ? new RpcException(new Status(StatusCode.PermissionDenied, "token is for another dataplane")) : null;
        try
        {
            using var call = Client.StreamAggregatedResources(cancellationToken: Ct);
            await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = AdsServiceUnderTest.Node("default.refused"), TypeUrl = XdsTypes.Listener }, Ct).Within10s("the request to be sent");

            var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(Ct).Within10s("the call to fail"));
            Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
            Assert.Equal("token is for another dataplane", e.Status.Detail);
        }
        finally
        {
            server.Source.Refuse = null;
        }
    }

    [Fact]
    public async Task StreamAggregatedResources_ClientNeverAcksWhileSnapshotChanges1000Times_OneResponseThenTheLatest()
    {
        var proxy = server.Source.Proxy("default.never-acks");
        proxy.Publish(b => b.Listener("a", "0"));
        using var call = Client.StreamAggregatedResources(cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = AdsServiceUnderTest.Node(proxy.Id), TypeUrl = XdsTypes.Listener }, Ct).Within10s("the request to be sent");
        var first = await NextAsync(call, "the first LDS");

        long last = 0;
        for (var i = 1; i <= 1000; i++)
        {
            var n = i.ToString(CultureInfo.InvariantCulture);
            last = proxy.Publish(b => b.Listener("a", n));
        }
        await proxy.Watches[^1].ObservedAsync(last);

        // Barrier: the answer to this subscription comes after anything decided before it.
        await call.RequestStream.WriteAsync(Sotw.Request(XdsTypes.Secret, SnapshotBuilder.ProbeSecret), Ct).Within10s("the request to be sent");
        Assert.Equal(XdsTypes.Secret, (await NextAsync(call, "the probe")).TypeUrl);
        Assert.Single(proxy.Sent, s => s.TypeUrl == XdsTypes.Listener);

        await call.RequestStream.WriteAsync(Sotw.Ack(first), Ct).Within10s("the request to be sent");
        var latest = await NextAsync(call, "the latest LDS");
        Assert.Equal(XdsTypes.Listener, latest.TypeUrl);
        Assert.Equal(proxy.Current.VersionOf(XdsTypes.Listener), latest.VersionInfo);
        await proxy.WaitUntilAsync(p => p.Acks.Count == 1, "the ACK of the first LDS");
    }

    [Fact]
    public async Task StreamAggregatedResources_NackThenFix_NoResendThenFixAcked()
    {
        var proxy = server.Source.Proxy("default.nack-fix");
        proxy.Publish(b => b.Cluster("a", "bad"));
        using var call = Client.StreamAggregatedResources(cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = AdsServiceUnderTest.Node(proxy.Id), TypeUrl = XdsTypes.Cluster, ResourceNames = { "a" } }, Ct).Within10s("the request to be sent");
        var bad = await NextAsync(call, "the bad CDS");

        await call.RequestStream.WriteAsync(Sotw.Nack(bad, "", "Unsupported type STATIC", "a"), Ct).Within10s("the request to be sent");
        await call.RequestStream.WriteAsync(Sotw.Request(XdsTypes.Secret, SnapshotBuilder.ProbeSecret), Ct).Within10s("the request to be sent");
        Assert.Equal(XdsTypes.Secret, (await NextAsync(call, "the probe")).TypeUrl);
        Assert.Equal([new Answer(XdsTypes.Cluster, bad.VersionInfo, "Unsupported type STATIC")], proxy.Nacks);

        proxy.Publish(b => b.Cluster("a", "good"));
        var good = await NextAsync(call, "the fixed CDS");
        Assert.Equal(XdsTypes.Cluster, good.TypeUrl);
        await call.RequestStream.WriteAsync(Sotw.Ack(good, "a"), Ct).Within10s("the request to be sent");
        await proxy.WaitUntilAsync(p => p.Acks.Any(a => a.TypeUrl == XdsTypes.Cluster && a.Version == good.VersionInfo), "the ACK of the fix");
    }

    [Fact]
    public async Task DeltaAggregatedResources_Reconnect_InitialVersionsHonoured()
    {
        var proxy = server.Source.Proxy("default.delta-reconnect");
        proxy.Publish(b => b.Cluster("a").Cluster("b"));
        var held = new Dictionary<string, string>();
        using (var call = Client.DeltaAggregatedResources(cancellationToken: Ct))
        {
            await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { Node = AdsServiceUnderTest.Node(proxy.Id), TypeUrl = XdsTypes.Cluster }, Ct).Within10s("the request to be sent");
            await call.ResponseStream.MoveNext(Ct).Within10s("the first CDS");
            foreach (var r in call.ResponseStream.Current.Resources)
            {
                held[r.Name] = r.Version;
            }
        }
        proxy.Publish(b => b.Cluster("a").Cluster("b", "2"));

        using var again = Client.DeltaAggregatedResources(cancellationToken: Ct);
        await again.RequestStream.WriteAsync(new DeltaDiscoveryRequest { Node = AdsServiceUnderTest.Node(proxy.Id), TypeUrl = XdsTypes.Cluster, InitialResourceVersions = { held } }, Ct).Within10s("the request to be sent");
        await again.ResponseStream.MoveNext(Ct).Within10s("the CDS after reconnecting");

        Assert.Equal(["b=2"], Delta.Versions(again.ResponseStream.Current));
    }

    private static async Task<DiscoveryResponse> NextAsync(AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call, string what)
    {
        Assert.True(await call.ResponseStream.MoveNext(Ct).Within10s(what), $"the stream ended before {what}");
        return call.ResponseStream.Current;
    }
}
