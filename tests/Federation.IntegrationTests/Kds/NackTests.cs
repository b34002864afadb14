using System.Text.Json.Nodes;
using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>A zone that cannot take a resource NACKs it with the reason, applies the rest, and the global shows the NACK.</summary>
public sealed class NackTests
{
    private const string Mesh = "nack";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string? Label(JsonObject resource, string name) => resource["labels"]?[name]?.GetValue<string>();

    private static JsonObject? PolicyStat(JsonObject? overview) =>
        MultiZoneFixture.LastSubscription(overview)?["status"]?["stat"]?["MeshTrafficPermission"] as JsonObject;

    private static async Task<MultiZoneFixture> StartWithMeshAsync()
    {
        var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        await cluster.Global.ApplyAsync(Manifests.MeshPath(Mesh), Manifests.Mesh(Mesh), Ct);
        foreach (var zone in cluster.Zones)
        {
            await cluster.WaitForResourceAsync(zone, Manifests.MeshPath(Mesh), "mesh synced", Ct);
        }
        return cluster;
    }

    [Fact(Timeout = 60_000)]
    public async Task FullState_PolicyNamedLikeZoneLocalOne_NackedWithConflictReasonAndTheRestApplied()
    {
        await using var cluster = await StartWithMeshAsync();
        var zone1 = cluster["zone-1"];

        cluster.BeginPhase("zone-1 has a zone-local policy x; zone-1 stops");
        await zone1.ApplyAsync(Manifests.PolicyPath(Mesh, "x"), Manifests.AllowFrom(Mesh, "x", "web"), Ct);
        await zone1.StopAsync(Ct);

        cluster.BeginPhase("the global creates x and y while zone-1 is away");
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "x"), Manifests.AllowFrom(Mesh, "x", "api"), Ct);
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "y"), Manifests.AllowFrom(Mesh, "y", "api"), Ct);
        await cluster.WaitForResourceAsync(cluster["zone-2"], Manifests.PolicyPath(Mesh, "x"), "x from the global (no conflict in zone-2)", Ct);

        cluster.BeginPhase("zone-1 back: its full state holds x (conflict) and y");
        await zone1.StartAsync(Ct);
        var y = await cluster.WaitForResourceAsync(zone1, Manifests.PolicyPath(Mesh, "y"), "y applied despite x being refused in the same response", Ct);
        Assert.Equal("global", Label(y, "kuma.io/origin"));
        var overview = await cluster.WaitForAsync("zone-1's overview counts the MeshTrafficPermission NACK with its reason",
            ct => cluster.Global.OverviewAsync("zone-1", ct),
            o => PolicyStat(o)?["responsesRejected"]?.GetValue<long>() >= 1,
            Ct);
        var reason = PolicyStat(overview)!["lastNackReason"]!.GetValue<string>();
        Assert.Contains("'x.nack'", reason, StringComparison.Ordinal);
        Assert.Contains("conflicts with a resource created locally", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("y.nack", reason, StringComparison.Ordinal);
        var total = MultiZoneFixture.LastSubscription(overview)!["status"]!["total"]!;
        Assert.True(total["responsesRejected"]!.GetValue<long>() >= 1, $"total does not count the NACK: {total}");

        var local = await zone1.TryGetAsync(Manifests.PolicyPath(Mesh, "x"), Ct);
        Assert.Null(Label(local!, "kuma.io/origin"));
        Assert.Equal("web", local!["spec"]!["from"]![0]!["targetRef"]!["tags"]!["kuma.io/service"]!.GetValue<string>());
        Assert.Contains(zone1.Logs.WithEvent("KdsRejected"), e => e.Message.Contains("'x.nack'", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Delta_ConflictingPolicy_NackedOnceAndLaterChangesStillFlow()
    {
        await using var cluster = await StartWithMeshAsync();
        var zone1 = cluster["zone-1"];
        await zone1.ApplyAsync(Manifests.PolicyPath(Mesh, "z"), Manifests.AllowFrom(Mesh, "z", "web"), Ct);

        cluster.BeginPhase("the global creates z, which zone-1 already has locally");
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "z"), Manifests.AllowFrom(Mesh, "z", "api"), Ct);
        var nacked = await cluster.WaitForAsync("zone-1 NACKed z",
            ct => cluster.Global.OverviewAsync("zone-1", ct),
            o => PolicyStat(o)?["responsesRejected"]?.GetValue<long>() >= 1,
            Ct);
        Assert.Contains("'z.nack'", PolicyStat(nacked)!["lastNackReason"]!.GetValue<string>(), StringComparison.Ordinal);

        cluster.BeginPhase("a later policy w still reaches zone-1, and z is not resent");
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "w"), Manifests.AllowFrom(Mesh, "w", "api"), Ct);
        await cluster.WaitForResourceAsync(zone1, Manifests.PolicyPath(Mesh, "w"), "w created after the NACK", Ct);
        var after = await cluster.WaitForAsync("the ACK of w counted",
            ct => cluster.Global.OverviewAsync("zone-1", ct),
            o => PolicyStat(o)?["responsesAcknowledged"]?.GetValue<long>() > PolicyStat(nacked)!["responsesAcknowledged"]!.GetValue<long>(),
            Ct);
        Assert.Equal(1, PolicyStat(after)!["responsesRejected"]!.GetValue<long>());
        var local = await zone1.TryGetAsync(Manifests.PolicyPath(Mesh, "z"), Ct);
        Assert.Null(Label(local!, "kuma.io/origin"));
        await cluster.WaitForResourceAsync(cluster["zone-2"], Manifests.PolicyPath(Mesh, "z"), "z in zone-2 (no conflict there)", Ct);
    }
}
