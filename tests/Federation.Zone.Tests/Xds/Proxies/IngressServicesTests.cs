using Federation.Resources;
using Federation.Zone.Tests.Xds.Generators;
using Federation.Zone.Xds.Proxies;

namespace Federation.Zone.Tests.Xds.Proxies;

public sealed class IngressServicesTests
{
    private const string MtlsMesh = "type: Mesh\nname: default\nmtls: {enabledBackend: ca-1, backends: [{name: ca-1, type: builtin}]}";

    private static readonly IReadOnlyList<Resource> Dataplanes = Scenario.ParseAll("""
        type: Dataplane
        mesh: default
        name: backend-1
        networking: {address: 127.0.0.1, inbound: [{port: 18080, tags: {kuma.io/service: backend, version: v1}}]}
        ---
        type: Dataplane
        mesh: default
        name: backend-2
        networking: {address: 127.0.0.2, inbound: [{port: 18080, tags: {kuma.io/service: backend, version: v1}}]}
        ---
        type: Dataplane
        mesh: default
        name: backend-3
        networking: {address: 127.0.0.3, inbound: [{port: 18080, tags: {kuma.io/service: backend, version: v2}}]}
        ---
        type: Dataplane
        mesh: default
        name: backend-down
        networking: {address: 127.0.0.4, inbound: [{port: 18080, health: {ready: false}, tags: {kuma.io/service: backend, version: v1}}]}
        """);

    [Fact]
    public void Compute_HealthyInbounds_GroupedByTagSetWithZoneAndCounted()
    {
        var services = IngressServicesReconciler.Compute(Scenario.Build("zone-2", MtlsMesh, Dataplanes));
        Assert.Equal(2, services.Count);
        var v1 = services.Single(s => s.Tags["version"] == "v1");
        Assert.Equal(2, v1.Instances);
        Assert.Equal("zone-2", v1.Tags[WellKnownLabels.Zone]);
        Assert.Equal("default", v1.Mesh);
        Assert.Equal(1, services.Single(s => s.Tags["version"] == "v2").Instances);
    }

    [Fact]
    public void Compute_MeshWithoutMtls_AdvertisesNothing() =>
        Assert.Empty(IngressServicesReconciler.Compute(Scenario.Build("zone-2", "type: Mesh\nname: default", Dataplanes)));
}
