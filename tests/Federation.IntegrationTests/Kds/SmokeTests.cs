using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

public sealed class SmokeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Start_TwoZones_BothOnlineAndPolicyFlows()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(null, Ct);
        await cluster.Global.ApplyAsync(Manifests.MeshPath("smoke"), Manifests.Mesh("smoke"), Ct);
        await cluster.Global.ApplyAsync(Manifests.PolicyPath("smoke", "allow-web"), Manifests.AllowFrom("smoke", "allow-web", "web"), Ct);
        foreach (var zone in cluster.Zones)
        {
            await cluster.WaitForResourceAsync(zone, Manifests.PolicyPath("smoke", "allow-web"), "origin global", Ct,
                r => r["labels"]?["kuma.io/origin"]?.GetValue<string>() == "global");
        }
    }
}
