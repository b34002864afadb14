using Federation.Resources;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.State;

namespace Federation.Zone.Tests.Xds.Generators;

public sealed class ConfigGeneratorGoldenTests
{
    private static readonly IReadOnlyList<Resource> Workloads = Scenario.ParseAll("""
        type: Dataplane
        mesh: default
        name: backend-1
        networking:
          address: 127.0.0.1
          inbound: [{port: 18080, servicePort: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: grpc, version: v1}}]
        ---
        type: Dataplane
        mesh: default
        name: web-1
        networking:
          address: 127.0.0.2
          inbound: [{port: 18081, servicePort: 8081, tags: {kuma.io/service: web, kuma.io/protocol: http}}]
          outbound: [{port: 10001, tags: {kuma.io/service: backend}}]
        ---
        type: MeshTrafficPermission
        mesh: default
        name: allow-web
        spec:
          targetRef: {kind: MeshService, name: backend}
          from:
            - {targetRef: {kind: MeshService, name: web}, default: {action: Allow}}
            - {targetRef: {kind: MeshSubset, tags: {kuma.io/zone: zone-3}}, default: {action: Deny}}
        """);

    private static ZoneState State(IReadOnlyList<RemoteEndpoint>? remote = null, string? remoteService = null) =>
        Scenario.Build("zone-1", Scenario.MtlsMesh, Workloads, remote, remoteService);

    private static string Generate(ZoneState state, string dataplane, ProxyKind kind)
    {
        var dp = state.Mesh("default")!.Dataplanes[dataplane];
        var snapshot = new ConfigGenerator().Generate(state, new ProxyContext("zone-1", dp, kind, kind == ProxyKind.Envoy ? Scenario.FakeCertificate : null), 1);
        Golden.AssertRoundTrips(snapshot);
        return Golden.Render(snapshot);
    }

    [Fact]
    public void Generate_PolicyTargetsOneDataplaneByName_RbacSharedOnlyBetweenInboundsWithTheSameInputs()
    {
        var resources = Scenario.ParseAll("""
            type: Dataplane
            mesh: default
            name: backend-1
            networking: {address: 127.0.0.1, inbound: [{port: 18080, servicePort: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}]}
            ---
            type: Dataplane
            mesh: default
            name: backend-2
            networking: {address: 127.0.0.2, inbound: [{port: 18080, servicePort: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}]}
            ---
            type: Dataplane
            mesh: default
            name: backend-3
            networking: {address: 127.0.0.3, inbound: [{port: 18080, servicePort: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: tcp}}]}
            ---
            type: MeshTrafficPermission
            mesh: default
            name: allow-web
            spec: {targetRef: {kind: MeshService, name: backend}, from: [{targetRef: {kind: MeshService, name: web}, default: {action: Allow}}]}
            ---
            type: MeshTrafficPermission
            mesh: default
            name: deny-web-on-2
            spec: {targetRef: {kind: Dataplane, name: backend-2}, from: [{targetRef: {kind: MeshService, name: web}, default: {action: Deny}}]}
            """);
        string[] order = ["backend-2", "backend-1", "backend-3"];

        // One generator and one mesh version for all (what a policy change does), against each generated alone.
        var shared = Scenario.Build("zone-1", Scenario.MtlsMesh, resources);
        var generator = new ConfigGenerator();
        var together = order.ToDictionary(n => n, n => Golden.Render(generator.Generate(shared, new ProxyContext("zone-1", shared.Mesh("default")!.Dataplanes[n], ProxyKind.Envoy, Scenario.FakeCertificate), 1)));
        foreach (var name in order)
        {
            Assert.Equal(Generate(Scenario.Build("zone-1", Scenario.MtlsMesh, resources), name, ProxyKind.Envoy), together[name]);
        }
        // backend-2's policy overrides the service-wide Allow for web: no ALLOW policy is left on its inbound.
        Assert.Contains("allow-web", together["backend-1"], StringComparison.Ordinal);
        Assert.DoesNotContain("allow-web", together["backend-2"], StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_EnvoySidecarBackend_MatchesGolden() =>
        Golden.AssertMatches("envoy-backend-1.txt", Generate(State(), "backend-1", ProxyKind.Envoy));

    [Fact]
    public void Generate_EnvoySidecarWebWithOutbound_MatchesGolden() =>
        Golden.AssertMatches("envoy-web-1.txt", Generate(State(), "web-1", ProxyKind.Envoy));

    [Fact]
    public void Generate_EnvoySidecarTransparentProxying_MatchesGolden()
    {
        // web-tp: redirected traffic; reaches backend at its VIP (only backend: reachableServices), the rest passes through.
        var web = Scenario.Parse("""
            type: Dataplane
            mesh: default
            name: web-tp
            networking:
              address: 127.0.0.3
              inbound: [{port: 18082, servicePort: 8082, tags: {kuma.io/service: web, kuma.io/protocol: http}}]
              transparentProxying: {redirectPortInbound: 15006, redirectPortOutbound: 15001, reachableServices: [backend]}
            """);
        var state = Scenario.Build("zone-1", Scenario.MtlsMesh, [.. Workloads, web]);
        var mesh = state.Mesh("default")! with
        {
            Vips = System.Collections.Immutable.ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
                [new KeyValuePair<string, string>("backend", "240.0.0.1"), new KeyValuePair<string, string>("web", "240.0.0.2")]),
        };
        state = state with { Meshes = state.Meshes.SetItem("default", mesh) };
        Golden.AssertMatches("envoy-web-tp.txt", Generate(state, "web-tp", ProxyKind.Envoy));
    }

    [Fact]
    public void Generate_ProxylessBackend_MatchesGolden() =>
        Golden.AssertMatches("proxyless-backend-1.txt", Generate(State(), "backend-1", ProxyKind.Proxyless));

    [Fact]
    public void Generate_ProxylessWithRemoteZone_MatchesGolden() =>
        Golden.AssertMatches("proxyless-web-1-remote.txt", Generate(
            State([new RemoteEndpoint("zone-2", "127.0.0.1", 20001, 2)], "payments"), "web-1", ProxyKind.Proxyless));

    [Fact]
    public void Generate_Ingress_MatchesGolden()
    {
        var ingress = Scenario.Parse("""
            type: ZoneIngress
            name: ingress-1
            networking: {address: 127.0.0.1, port: 10001, advertisedAddress: 127.0.0.1, advertisedPort: 10001}
            """);
        var state = State() with { LocalIngresses = [ingress] };
        var snapshot = new ConfigGenerator().Generate(state, new ProxyContext("zone-1", ingress, ProxyKind.Ingress, null), 1);
        Golden.AssertRoundTrips(snapshot);
        Golden.AssertMatches("ingress-1.txt", Golden.Render(snapshot));
    }

    [Fact]
    public void Generate_Egress_MatchesGolden()
    {
        var egress = Scenario.Parse("""
            type: ZoneEgress
            name: egress-1
            networking: {address: 127.0.0.1, port: 10002}
            """);
        var state = State([new RemoteEndpoint("zone-2", "127.0.0.1", 20001, 2), new RemoteEndpoint("zone-3", "127.0.0.3", 30001, 1)], "payments") with { LocalEgresses = [egress] };
        var snapshot = new ConfigGenerator().Generate(state, new ProxyContext("zone-1", egress, ProxyKind.Egress, null), 1);
        Golden.AssertRoundTrips(snapshot);
        Golden.AssertMatches("egress-1.txt", Golden.Render(snapshot));
    }
}
