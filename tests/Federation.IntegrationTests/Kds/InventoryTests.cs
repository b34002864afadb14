using System.Net;
using System.Text.Json.Nodes;
using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>What zones register flows up to the global under unique names; only ingresses flow on to other zones.</summary>
[Collection(SharedFederation.Name)]
public sealed class InventoryTests(SharedFederationFixture shared)
{
    private readonly MultiZoneFixture _cluster = shared.Cluster;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string? Label(JsonObject resource, string name) => resource["labels"]?[name]?.GetValue<string>();

    private async Task CreateMeshEverywhereAsync(string mesh)
    {
        _cluster.BeginPhase($"creating mesh {mesh}");
        await _cluster.Global.ApplyAsync(Manifests.MeshPath(mesh), Manifests.Mesh(mesh), Ct);
        foreach (var zone in _cluster.Zones)
        {
            await _cluster.WaitForResourceAsync(zone, Manifests.MeshPath(mesh), "mesh synced from the global", Ct);
        }
    }

    /// <summary>
    /// A barrier: once a policy created on the global after <paramref name="after"/> reached <paramref name="zone"/>,
    /// the zone has seen every snapshot the global had published before it.
    /// </summary>
    private async Task SyncBarrierAsync(string mesh, ZoneNode zone, string after)
    {
        var name = $"barrier-{Guid.NewGuid():n}"[..20];
        await _cluster.Global.ApplyAsync(Manifests.PolicyPath(mesh, name), Manifests.AllowFrom(mesh, name, "barrier"), Ct);
        await _cluster.WaitForResourceAsync(zone, Manifests.PolicyPath(mesh, name), $"barrier policy created after {after}", Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Put_DataplaneOnZone_ReachesGlobalUniquelyNamedWithZoneLabelsButNoOtherZone()
    {
        const string mesh = "inv-dataplanes";
        await CreateMeshEverywhereAsync(mesh);
        var zone1 = _cluster["zone-1"];
        var zone2 = _cluster["zone-2"];

        _cluster.BeginPhase("backend-1 registered in zone-1 and in zone-2");
        await zone1.ApplyAsync(Manifests.DataplanePath(mesh, "backend-1"), Manifests.Dataplane(mesh, "backend-1"), Ct);
        await zone2.ApplyAsync(Manifests.DataplanePath(mesh, "backend-1"), Manifests.Dataplane(mesh, "backend-1", port: 18081), Ct);

        foreach (var origin in new[] { zone1, zone2 })
        {
            var synced = await _cluster.WaitForResourceAsync(_cluster.Global, Manifests.DataplanePath(mesh, $"backend-1.{origin.Name}"),
                $"Dataplane from {origin.Name} with origin zone", Ct, r => Label(r, "kuma.io/origin") == "zone");
            Assert.Equal(origin.Name, Label(synced, "kuma.io/zone"));
            Assert.Equal("backend-1", Label(synced, "kuma.io/display-name"));
        }
        var onGlobal = await _cluster.Global.TryGetAsync(Manifests.DataplanePath(mesh, "backend-1.zone-2"), Ct);
        Assert.Equal(18081, onGlobal!["networking"]!["inbound"]![0]!["port"]!.GetValue<int>());

        _cluster.BeginPhase("after a sync barrier: no zone got another zone's Dataplane");
        await SyncBarrierAsync(mesh, _cluster["zone-3"], "both Dataplanes reached the global");
        await SyncBarrierAsync(mesh, zone2, "both Dataplanes reached the global");
        await SyncBarrierAsync(mesh, zone1, "both Dataplanes reached the global");
        Assert.Empty(await _cluster["zone-3"].ListNamesAsync(Manifests.DataplanesPath(mesh), Ct));
        Assert.Equal(["backend-1"], await zone1.ListNamesAsync(Manifests.DataplanesPath(mesh), Ct));
        Assert.Equal(["backend-1"], await zone2.ListNamesAsync(Manifests.DataplanesPath(mesh), Ct));
        var local = await zone1.TryGetAsync(Manifests.DataplanePath(mesh, "backend-1"), Ct);
        Assert.Null(Label(local!, "kuma.io/origin"));

        _cluster.BeginPhase("writing a synced Dataplane on the global");
        using var write = await _cluster.Global.PutAsync(Manifests.DataplanePath(mesh, "backend-1.zone-1"), Manifests.Dataplane(mesh, "backend-1.zone-1"), Ct);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, write.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Put_ZoneIngressOnZone_RelayedToGlobalAndOtherZonesNotBackToItsZone()
    {
        const string mesh = "inv-ingress";
        await CreateMeshEverywhereAsync(mesh);
        var zone1 = _cluster["zone-1"];

        _cluster.BeginPhase("ingress-inv registered in zone-1");
        await zone1.ApplyAsync(Manifests.IngressPath("ingress-inv"), Manifests.ZoneIngress("ingress-inv", mesh), Ct);

        var onGlobal = await _cluster.WaitForResourceAsync(_cluster.Global, Manifests.IngressPath("ingress-inv.zone-1"), "ZoneIngress from zone-1", Ct);
        Assert.Equal("zone", Label(onGlobal, "kuma.io/origin"));
        Assert.Equal("zone-1", Label(onGlobal, "kuma.io/zone"));
        foreach (var other in new[] { _cluster["zone-2"], _cluster["zone-3"] })
        {
            var relayed = await _cluster.WaitForResourceAsync(other, Manifests.IngressPath("ingress-inv.zone-1"), "zone-1's ingress relayed by the global", Ct);
            Assert.Equal("zone-1", Label(relayed, "kuma.io/zone"));
            Assert.Equal("global", Label(relayed, "kuma.io/origin"));
            Assert.Equal("127.0.0.1", relayed["networking"]!["advertisedAddress"]!.GetValue<string>());
        }

        _cluster.BeginPhase("after a sync barrier: zone-1 did not get its own ingress back");
        await SyncBarrierAsync(mesh, zone1, "the ingress reached the other zones");
        var names = await zone1.ListNamesAsync(Manifests.IngressesPath, Ct);
        Assert.Contains("ingress-inv", names);
        Assert.DoesNotContain("ingress-inv.zone-1", names);
    }

    [Fact(Timeout = 60_000)]
    public async Task Put_ZoneLocalPolicyAndSecret_StayInTheirZone()
    {
        const string mesh = "inv-local";
        await CreateMeshEverywhereAsync(mesh);
        var zone1 = _cluster["zone-1"];

        _cluster.BeginPhase("zone-local policy and secret created in zone-1, then a Dataplane");
        await zone1.ApplyAsync(Manifests.PolicyPath(mesh, "local-only"), Manifests.AllowFrom(mesh, "local-only", "web"), Ct);
        await zone1.ApplyAsync($"/meshes/{mesh}/secrets/local-secret", $"""
            type: Secret
            mesh: {mesh}
            name: local-secret
            data: c2VjcmV0
            """, Ct);
        await zone1.ApplyAsync(Manifests.DataplanePath(mesh, "after-local"), Manifests.Dataplane(mesh, "after-local"), Ct);
        // The Dataplane was written after the policy and secret: once it is on the global, they would be too.
        await _cluster.WaitForResourceAsync(_cluster.Global, Manifests.DataplanePath(mesh, "after-local.zone-1"), "Dataplane written after the local resources", Ct);

        Assert.Empty(await _cluster.Global.ListNamesAsync(Manifests.PoliciesPath(mesh), Ct));
        // The global holds secrets of its own for the mesh (its dataplane-token signing keys, created when the mesh
        // was); none of them is zone-1's, with or without the zone suffix.
        Assert.DoesNotContain(await _cluster.Global.ListNamesAsync($"/meshes/{mesh}/secrets", Ct), n => n.StartsWith("local-secret", StringComparison.Ordinal));
        await SyncBarrierAsync(mesh, _cluster["zone-2"], "zone-1's local resources");
        Assert.DoesNotContain("local-only", await _cluster["zone-2"].ListNamesAsync(Manifests.PoliciesPath(mesh), Ct));
    }
}
