using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>A small federation state to start from: a mesh and a policy from the global, a Dataplane and an ingress from zone-1.</summary>
internal static class Seed
{
    public const string Mesh = "demo";

    public static async Task ApplyAsync(MultiZoneFixture cluster, CancellationToken ct)
    {
        cluster.BeginPhase("seeding: mesh and policy on the global, Dataplane and ingress on zone-1");
        var zone1 = cluster["zone-1"];
        await cluster.Global.ApplyAsync(Manifests.MeshPath(Mesh), Manifests.Mesh(Mesh), ct);
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "allow-web"), Manifests.AllowFrom(Mesh, "allow-web", "web"), ct);
        await cluster.WaitForResourceAsync(zone1, Manifests.MeshPath(Mesh), "mesh synced", ct);
        await zone1.ApplyAsync(Manifests.DataplanePath(Mesh, "backend-1"), Manifests.Dataplane(Mesh, "backend-1"), ct);
        await zone1.ApplyAsync(Manifests.IngressPath("ingress-1"), Manifests.ZoneIngress("ingress-1", Mesh), ct);
        foreach (var zone in cluster.Zones)
        {
            await cluster.WaitForResourceAsync(zone, Manifests.PolicyPath(Mesh, "allow-web"), "seed policy synced", ct);
        }
        await cluster.WaitForResourceAsync(cluster.Global, Manifests.DataplanePath(Mesh, "backend-1.zone-1"), "seed Dataplane synced up", ct);
        foreach (var zone in cluster.Zones.Where(z => z.Name != "zone-1"))
        {
            await cluster.WaitForResourceAsync(zone, Manifests.IngressPath("ingress-1.zone-1"), "seed ingress relayed", ct);
        }
        cluster.BeginPhase("seeded");
    }
}
