using System.Net;
using System.Text.Json.Nodes;
using Envoy.Service.Discovery.V3;
using Federation.IntegrationTests.Fixture;
using Grpc.Core;

namespace Federation.IntegrationTests.Kds;

/// <summary>Operating on zones through the global's API: disabling one, deleting one.</summary>
public sealed class ZoneRegistryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Mesh => Seed.Mesh;

    private static string ZoneManifest(string name, bool enabled) => $"""
        type: Zone
        name: {name}
        enabled: {(enabled ? "true" : "false")}
        """;

    [Fact(Timeout = 60_000)]
    public async Task Disable_Zone_StopsRelayingItsIngressUntilEnabledAgain()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        await Seed.ApplyAsync(cluster, Ct);
        var zone2 = cluster["zone-2"];

        cluster.BeginPhase("zone-1 disabled on the global");
        await cluster.Global.ApplyAsync("/zones/zone-1", ZoneManifest("zone-1", enabled: false), Ct);
        await cluster.WaitForAbsentAsync(zone2, Manifests.IngressPath("ingress-1.zone-1"), "zone-1 is disabled", Ct);
        Assert.NotNull(await cluster.Global.TryGetAsync(Manifests.IngressPath("ingress-1.zone-1"), Ct));
        var overview = await cluster.Global.OverviewAsync("zone-1", Ct);
        Assert.False(overview!["zone"]!["enabled"]!.GetValue<bool>());
        // A disabled zone stays connected and keeps receiving policies.
        Assert.Equal("Online", overview["status"]!.GetValue<string>());
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "while-disabled"), Manifests.AllowFrom(Mesh, "while-disabled", "web"), Ct);
        await cluster.WaitForResourceAsync(cluster["zone-1"], Manifests.PolicyPath(Mesh, "while-disabled"), "policy created while zone-1 is disabled", Ct);

        cluster.BeginPhase("zone-1 enabled again");
        await cluster.Global.ApplyAsync("/zones/zone-1", ZoneManifest("zone-1", enabled: true), Ct);
        await cluster.WaitForResourceAsync(zone2, Manifests.IngressPath("ingress-1.zone-1"), "zone-1 is enabled again", Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Delete_Zone_RefusedWhileOnlineThenRemovesEverythingItSynced()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        await Seed.ApplyAsync(cluster, Ct);

        cluster.BeginPhase("deleting zone-1 while it is Online");
        using (var refused = await cluster.Global.Api.DeleteAsync("/zones/zone-1", Ct))
        {
            var body = await refused.Content.ReadAsStringAsync(Ct);
            Assert.True(refused.StatusCode == HttpStatusCode.Conflict, $"expected 409, got {(int)refused.StatusCode}: {body}");
            Assert.Contains("zone 'zone-1' is online", JsonNode.Parse(body)!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        Assert.NotNull(await cluster.Global.TryGetAsync(Manifests.DataplanePath(Mesh, "backend-1.zone-1"), Ct));

        cluster.BeginPhase("zone-1 killed, then deleted once Offline");
        await cluster["zone-1"].KillAsync();
        await cluster.WaitForZoneStatusAsync("zone-1", "Offline", Ct, timeout: cluster.Options.OfflineTimeout * 3);
        await cluster.Global.DeleteAsync("/zones/zone-1", Ct);

        Assert.Null(await cluster.Global.TryGetAsync("/zones/zone-1", Ct));
        Assert.Null(await cluster.Global.TryGetAsync("/zoneinsights/zone-1", Ct));
        Assert.Empty(await cluster.Global.ListNamesAsync(Manifests.DataplanesPath(Mesh), Ct));
        Assert.Empty(await cluster.Global.ListNamesAsync(Manifests.IngressesPath, Ct));
        await cluster.WaitForAbsentAsync(cluster["zone-2"], Manifests.IngressPath("ingress-1.zone-1"), "zone-1 was deleted on the global", Ct);
        Assert.NotNull(await cluster.Global.TryGetAsync(Manifests.PolicyPath(Mesh, "allow-web"), Ct));
        Assert.Equal(["zone-2"], await cluster.Global.ListNamesAsync("/zones", Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Connect_SecondConnectionOfSameZone_ClosesTheFirstAsStale()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(new MultiZoneOptions { Zones = [] }, Ct);
        var token = await cluster.Global.IssueZoneTokenAsync("zone-9", "24h", Ct);
        var (channel, client) = cluster.Global.CreateKdsClient();
        using var _ = channel;
        Metadata Connection(string id) => new() { { "authorization", $"Bearer {token}" }, { "kds-zone", "zone-9" }, { "kds-connection", id } };

        cluster.BeginPhase("first connection of zone-9 subscribes to meshes");
        using var first = client.GlobalToZone(Connection("first"), cancellationToken: Ct);
        var subscribe = new DeltaDiscoveryRequest { TypeUrl = "Mesh" };
        subscribe.ResourceNamesSubscribe.Add("*");
        await first.RequestStream.WriteAsync(subscribe, Ct);
        Assert.True(await first.ResponseStream.MoveNext(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal("Mesh", first.ResponseStream.Current.TypeUrl);

        cluster.BeginPhase("a second connection of zone-9 (the first is now a stale duplicate)");
        using var second = client.GlobalToZone(Connection("second"), cancellationToken: Ct);
        await second.RequestStream.WriteAsync(subscribe, Ct);
        Assert.True(await second.ResponseStream.MoveNext(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct));
        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await first.ResponseStream.MoveNext(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct))
            {
            }
        });
        Assert.Equal(StatusCode.Aborted, ended.StatusCode);
        Assert.Contains("replaced by a newer connection", ended.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(cluster.Global.Logs.WithEvent("ZoneStaleConnection"), e => e.Message.Contains("zone-9", StringComparison.Ordinal));
    }
}
