using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>Zones and the global going away and coming back: nothing is lost, and a reconnect resyncs both ways.</summary>
public sealed class ZoneLifecycleTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Mesh => Seed.Mesh;

    [Fact(Timeout = 60_000)]
    public async Task Kill_Zone_OfflineWithinTimeoutAndItsStateStaysOnBothSides()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        await Seed.ApplyAsync(cluster, Ct);
        var zone1 = cluster["zone-1"];

        cluster.BeginPhase("zone-1 killed");
        await zone1.KillAsync();
        await cluster.WaitForZoneStatusAsync("zone-1", "Offline", Ct, timeout: cluster.Options.OfflineTimeout * 3);
        Assert.NotNull(await cluster.Global.TryGetAsync(Manifests.DataplanePath(Mesh, "backend-1.zone-1"), Ct));
        Assert.NotNull(await cluster.Global.TryGetAsync(Manifests.IngressPath("ingress-1.zone-1"), Ct));
        Assert.NotNull(await cluster["zone-2"].TryGetAsync(Manifests.IngressPath("ingress-1.zone-1"), Ct));
        Assert.NotNull(await cluster["zone-2"].TryGetAsync(Manifests.PolicyPath(Mesh, "allow-web"), Ct));
        var overview = await cluster.Global.OverviewAsync("zone-2", Ct);
        Assert.Equal("Online", overview!["status"]!.GetValue<string>());

        cluster.BeginPhase("zone-1 restarted on the same ports and data");
        await zone1.StartAsync(Ct);
        await cluster.WaitForZoneStatusAsync("zone-1", "Online", Ct);
        Assert.NotNull(await zone1.TryGetAsync(Manifests.PolicyPath(Mesh, "allow-web"), Ct));
        Assert.NotNull(await zone1.TryGetAsync(Manifests.DataplanePath(Mesh, "backend-1"), Ct));
        Assert.NotNull(await cluster.Global.TryGetAsync(Manifests.DataplanePath(Mesh, "backend-1.zone-1"), Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Partition_Zone_OfflineAfterTimeoutKeepsServingAndStaleStreamsClosedOnHeal()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        await Seed.ApplyAsync(cluster, Ct);
        var zone1 = cluster["zone-1"];
        var before = MultiZoneFixture.LastSubscription(await cluster.Global.OverviewAsync("zone-1", Ct))!["id"]!.GetValue<string>();

        cluster.BeginPhase("zone-1's network cut (open connections frozen, nothing closed)");
        zone1.Link.Partition();
        var offline = await cluster.WaitForZoneStatusAsync("zone-1", "Offline", Ct, timeout: cluster.Options.OfflineTimeout * 4);
        // The global never saw the streams end: Offline comes from the health-check timeout alone.
        var stale = MultiZoneFixture.LastSubscription(offline)!;
        Assert.Equal(before, stale["id"]!.GetValue<string>());
        Assert.Null(stale["disconnectTime"]);

        cluster.BeginPhase("zone-1 partitioned: it keeps serving its last state");
        await cluster.WaitForAsync("zone-1 reports it is disconnected, with the reason",
            zone1.KdsStatusAsync, s => s["connected"]!.GetValue<bool>() == false && s["lastError"] is not null, Ct);
        Assert.NotNull(await zone1.TryGetAsync(Manifests.PolicyPath(Mesh, "allow-web"), Ct));
        Assert.NotNull(await zone1.TryGetAsync(Manifests.MeshPath(Mesh), Ct));
        Assert.NotNull(await cluster.Global.TryGetAsync(Manifests.DataplanePath(Mesh, "backend-1.zone-1"), Ct));
        Assert.NotNull(await cluster["zone-2"].TryGetAsync(Manifests.IngressPath("ingress-1.zone-1"), Ct));

        cluster.BeginPhase("zone-1's network healed");
        zone1.Link.Heal();
        var online = await cluster.WaitForZoneStatusAsync("zone-1", "Online", Ct);
        var subscriptions = online!["zoneInsight"]!["subscriptions"]!.AsArray();
        var closed = subscriptions.Single(s => s!["id"]!.GetValue<string>() == before);
        Assert.True(closed!["disconnectTime"] is not null, $"the stale subscription was not closed: {closed}");
        Assert.NotEqual(before, MultiZoneFixture.LastSubscription(online)!["id"]!.GetValue<string>());
        Assert.Contains(cluster.Global.Logs.WithEvent("ZoneStaleConnection"), e => e.Message.Contains("zone-1", StringComparison.Ordinal));

        cluster.BeginPhase("after the heal: sync works again");
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "after-heal"), Manifests.AllowFrom(Mesh, "after-heal", "web"), Ct);
        await cluster.WaitForResourceAsync(zone1, Manifests.PolicyPath(Mesh, "after-heal"), "policy created after the heal", Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Restart_Zone_ChangesMadeOnGlobalWhileAwayAreResynced()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        await Seed.ApplyAsync(cluster, Ct);
        var zone1 = cluster["zone-1"];

        cluster.BeginPhase("zone-1 killed; the global deletes allow-web and creates while-away");
        await zone1.KillAsync();
        await cluster.Global.DeleteAsync(Manifests.PolicyPath(Mesh, "allow-web"), Ct);
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "while-away"), Manifests.AllowFrom(Mesh, "while-away", "web"), Ct);
        await cluster.WaitForAbsentAsync(cluster["zone-2"], Manifests.PolicyPath(Mesh, "allow-web"), "deleted on the global (zone-2 is connected)", Ct);

        cluster.BeginPhase("zone-1 restarted with the state it had");
        await zone1.StartAsync(Ct);
        await cluster.WaitForAbsentAsync(zone1, Manifests.PolicyPath(Mesh, "allow-web"), "deleted on the global while zone-1 was down", Ct);
        await cluster.WaitForResourceAsync(zone1, Manifests.PolicyPath(Mesh, "while-away"), "created on the global while zone-1 was down", Ct);
        // Its own Dataplane survived the restart (it was never re-sent by the global): the store was kept, and the
        // deletion above came from the full-state resync, not from an empty start.
        Assert.NotNull(await zone1.TryGetAsync(Manifests.DataplanePath(Mesh, "backend-1"), Ct));
        await cluster.WaitForZoneStatusAsync("zone-1", "Online", Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Restart_Global_ChangesMadeOnZoneWhileAwayAreResynced()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        await Seed.ApplyAsync(cluster, Ct);
        var zone1 = cluster["zone-1"];
        await zone1.ApplyAsync(Manifests.DataplanePath(Mesh, "backend-2"), Manifests.Dataplane(Mesh, "backend-2"), Ct);
        await cluster.WaitForResourceAsync(cluster.Global, Manifests.DataplanePath(Mesh, "backend-2.zone-1"), "second Dataplane synced", Ct);

        cluster.BeginPhase("global killed");
        await cluster.Global.KillAsync();
        foreach (var zone in cluster.Zones)
        {
            await cluster.WaitForAsync($"{zone.Name} notices the global is gone", zone.KdsStatusAsync, s => s["connected"]!.GetValue<bool>() == false, Ct);
            Assert.NotNull(await zone.TryGetAsync(Manifests.PolicyPath(Mesh, "allow-web"), Ct));
        }

        cluster.BeginPhase("global down: zone-1 deletes backend-1 and registers backend-3");
        await zone1.DeleteAsync(Manifests.DataplanePath(Mesh, "backend-1"), Ct);
        await zone1.ApplyAsync(Manifests.DataplanePath(Mesh, "backend-3"), Manifests.Dataplane(Mesh, "backend-3"), Ct);

        cluster.BeginPhase("global restarted on the same ports and data");
        await cluster.Global.StartAsync(Ct);
        await cluster.WaitForAbsentAsync(cluster.Global, Manifests.DataplanePath(Mesh, "backend-1.zone-1"), "deleted on zone-1 while the global was down", Ct);
        await cluster.WaitForResourceAsync(cluster.Global, Manifests.DataplanePath(Mesh, "backend-3.zone-1"), "registered on zone-1 while the global was down", Ct);
        Assert.NotNull(await cluster.Global.TryGetAsync(Manifests.DataplanePath(Mesh, "backend-2.zone-1"), Ct));
        foreach (var zone in cluster.Zones)
        {
            await cluster.WaitForZoneStatusAsync(zone.Name, "Online", Ct);
            Assert.NotNull(await zone.TryGetAsync(Manifests.PolicyPath(Mesh, "allow-web"), Ct));
        }

        cluster.BeginPhase("after the global's restart: a new policy still reaches every zone");
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "after-restart"), Manifests.AllowFrom(Mesh, "after-restart", "web"), Ct);
        foreach (var zone in cluster.Zones)
        {
            await cluster.WaitForResourceAsync(zone, Manifests.PolicyPath(Mesh, "after-restart"), "policy created after the global restarted", Ct);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Restart_GlobalGracefully_ZonesReconnectAndTheOldSubscriptionIsClosed()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        var first = MultiZoneFixture.LastSubscription(await cluster.Global.OverviewAsync("zone-1", Ct))!["id"]!.GetValue<string>();

        cluster.BeginPhase("global stopped gracefully and started again");
        await cluster.Global.RestartAsync(Ct);
        var online = await cluster.WaitForAsync("zone-1 Online on a new subscription",
            ct => cluster.Global.OverviewAsync("zone-1", ct),
            o => o?["status"]?.GetValue<string>() == "Online" && MultiZoneFixture.LastSubscription(o)?["id"]?.GetValue<string>() != first,
            Ct);
        var old = online!["zoneInsight"]!["subscriptions"]!.AsArray().Single(s => s!["id"]!.GetValue<string>() == first);
        Assert.True(old!["disconnectTime"] is not null, $"a graceful stop records the disconnect: {old}");
        await cluster.WaitForZoneStatusAsync("zone-2", "Online", Ct);
    }
}
