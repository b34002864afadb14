using Federation.Kds.Conversion;
using Federation.Kds.Streams;
using static Federation.Kds.Tests.Fakes.TestResources;

namespace Federation.Kds.Tests.Streams;

public sealed class KdsResponderTests
{
    private const string Mtp = "MeshTrafficPermission";
    private const string MeshType = "Mesh";
    private const string Dp = "Dataplane";

    private static string[] Names(Envoy.Service.Discovery.V3.DeltaDiscoveryResponse response) => [.. response.Resources.Select(r => r.Name)];

    [Fact]
    public async Task Run_Subscribe_SendsFullStateFirstWithContentHashVersions()
    {
        await using var h = new ResponderHarness([Mtp, MeshType]);
        var a = Policy("a");
        h.Source.Publish(a, Policy("b"));

        h.Subscribe(Mtp);
        var full = await h.NextAsync(Mtp, "the full state");

        Assert.Equal(KdsConversion.FullStateMarker, full.SystemVersionInfo);
        Assert.Equal(["a.default", "b.default"], Names(full));
        Assert.Empty(full.RemovedResources);
        Assert.Equal(a.ContentHash, full.Resources[0].Version);
        Assert.False(string.IsNullOrEmpty(full.Nonce));
        Assert.Single(h.Observer.Sent, s => s.Type == Mtp && s.Full && s.Resources == 2);
    }

    [Fact]
    public async Task Run_EmptyType_SendsEmptyFullStateSoTheReceiverDropsWhatItHolds()
    {
        await using var h = new ResponderHarness([Mtp]);
        h.Subscribe(Mtp);
        var full = await h.NextAsync(Mtp, "the full state");
        Assert.Equal(KdsConversion.FullStateMarker, full.SystemVersionInfo);
        Assert.Empty(full.Resources);
    }

    [Fact]
    public async Task Run_ChangeAfterAck_SendsOnlyTheDelta()
    {
        await using var h = new ResponderHarness([Mtp, MeshType]);
        h.Source.Publish(Policy("a"), Policy("b"), Policy("c"));
        h.Subscribe(Mtp);
        h.Ack(await h.NextAsync(Mtp, "the full state"));

        h.Source.Publish(Policy("a", fromService: "api"), Policy("c"), Policy("d"));
        var delta = await h.NextAsync(Mtp, "the delta");

        Assert.NotEqual(KdsConversion.FullStateMarker, delta.SystemVersionInfo);
        Assert.Equal(["a.default", "d.default"], Names(delta));
        Assert.Equal(["b.default"], delta.RemovedResources);
    }

    [Fact]
    public async Task Run_SnapshotWithoutChangesToTheType_SendsNothing()
    {
        await using var h = new ResponderHarness([Mtp, MeshType]);
        h.Source.Publish(Policy("a"));
        h.Subscribe(Mtp);
        h.Ack(await h.NextAsync(Mtp, "the full state"));

        // A new view version with identical content, and a change to another type.
        h.Source.Publish(Policy("a"));
        h.Source.Publish(Mesh("default"));

        await h.AssertNothingMoreSentAsync(MeshType);
    }

    [Fact]
    public async Task Run_ResponseInFlight_NextOneWaitsForTheAck()
    {
        await using var h = new ResponderHarness([Mtp, MeshType]);
        h.Source.Publish(Policy("a"));
        h.Subscribe(Mtp);
        var full = await h.NextAsync(Mtp, "the full state");

        h.Source.Publish(Policy("a"), Policy("b"));
        await h.AssertNothingMoreSentAsync(MeshType);

        h.Ack(full);
        var delta = await h.NextAsync(Mtp, "the delta held back until the ACK");
        Assert.Equal(["b.default"], Names(delta));
        Assert.NotEqual(full.Nonce, delta.Nonce);
    }

    [Fact]
    public async Task Run_Nack_CountedAndNotResent()
    {
        await using var h = new ResponderHarness([Mtp, MeshType]);
        h.Source.Publish(Policy("a"), Policy("b"));
        h.Subscribe(Mtp);
        var full = await h.NextAsync(Mtp, "the full state");

        h.Nack(full, "MeshTrafficPermission 'a.default': conflicts");
        await h.AssertNothingMoreSentAsync(MeshType);
        Assert.Equal([(Mtp, "MeshTrafficPermission 'a.default': conflicts")], h.Observer.Nacked);

        h.Source.Publish(Policy("a"), Policy("b"), Policy("c"));
        var delta = await h.NextAsync(Mtp, "the next change");
        Assert.Equal(["c.default"], Names(delta));
    }

    [Fact]
    public async Task Run_AckWithStaleNonce_Ignored()
    {
        await using var h = new ResponderHarness([Mtp, MeshType]);
        h.Source.Publish(Policy("a"));
        h.Subscribe(Mtp);
        var full = await h.NextAsync(Mtp, "the full state");
        h.Source.Publish(Policy("a"), Policy("b"));

        h.Requests.Send(new Envoy.Service.Discovery.V3.DeltaDiscoveryRequest { TypeUrl = Mtp, ResponseNonce = "not-" + full.Nonce });
        await h.AssertNothingMoreSentAsync(MeshType);
        Assert.DoesNotContain(Mtp, h.Observer.Acked);
    }

    [Fact]
    public async Task Run_Resubscribe_SendsFullStateAgain()
    {
        await using var h = new ResponderHarness([Mtp]);
        h.Source.Publish(Policy("a"));
        h.Subscribe(Mtp);
        h.Ack(await h.NextAsync(Mtp, "the full state"));

        h.Subscribe(Mtp);
        var again = await h.NextAsync(Mtp, "a full state after the re-subscription");
        Assert.Equal(KdsConversion.FullStateMarker, again.SystemVersionInfo);
        Assert.Equal(["a.default"], Names(again));
    }

    [Fact]
    public async Task Run_UnknownType_EndsWithProtocolErrorNamingIt()
    {
        await using var h = new ResponderHarness([Mtp]);
        h.Subscribe("Bogus");
        var error = await Assert.ThrowsAsync<KdsProtocolException>(() => h.Run.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.Contains("'Bogus' is not served", error.Message, StringComparison.Ordinal);
        Assert.Contains(Mtp, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AckBeforeSubscribing_EndsWithProtocolError()
    {
        await using var h = new ResponderHarness([Mtp]);
        h.Requests.Send(new Envoy.Service.Discovery.V3.DeltaDiscoveryRequest { TypeUrl = Mtp, ResponseNonce = "1" });
        var error = await Assert.ThrowsAsync<KdsProtocolException>(() => h.Run.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.Contains("before subscribing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_NoAckWithinTimeout_EndsWithTimeout()
    {
        await using var h = new ResponderHarness([Mtp], new KdsStreamOptions { AckTimeout = TimeSpan.FromSeconds(10) });
        h.Source.Publish(Policy("a"));
        h.Subscribe(Mtp);
        await h.NextAsync(Mtp, "the full state");

        h.Time.Advance(TimeSpan.FromSeconds(11));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => h.Run.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.Contains("did not ACK or NACK the MeshTrafficPermission response within 10s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AckedInTime_StreamSurvivesTheAckTimeout()
    {
        await using var h = new ResponderHarness([Mtp, MeshType], new KdsStreamOptions { AckTimeout = TimeSpan.FromSeconds(10) });
        h.Source.Publish(Policy("a"));
        h.Subscribe(Mtp);
        h.Ack(await h.NextAsync(Mtp, "the full state"));
        await h.WaitForAcksAsync(Mtp, 1);

        h.Time.Advance(TimeSpan.FromSeconds(30));
        h.Source.Publish(Policy("a"), Policy("b"));

        Assert.Equal(["b.default"], Names(await h.NextAsync(Mtp, "a delta after the quiet period")));
        Assert.False(h.Run.IsCompleted);
    }

    [Fact]
    public async Task Run_FullResyncInterval_ResendsTheFullState()
    {
        await using var h = new ResponderHarness([Mtp], new KdsStreamOptions { FullResyncInterval = TimeSpan.FromMinutes(1), AckTimeout = TimeSpan.FromMinutes(5) });
        h.Source.Publish(Policy("a"), Policy("b"));
        h.Subscribe(Mtp);
        h.Ack(await h.NextAsync(Mtp, "the full state"));
        await h.WaitForAcksAsync(Mtp, 1);

        h.Time.Advance(TimeSpan.FromSeconds(61));

        var resync = await h.NextAsync(Mtp, "the periodic full state");
        Assert.Equal(KdsConversion.FullStateMarker, resync.SystemVersionInfo);
        Assert.Equal(["a.default", "b.default"], Names(resync));
    }

    [Fact]
    public async Task Run_PeerFilter_LeavesOutResourcesAndRemovesThemWhenTheFilterChanges()
    {
        var hidden = false;
        await using var h = new ResponderHarness([Mtp], peerFilter: _ => c => !(hidden && c.Resource.Name == "b"));
        h.Source.Publish(Policy("a"), Policy("b"));
        h.Subscribe(Mtp);
        h.Ack(await h.NextAsync(Mtp, "the full state"));

        hidden = true;
        h.Source.Publish(Policy("a"), Policy("b"));

        var delta = await h.NextAsync(Mtp, "the removal of the filtered resource");
        Assert.Empty(delta.Resources);
        Assert.Equal(["b.default"], delta.RemovedResources);
    }

    [Fact]
    public async Task Run_ResponseOverTheSizeLimit_ReportsTypeSizeAndCountAndOtherTypesStillSync()
    {
        await using var h = new ResponderHarness([Mtp, MeshType, Dp], new KdsStreamOptions { MaxMessageBytes = 600 });
        h.Source.Publish(Policy("a"), Policy("b"), Policy("c"));
        h.Source.Publish(Mesh("default"));

        h.Subscribe(Mtp);
        h.Subscribe(MeshType);

        var mesh = await h.NextAsync(MeshType, "the Mesh full state (under the limit)");
        Assert.Equal(["default"], Names(mesh));
        await h.AssertNothingMoreSentAsync(Dp);
        var (type, reason) = Assert.Single(h.Observer.SendFailed);
        Assert.Equal(Mtp, type);
        Assert.Matches(@"^the MeshTrafficPermission response is \d+ bytes with 3 resources, above the 600-byte message limit", reason);
        Assert.True(h.Responses.IsDrained);
    }

    [Fact]
    public async Task Run_TypeShrinksUnderTheLimit_SentAgain()
    {
        await using var h = new ResponderHarness([Mtp, MeshType], new KdsStreamOptions { MaxMessageBytes = 600 });
        h.Source.Publish(Policy("a"), Policy("b"), Policy("c"));
        h.Subscribe(Mtp);
        await h.AssertNothingMoreSentAsync(MeshType);

        h.Source.Publish(Policy("a"));

        var full = await h.NextAsync(Mtp, "the full state once it fits");
        Assert.Equal(KdsConversion.FullStateMarker, full.SystemVersionInfo);
        Assert.Equal(["a.default"], Names(full));
    }

    [Fact]
    public async Task Run_PeerClosesItsSide_RunEnds()
    {
        await using var h = new ResponderHarness([Mtp]);
        h.Requests.Complete();
        await h.Run.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Run_SlowWriter_ReadsAndAcksKeepFlowing()
    {
        // One response per type in flight, and a bounded queue of outgoing responses: a writer that is not
        // drained must not block reading the peer's requests.
        await using var h = new ResponderHarness([Mtp, MeshType, Dp]);
        h.Source.Publish(Policy("a"));
        h.Source.Publish(Mesh("default"));
        h.Source.Publish(Dataplane("dp-1"));
        h.Subscribe(Mtp);
        h.Subscribe(MeshType);
        h.Subscribe(Dp);
        var first = await h.Responses.NextAsync("a first full state");
        for (var i = 0; i < 500; i++)
        {
            h.Requests.Send(new Envoy.Service.Discovery.V3.DeltaDiscoveryRequest { TypeUrl = first.TypeUrl, ResponseNonce = "stale-" + i });
        }
        h.Ack(first);
        await h.Responses.NextAsync("the second full state");
        await h.Responses.NextAsync("the third full state");
        Assert.False(h.Run.IsCompleted);
    }
}
