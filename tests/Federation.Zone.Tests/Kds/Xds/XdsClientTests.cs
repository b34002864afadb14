using Envoy.Config.Cluster.V3;
using Federation.Kds.Xds;
using Federation.Zone.Tests.Xds.Server.Fakes;
using Federation.Zone.Xds.Server;

namespace Federation.Zone.Tests.Kds.Xds;

/// <summary>Our xDS client against the ADS service on real Kestrel.</summary>
public sealed class XdsClientTests(KestrelAdsFixture server) : IClassFixture<KestrelAdsFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private XdsClient NewClient(string nodeId, XdsProtocol protocol = XdsProtocol.StateOfTheWorld, XdsResponseValidator? validator = null) =>
        new(server.Channel, new XdsClientOptions
        {
            Node = AdsServiceUnderTest.Node(nodeId),
            Protocol = protocol,
            Validator = validator,
            MinBackoff = TimeSpan.FromMilliseconds(10),
            MaxBackoff = TimeSpan.FromMilliseconds(100),
        });

    private static Task<XdsClientSnapshot> HoldsAsync(XdsClient client, Func<XdsClientSnapshot, bool> condition, string what) =>
        client.WaitForAsync(condition, Ct).Within10s($"{client.NodeId} to hold {what}");

    /// <summary>(Re)subscribes to the probe secret and waits for it: a barrier behind every earlier request and decision.</summary>
    private static async Task<XdsClientSnapshot> ProbeAsync(XdsClient client)
    {
        await client.UnsubscribeAsync(XdsTypes.Secret, [SnapshotBuilder.ProbeSecret], Ct).Within10s("the Unsubscribe request");
        await client.SubscribeAsync(XdsTypes.Secret, [SnapshotBuilder.ProbeSecret], Ct).Within10s("the Subscribe request");
        return await HoldsAsync(client, s => s.Of(XdsTypes.Secret).Resources.Count == 1, "the probe secret");
    }

    private static string[] Names(XdsClientSnapshot snapshot, string typeUrl) => [.. snapshot.Of(typeUrl).Resources.Keys.Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData(XdsProtocol.StateOfTheWorld)]
    [InlineData(XdsProtocol.Delta)]
    public async Task SubscribeAsync_WildcardAndNames_HoldsWhatWasAskedAndAcksIt(XdsProtocol protocol)
    {
        var proxy = server.Source.Proxy($"default.subscribe-{protocol}");
        proxy.Publish(b => b.Listener("l1").Listener("l2").Cluster("c1").Cluster("c2"));
        await using var client = NewClient(proxy.Id, protocol);
        await client.SubscribeAsync(XdsTypes.Listener, cancellationToken: Ct).Within10s("the Subscribe request");
        await client.SubscribeAsync(XdsTypes.Cluster, ["c1"], Ct).Within10s("the Subscribe request");

        client.Start();

        var held = await HoldsAsync(client, s => s.Of(XdsTypes.Listener).Resources.Count == 2 && s.Of(XdsTypes.Cluster).Resources.Count == 1, "2 listeners and 1 cluster");
        Assert.Equal(["l1", "l2"], Names(held, XdsTypes.Listener));
        Assert.Equal(["c1"], Names(held, XdsTypes.Cluster));
        Assert.Equal("c1", held.Of(XdsTypes.Cluster).Resources["c1"].Resource.Unpack<Cluster>().Name);
        await proxy.WaitUntilAsync(p => p.Acks.Select(a => a.TypeUrl).Distinct().Count() == 2, "ACKs of LDS and CDS");
        Assert.True(client.Connected);
        Assert.Empty(proxy.Nacks);
    }

    [Theory]
    [InlineData(XdsProtocol.StateOfTheWorld)]
    [InlineData(XdsProtocol.Delta)]
    public async Task Start_SnapshotChanges_HoldsTheNewVersionAndRaisesUpdated(XdsProtocol protocol)
    {
        var proxy = server.Source.Proxy($"default.update-{protocol}");
        proxy.Publish(b => b.Cluster("a").Cluster("b"));
        await using var client = NewClient(proxy.Id, protocol);
        var updates = new List<XdsUpdate>();
        var updated = new Pulse();
        client.Updated += (_, u) =>
        {
            lock (updates)
            {
                updates.Add(u);
            }
            updated.Set();
        };
        await client.SubscribeAsync(XdsTypes.Cluster, cancellationToken: Ct).Within10s("the Subscribe request");
        client.Start();
        await HoldsAsync(client, s => s.Of(XdsTypes.Cluster).Resources.Count == 2, "a and b");

        proxy.Publish(b => b.Cluster("a", "2"));

        var held = await HoldsAsync(client, s => s.Of(XdsTypes.Cluster).Resources.Count == 1, "only a");
        Assert.Equal(proxy.Current.VersionOf(XdsTypes.Cluster), held.Of(XdsTypes.Cluster).Version);
        await proxy.WaitUntilAsync(p => p.Acks.Count == 2, "two CDS ACKs");
        await updated.WaitUntilAsync(() => { lock (updates) { return updates.Count == 2; } }, "two Updated events");
        lock (updates)
        {
            Assert.All(updates, u => Assert.True(u.Accepted));
        }
    }

    [Theory]
    [InlineData(XdsProtocol.StateOfTheWorld)]
    [InlineData(XdsProtocol.Delta)]
    public async Task Validator_RejectsResponse_NacksKeepsWhatItHadThenAcceptsTheFix(XdsProtocol protocol)
    {
        var proxy = server.Source.Proxy($"default.validator-{protocol}");
        proxy.Publish(b => b.Cluster("a", "1", connectTimeoutSeconds: 1));
        await using var client = NewClient(proxy.Id, protocol, (_, resources) =>
            resources.FirstOrDefault(r => r.Resource.Unpack<Cluster>().ConnectTimeout.Seconds == 0) is { } bad ? $"cluster {bad.Name}: connect_timeout must be positive" : null);
        await client.SubscribeAsync(XdsTypes.Cluster, ["a"], Ct).Within10s("the Subscribe request");
        client.Start();
        var good = await HoldsAsync(client, s => s.Of(XdsTypes.Cluster).Resources.ContainsKey("a"), "cluster a");

        proxy.Publish(b => b.Cluster("a", "2", connectTimeoutSeconds: 0));

        await proxy.WaitUntilAsync(p => p.Nacks.Count == 1, "the NACK");
        Assert.Equal("cluster a: connect_timeout must be positive", proxy.Nacks[0].Reason);
        var afterNack = await HoldsAsync(client, s => s.Of(XdsTypes.Cluster).LastError is not null, "the NACK reason");
        Assert.Equal(good.Of(XdsTypes.Cluster).Resources["a"], afterNack.Of(XdsTypes.Cluster).Resources["a"]);

        proxy.Publish(b => b.Cluster("a", "3", connectTimeoutSeconds: 5));

        var fixedState = await HoldsAsync(client, s => s.Of(XdsTypes.Cluster).Resources["a"].Resource.Unpack<Cluster>().ConnectTimeout.Seconds == 5, "the fixed cluster");
        Assert.Null(fixedState.Of(XdsTypes.Cluster).LastError);
        await proxy.WaitUntilAsync(p => p.Acks.Count == 2, "the ACK of the fix");
        Assert.Single(proxy.Nacks);
    }

    [Theory]
    [InlineData(XdsProtocol.StateOfTheWorld)]
    [InlineData(XdsProtocol.Delta)]
    public async Task UnsubscribeAsync_LastName_DropsItAndServerStopsSending(XdsProtocol protocol)
    {
        var proxy = server.Source.Proxy($"default.unsubscribe-{protocol}");
        proxy.Publish(b => b.Endpoints("e"));
        await using var client = NewClient(proxy.Id, protocol);
        await client.SubscribeAsync(XdsTypes.ClusterLoadAssignment, ["e"], Ct).Within10s("the Subscribe request");
        client.Start();
        await HoldsAsync(client, s => s.Of(XdsTypes.ClusterLoadAssignment).Resources.Count == 1, "e");
        await proxy.WaitUntilAsync(p => p.Acks.Count == 1, "the EDS ACK");

        await client.UnsubscribeAsync(XdsTypes.ClusterLoadAssignment, ["e"], Ct).Within10s("the Unsubscribe request");
        Assert.Empty(client.Current.Of(XdsTypes.ClusterLoadAssignment).Resources);
        // Requests are handled in order: once the probe is answered, the unsubscribe was handled.
        await ProbeAsync(client);
        proxy.Publish(b => b.Endpoints("e", "2"));
        await proxy.Watches[^1].ObservedAsync(proxy.Current.Version);

        var held = await ProbeAsync(client);
        Assert.Empty(held.Of(XdsTypes.ClusterLoadAssignment).Resources);
        Assert.Single(proxy.Sent, s => s.TypeUrl == XdsTypes.ClusterLoadAssignment);
    }

    [Theory]
    [InlineData(XdsProtocol.StateOfTheWorld)]
    [InlineData(XdsProtocol.Delta)]
    public async Task Start_ServerEndsStream_ReconnectsSayingWhatItHoldsAndNothingIsResent(XdsProtocol protocol)
    {
        var proxy = server.Source.Proxy($"default.reconnect-{protocol}");
        proxy.Publish(b => b.Listener("l").Cluster("c1").Cluster("c2"));
        await using var client = NewClient(proxy.Id, protocol);
        await client.SubscribeAsync(XdsTypes.Listener, cancellationToken: Ct).Within10s("the Subscribe request");
        await client.SubscribeAsync(XdsTypes.Cluster, cancellationToken: Ct).Within10s("the Subscribe request");
        client.Start();
        await HoldsAsync(client, s => s.Of(XdsTypes.Listener).Resources.Count == 1 && s.Of(XdsTypes.Cluster).Resources.Count == 2, "l, c1 and c2");
        await proxy.WaitUntilAsync(p => p.Acks.Count == 2, "both ACKs");
        Assert.Equal(1, client.Connections);

        proxy.Kick();

        await proxy.WaitUntilAsync(p => p.Watches.Count == 2, "the second stream");
        var held = await ProbeAsync(client);
        Assert.Equal(2, client.Connections);
        Assert.Equal(2, held.Of(XdsTypes.Cluster).Resources.Count);
        Assert.Single(proxy.Sent, s => s.TypeUrl == XdsTypes.Listener);
        Assert.Single(proxy.Sent, s => s.TypeUrl == XdsTypes.Cluster);

        proxy.Publish(b => b.Listener("l").Cluster("c1").Cluster("c2", "2"));
        await HoldsAsync(client, s => s.Of(XdsTypes.Cluster).Version == proxy.Current.VersionOf(XdsTypes.Cluster), "the new CDS version");
        if (protocol == XdsProtocol.Delta)
        {
            Assert.Equal((XdsTypes.Cluster, proxy.Current.VersionOf(XdsTypes.Cluster), 1), proxy.Sent[^1]);
        }
    }

    [Fact]
    public async Task Start_ManyClientsShareOneChannel_EveryOneReceivesAndAcks()
    {
        const int Clients = 250; // above Kestrel's default of 100 streams per HTTP/2 connection
        var clients = new List<XdsClient>();
        try
        {
            for (var i = 0; i < Clients; i++)
            {
                var proxy = server.Source.Proxy($"default.many-{i}");
                proxy.Publish(b => b.Listener($"listener-{proxy.Id}"));
                var client = NewClient(proxy.Id);
                await client.SubscribeAsync(XdsTypes.Listener, cancellationToken: Ct).Within10s("the Subscribe request");
                clients.Add(client);
                client.Start();
            }

            await Task.WhenAll(clients.Select(c => HoldsAsync(c, s => s.Of(XdsTypes.Listener).Resources.ContainsKey($"listener-{c.NodeId}"), "its listener")));
            await Task.WhenAll(clients.Select(c => server.Source.Proxy(c.NodeId).WaitUntilAsync(p => p.Acks.Count == 1, "the LDS ACK")));
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask())).Within10s("the clients to stop");
        }
    }
}
