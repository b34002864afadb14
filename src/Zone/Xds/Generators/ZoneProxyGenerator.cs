using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Listener.TlsInspector.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Federation.Resources.Types;
using Federation.Zone.Xds.Server;
using Federation.Zone.Xds.State;
using Google.Protobuf.WellKnownTypes;
using Endpoint = Envoy.Config.Endpoint.V3.Endpoint;

namespace Federation.Zone.Xds.Generators;

/// <summary>
/// Config for a zone's ingress and egress proxies, in the resources Envoy itself takes (so Envoy can run there
/// instead of fed-dp): one listener with <c>tls_inspector</c>, a filter chain per <c>&lt;service&gt;.&lt;mesh&gt;.mesh</c>
/// SNI with <c>tcp_proxy</c> to an EDS cluster. TLS passes through untouched: only mTLS meshes are served.
/// </summary>
internal static class ZoneProxyGenerator
{
    private static readonly Duration ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5));

    public static void Generate(ZoneState state, ProxyContext proxy, Dictionary<string, Dictionary<string, XdsResource>> into)
    {
        string address;
        int port;
        if (proxy.Kind == ProxyKind.Ingress)
        {
            var networking = proxy.Dataplane.GetSpec<ZoneIngressSpec>().Networking;
            (address, port) = (networking.Address, networking.Port);
        }
        else
        {
            var networking = proxy.Dataplane.GetSpec<ZoneEgressSpec>().Networking;
            (address, port) = (networking.Address, networking.Port);
        }
        var listenerName = $"{(proxy.Kind == ProxyKind.Ingress ? "ingress" : "egress")}:{address}:{port}";
        var listener = new Listener
        {
            Name = listenerName,
            Address = XdsBuild.SocketAddress(address, port),
            TrafficDirection = proxy.Kind == ProxyKind.Ingress ? TrafficDirection.Inbound : TrafficDirection.Outbound,
            ListenerFilters = { new ListenerFilter { Name = XdsBuild.TlsInspectorName, TypedConfig = Any.Pack(new TlsInspector()) } },
        };
        foreach (var mesh in state.Meshes.Values.Where(m => m.MtlsEnabled).OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            foreach (var service in mesh.Services.Values)
            {
                var endpoints = proxy.Kind == ProxyKind.Ingress ? LocalEndpoints(service, state.Zone) : RemoteEndpoints(service);
                if (endpoints is null)
                {
                    continue;
                }
                var sni = XdsNames.Sni(service.Name, mesh.Name);
                var cluster = $"{service.Name}.{mesh.Name}";
                listener.FilterChains.Add(new FilterChain
                {
                    Name = sni,
                    FilterChainMatch = new FilterChainMatch { ServerNames = { sni }, TransportProtocol = "tls" },
                    Filters = { new Filter { Name = XdsBuild.TcpProxyFilterName, TypedConfig = Any.Pack(new TcpProxy { StatPrefix = sni, Cluster = cluster }) } },
                });
                into[XdsTypes.Cluster][cluster] = XdsBuild.Resource(cluster, new Cluster
                {
                    Name = cluster,
                    Type = Cluster.Types.DiscoveryType.Eds,
                    EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = XdsBuild.Ads(), ServiceName = cluster },
                    ConnectTimeout = ConnectTimeout,
                    LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
                });
                endpoints.ClusterName = cluster;
                into[XdsTypes.ClusterLoadAssignment][cluster] = XdsBuild.Resource(cluster, endpoints);
            }
        }
        into[XdsTypes.Listener][listenerName] = XdsBuild.Resource(listenerName, listener);
    }

    /// <summary>An ingress forwards to the healthy local instances; a service with none is not served.</summary>
    private static ClusterLoadAssignment? LocalEndpoints(ServiceView service, string zone)
    {
        var healthy = service.Local.Where(e => e.Healthy).DistinctBy(e => (e.Address, e.Port)).ToList();
        if (healthy.Count == 0)
        {
            return null;
        }
        var locality = new LocalityLbEndpoints { Locality = new Locality { Zone = zone }, LoadBalancingWeight = (uint)healthy.Count };
        locality.LbEndpoints.AddRange(healthy.Select(e => new LbEndpoint
        {
            Endpoint = new Endpoint { Address = XdsBuild.SocketAddress(e.Address, e.Port) },
            HealthStatus = HealthStatus.Healthy,
            LoadBalancingWeight = 1,
        }));
        return new ClusterLoadAssignment { Endpoints = { locality } };
    }

    /// <summary>An egress forwards to the ingresses of the zones that serve the service, weighted by instances.</summary>
    private static ClusterLoadAssignment? RemoteEndpoints(ServiceView service)
    {
        if (service.Remote.Length == 0)
        {
            return null;
        }
        var cla = new ClusterLoadAssignment();
        var seen = new HashSet<(string, int)>();
        foreach (var zone in service.Remote.GroupBy(r => r.Zone))
        {
            var locality = new LocalityLbEndpoints { Locality = new Locality { Zone = zone.Key } };
            foreach (var r in zone.Where(r => seen.Add((r.Address, r.Port))))
            {
                locality.LbEndpoints.Add(new LbEndpoint
                {
                    Endpoint = new Endpoint { Address = XdsBuild.SocketAddress(r.Address, r.Port) },
                    HealthStatus = HealthStatus.Healthy,
                    LoadBalancingWeight = (uint)r.Instances,
                });
            }
            if (locality.LbEndpoints.Count > 0)
            {
                locality.LoadBalancingWeight = (uint)locality.LbEndpoints.Sum(e => (long)(e.LoadBalancingWeight ?? 1));
                cla.Endpoints.Add(locality);
            }
        }
        return cla.Endpoints.Count > 0 ? cla : null;
    }
}
