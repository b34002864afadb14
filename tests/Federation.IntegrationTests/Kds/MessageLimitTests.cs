using System.Text.RegularExpressions;
using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>A response over the KDS message limit fails for its type only, with an error naming type, size and count.</summary>
public sealed partial class MessageLimitTests
{
    private const string Mesh = "limits";
    private const int Limit = 4096;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string SecretManifest(string name, int bytes) => $"""
        type: Secret
        mesh: {Mesh}
        name: {name}
        data: {Convert.ToBase64String(new byte[bytes])}
        """;

    [GeneratedRegex(@"the Secret response is (?<size>\d+) bytes with (?<count>\d+) resources, above the (?<limit>\d+)-byte message limit")]
    private static partial Regex TooLarge();

    [Fact(Timeout = 60_000)]
    public async Task Send_SecretsOverTheLimit_FailNamingTypeSizeAndCountWhileOtherTypesSync()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(new MultiZoneOptions { Zones = ["zone-1"], GlobalMaxMessageBytes = Limit }, Ct);
        var zone = cluster["zone-1"];
        await cluster.Global.ApplyAsync(Manifests.MeshPath(Mesh), Manifests.Mesh(Mesh), Ct);

        cluster.BeginPhase("a Secret larger than the limit, then a policy");
        await cluster.Global.ApplyAsync($"/meshes/{Mesh}/secrets/big", SecretManifest("big", Limit * 2), Ct);
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "after-big"), Manifests.AllowFrom(Mesh, "after-big", "web"), Ct);
        await cluster.WaitForResourceAsync(zone, Manifests.PolicyPath(Mesh, "after-big"), "a policy keeps syncing while Secrets cannot", Ct);

        var overview = await cluster.WaitForAsync("the overview shows why Secrets are not synced",
            ct => cluster.Global.OverviewAsync("zone-1", ct),
            o => MultiZoneFixture.LastSubscription(o)?["status"]?["stat"]?["Secret"]?["lastNackReason"] is not null,
            Ct);
        var reason = MultiZoneFixture.LastSubscription(overview)!["status"]!["stat"]!["Secret"]!["lastNackReason"]!.GetValue<string>();
        var match = TooLarge().Match(reason);
        Assert.True(match.Success, $"the reason does not name type, size and count: {reason}");
        Assert.True(int.Parse(match.Groups["size"].Value, System.Globalization.CultureInfo.InvariantCulture) > Limit, reason);
        // The big Secret plus whatever key material the mesh syncs (e.g. the public dataplane-token key).
        Assert.True(int.Parse(match.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1, reason);
        Assert.Equal(Limit.ToString(System.Globalization.CultureInfo.InvariantCulture), match.Groups["limit"].Value);
        await cluster.WaitForLogAsync(cluster.Global, "KdsResponseTooLarge", m => TooLarge().IsMatch(m), "the error naming type, size and count", Ct);
        Assert.Empty(await zone.ListNamesAsync($"/meshes/{Mesh}/secrets", Ct));
        Assert.Equal("Online", overview!["status"]!.GetValue<string>());

        cluster.BeginPhase("the big Secret replaced by a small one");
        await cluster.Global.DeleteAsync($"/meshes/{Mesh}/secrets/big", Ct);
        await cluster.Global.ApplyAsync($"/meshes/{Mesh}/secrets/small", SecretManifest("small", 64), Ct);
        await cluster.WaitForResourceAsync(zone, $"/meshes/{Mesh}/secrets/small", "Secrets sync again once they fit", Ct);
        Assert.Null(await zone.TryGetAsync($"/meshes/{Mesh}/secrets/big", Ct));
    }

    [GeneratedRegex(@"the Dataplane response is (?<size>\d+) bytes with (?<count>\d+) resources, above the 4096-byte message limit")]
    private static partial Regex DataplanesTooLarge();

    /// <summary>
    /// Registers 40 Dataplanes one by one (each delta fits), then restarts the zone so its full state of Dataplanes
    /// (about 8 KB) exceeds the limit, and registers an ingress after the restart.
    /// </summary>
    private static async Task<ZoneNode> OutgrowTheLimitAsync(MultiZoneFixture cluster)
    {
        var zone = cluster["zone-1"];
        await cluster.Global.ApplyAsync(Manifests.MeshPath(Mesh), Manifests.Mesh(Mesh), Ct);
        await cluster.WaitForResourceAsync(zone, Manifests.MeshPath(Mesh), "mesh synced", Ct);
        cluster.BeginPhase("40 Dataplanes registered one at a time");
        for (var i = 0; i < 40; i++)
        {
            // One at a time, so each delta holds one Dataplane and fits.
            await zone.ApplyAsync(Manifests.DataplanePath(Mesh, $"dp-{i}"), Manifests.Dataplane(Mesh, $"dp-{i}", 20000 + i), Ct);
            await cluster.WaitForResourceAsync(cluster.Global, Manifests.DataplanePath(Mesh, $"dp-{i}.zone-1"), "synced as a small delta", Ct);
        }
        cluster.BeginPhase("zone-1 restarted: its Dataplane full state no longer fits; then an ingress");
        await zone.RestartAsync(Ct);
        await zone.ApplyAsync(Manifests.IngressPath("ingress-1"), Manifests.ZoneIngress("ingress-1", Mesh), Ct);
        return zone;
    }

    [Fact(Timeout = 60_000)]
    public async Task Send_ZoneFullStateOverTheLimit_ZoneReportsTypeSizeAndCountWhileIngressesSync()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(new MultiZoneOptions { Zones = ["zone-1"], GlobalMaxMessageBytes = Limit, ZoneMaxMessageBytes = Limit }, Ct);
        var zone = await OutgrowTheLimitAsync(cluster);

        await cluster.WaitForResourceAsync(cluster.Global, Manifests.IngressPath("ingress-1.zone-1"), "the ingress registered after the restart", Ct);
        var error = await cluster.WaitForLogAsync(zone, "KdsResponseTooLarge", m => DataplanesTooLarge().IsMatch(m), "the Dataplane full state refused with type, size and count", Ct);
        Assert.Equal("40", DataplanesTooLarge().Match(error.Message).Groups["count"].Value);
        // Nothing was lost on the global: it keeps the last Dataplanes it had.
        Assert.Equal(40, (await cluster.Global.ListNamesAsync(Manifests.DataplanesPath(Mesh), Ct)).Count);
        // The new connection's insight is flushed shortly after it connects; from then on it must stay Online.
        await cluster.WaitForAsync("zone-1 Online again after the restart", ct => cluster.Global.OverviewAsync("zone-1", ct),
            o => o?["status"]?.GetValue<string>() == "Online", Ct);
        await cluster.HoldsForAsync("zone-1 stays Online (one connection since the restart)", cluster.Options.OfflineTimeout,
            ct => cluster.Global.OverviewAsync("zone-1", ct), o => o?["status"]?.GetValue<string>() == "Online", Ct);
        Assert.Equal(1, zone.KdsState.Connections);
    }

    [Fact(Timeout = 60_000)]
    public async Task Send_ZoneFullStateOverTheGlobalsSmallerLimit_OtherTypesStillSync()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(new MultiZoneOptions { Zones = ["zone-1"], GlobalMaxMessageBytes = Limit }, Ct);
        var zone = await OutgrowTheLimitAsync(cluster);

        await cluster.WaitForResourceAsync(cluster.Global, Manifests.IngressPath("ingress-1.zone-1"), "the ingress registered after the restart", Ct);
        await cluster.WaitForLogAsync(zone, "KdsResponseTooLarge", m => DataplanesTooLarge().IsMatch(m), "the Dataplane full state refused with type, size and count", Ct);
    }
}
