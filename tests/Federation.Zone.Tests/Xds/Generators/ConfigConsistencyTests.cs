using System.Collections.Immutable;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.Server;
using Federation.Zone.Xds.State;

namespace Federation.Zone.Tests.Xds.Generators;

/// <summary>
/// An Envoy snapshot is complete: whatever one resource names (a route configuration, a cluster, a load assignment, an
/// SDS secret) is in the same snapshot, so Envoy never waits on a resource the zone will not send.
/// </summary>
public sealed class ConfigConsistencyTests
{
    private static readonly string Workloads = """
        type: Dataplane
        mesh: default
        name: backend-1
        networking:
          address: 127.0.0.1
          inbound: [{port: 18080, servicePort: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: grpc}}]
        ---
        type: Dataplane
        mesh: default
        name: db-1
        networking:
          address: 127.0.0.4
          inbound: [{port: 5432, tags: {kuma.io/service: db}}]
        ---
        type: Dataplane
        mesh: default
        name: web-1
        networking:
          address: 127.0.0.2
          inbound: [{port: 18081, servicePort: 8081, tags: {kuma.io/service: web, kuma.io/protocol: http}}]
          outbound: [{port: 10001, tags: {kuma.io/service: backend}}, {port: 10002, tags: {kuma.io/service: db}}]
          transparentProxying: {redirectPortInbound: 15006, redirectPortOutbound: 15001}
        """;

    public static TheoryData<string> Dataplanes => ["backend-1", "db-1", "web-1"];

    [Theory]
    [MemberData(nameof(Dataplanes))]
    public void Generate_EnvoySidecar_EveryReferenceResolvesWithinTheSnapshot(string dataplane)
    {
        var state = Scenario.Build("zone-1", Scenario.MtlsMesh, Scenario.ParseAll(Workloads), [new RemoteEndpoint("zone-2", "127.0.0.9", 20001, 2)], "payments");
        var mesh = state.Mesh("default")!;
        state = state with
        {
            Meshes = state.Meshes.SetItem("default", mesh with
            {
                Vips = mesh.Services.Keys.Select((s, i) => (s, i)).ToImmutableSortedDictionary(x => x.s, x => $"240.0.0.{x.i + 1}", StringComparer.Ordinal),
            }),
        };
        var snapshot = new ConfigGenerator().Generate(state, new ProxyContext("zone-1", state.Mesh("default")!.Dataplanes[dataplane], ProxyKind.Envoy, Scenario.FakeCertificate), 1);

        var listeners = snapshot.Of(XdsTypes.Listener).Values.Select(r => r.Resource.Unpack<Listener>()).ToList();
        var routes = snapshot.Of(XdsTypes.RouteConfiguration).Values.Select(r => r.Resource.Unpack<RouteConfiguration>()).ToList();
        var clusters = snapshot.Of(XdsTypes.Cluster).Values.Select(r => r.Resource.Unpack<Cluster>()).ToList();
        var assignments = snapshot.Of(XdsTypes.ClusterLoadAssignment).Values.Select(r => r.Resource.Unpack<ClusterLoadAssignment>()).ToList();
        var secrets = snapshot.Of(XdsTypes.Secret).Keys.ToHashSet(StringComparer.Ordinal);
        var clusterNames = clusters.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var missing = new List<string>();
        void Need(bool present, string what)
        {
            if (!present)
            {
                missing.Add(what);
            }
        }
        void NeedSecrets(TransportSocket? socket, string owner)
        {
            if (socket is null)
            {
                return;
            }
            var common = socket.TypedConfig.Is(DownstreamTlsContext.Descriptor)
                ? socket.TypedConfig.Unpack<DownstreamTlsContext>().CommonTlsContext
                : socket.TypedConfig.Unpack<UpstreamTlsContext>().CommonTlsContext;
            foreach (var sds in common.TlsCertificateSdsSecretConfigs)
            {
                Need(secrets.Contains(sds.Name), $"{owner}: secret {sds.Name}");
            }
            if (common.ValidationContextSdsSecretConfig is { } validation)
            {
                Need(secrets.Contains(validation.Name), $"{owner}: secret {validation.Name}");
            }
        }

        Assert.NotEmpty(listeners);
        foreach (var listener in listeners)
        {
            foreach (var chain in listener.FilterChains)
            {
                NeedSecrets(chain.TransportSocket, $"listener {listener.Name}");
                foreach (var filter in chain.Filters)
                {
                    if (filter.TypedConfig.Is(HttpConnectionManager.Descriptor))
                    {
                        var hcm = filter.TypedConfig.Unpack<HttpConnectionManager>();
                        var routeConfig = hcm.Rds is { } rds ? routes.FirstOrDefault(r => r.Name == rds.RouteConfigName) : hcm.RouteConfig;
                        Need(routeConfig is not null, $"listener {listener.Name}: route configuration {hcm.Rds?.RouteConfigName}");
                        foreach (var route in routeConfig?.VirtualHosts.SelectMany(v => v.Routes) ?? [])
                        {
                            if (route.Route_ is { } action)
                            {
                                Need(clusterNames.Contains(action.Cluster), $"listener {listener.Name}: cluster {action.Cluster}");
                            }
                        }
                    }
                    else if (filter.TypedConfig.Is(TcpProxy.Descriptor))
                    {
                        var cluster = filter.TypedConfig.Unpack<TcpProxy>().Cluster;
                        Need(clusterNames.Contains(cluster), $"listener {listener.Name}: cluster {cluster}");
                    }
                }
            }
        }
        foreach (var cluster in clusters)
        {
            NeedSecrets(cluster.TransportSocket, $"cluster {cluster.Name}");
            if (cluster.Type == Cluster.Types.DiscoveryType.Eds)
            {
                var service = string.IsNullOrEmpty(cluster.EdsClusterConfig?.ServiceName) ? cluster.Name : cluster.EdsClusterConfig.ServiceName;
                Need(assignments.Any(a => a.ClusterName == service), $"cluster {cluster.Name}: load assignment {service}");
            }
        }
        Assert.True(missing.Count == 0, $"{dataplane}'s snapshot names what it does not hold: {string.Join("; ", missing)}");
    }
}
