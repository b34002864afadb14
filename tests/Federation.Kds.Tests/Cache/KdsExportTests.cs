using System.Collections.Immutable;
using Federation.Kds.Cache;
using Federation.Resources;
using static Federation.Kds.Tests.Fakes.TestResources;

namespace Federation.Kds.Tests.Cache;

public sealed class KdsExportTests
{
    private static KdsSnapshot WithZones(params Resource[] zones) =>
        new(1, ImmutableDictionary<string, TypeView>.Empty.SetItem(ResourceTypes.Zone.Name,
            new TypeView(ResourceTypes.Zone.Name, 1, zones.ToImmutableSortedDictionary(z => z.Name, z => new CachedResource(z), StringComparer.Ordinal))));

    [Fact]
    public void GlobalToZones_Includes_PoliciesAndRelayedIngressesButNotInventoryOrPrivateKeys()
    {
        var export = KdsExport.GlobalToZones();

        Assert.True(export.Includes(Policy("a")));
        Assert.True(export.Includes(Mesh("default")));
        Assert.True(export.Includes(Ingress("ingress-1.zone-1", labels: FromZone("zone-1"))));
        Assert.False(export.Includes(Dataplane("dp.zone-1", labels: FromZone("zone-1"))));
        var signingKey = new Resource(ResourceKey.Global(ResourceTypes.GlobalSecret.Name, "zone-token-signing-key-1"), """{"data":"a2V5"}""")
            .WithLabel(SecretLabels.Private, "true");
        Assert.False(export.Includes(signingKey));
        Assert.DoesNotContain(ResourceTypes.Dataplane, export.Types);
        Assert.DoesNotContain(ResourceTypes.ZoneInsight, export.Types);
    }

    [Fact]
    public void ZoneToGlobal_Includes_OnlyTheZonesOwnInventory()
    {
        var export = KdsExport.ZoneToGlobal();

        Assert.True(export.Includes(Dataplane("dp")));
        Assert.True(export.Includes(Ingress("ingress-1")));
        Assert.False(export.Includes(Ingress("ingress-2.zone-2", labels: FromGlobal)));
        Assert.Equal([ResourceTypes.Dataplane, ResourceTypes.DataplaneInsight, ResourceTypes.ZoneIngress, ResourceTypes.ZoneEgress], export.Types);
    }

    [Fact]
    public void ForZonePeer_ZonesOwnResources_NotEchoedBack()
    {
        var include = KdsExport.ForZonePeer("zone-1", WithZones(Zone("zone-1", true)));

        Assert.False(include(new CachedResource(Ingress("ingress-1.zone-1", labels: FromZone("zone-1")))));
        Assert.True(include(new CachedResource(Policy("a"))));
    }

    [Fact]
    public void ForZonePeer_IngressOfDisabledZone_NotRelayed()
    {
        var snapshot = WithZones(Zone("zone-1", true), Zone("zone-2", false), Zone("zone-3", true));
        var include = KdsExport.ForZonePeer("zone-1", snapshot);

        Assert.False(include(new CachedResource(Ingress("i.zone-2", labels: FromZone("zone-2")))));
        Assert.True(include(new CachedResource(Ingress("i.zone-3", labels: FromZone("zone-3")))));
    }

    [Fact]
    public void ForZonePeer_ZoneResourceWithoutZoneLabel_NotSent()
    {
        var include = KdsExport.ForZonePeer("zone-1", WithZones());

        Assert.False(include(new CachedResource(Ingress("orphan", labels: [(WellKnownLabels.Origin, WellKnownLabels.OriginZone)]))));
    }
}
