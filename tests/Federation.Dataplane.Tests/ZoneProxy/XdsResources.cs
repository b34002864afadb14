using System.Collections.Immutable;
using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Listener.TlsInspector.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Kds.Xds;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Endpoint = Envoy.Config.Endpoint.V3.Endpoint;

namespace Federation.Dataplane.Tests.ZoneProxy;

/// <summary>xDS resources for the routing tests: built here in the shape the zone generates, or read from its golden files.</summary>
internal static class XdsResources
{
    private static readonly TypeRegistry Registry = TypeRegistry.FromFiles(
        ListenerReflection.Descriptor,
        ClusterReflection.Descriptor,
        EndpointReflection.Descriptor,
        Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManagerReflection.Descriptor,
        Envoy.Extensions.TransportSockets.Tls.V3.TlsReflection.Descriptor,
        TcpProxyReflection.Descriptor,
        TlsInspectorReflection.Descriptor);

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithTypeRegistry(Registry));

    /// <summary>The resources of a golden file of the zone's config generator, by type URL.</summary>
    public static Dictionary<string, List<XdsClientResource>> Golden(string file)
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "ZoneProxy", "Golden", file));
        var result = new Dictionary<string, List<XdsClientResource>>(StringComparer.Ordinal);
        string? type = null;
        string? name = null;
        var json = new StringBuilder();
        void Flush()
        {
            if (type is not null)
            {
                var any = Parser.Parse<Any>(json.ToString());
                (result.TryGetValue(type, out var list) ? list : result[type] = []).Add(new XdsClientResource(name!, "golden", any));
            }
            json.Clear();
        }
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                Flush();
                var parts = line[2..].Split(' ', 2);
                (type, name) = (parts[0], parts[1]);
            }
            else
            {
                json.Append(line).Append('\n');
            }
        }
        Flush();
        return result;
    }

    public static XdsClientSnapshot Snapshot(Dictionary<string, List<XdsClientResource>> resources) =>
        new(1, resources.ToImmutableDictionary(
            r => r.Key,
            r => new XdsTypeState(r.Key, "v1", r.Value.ToImmutableDictionary(x => x.Name, StringComparer.Ordinal), null),
            StringComparer.Ordinal));

    public static XdsClientResource Resource(string name, IMessage message) => new(name, "v1", Any.Pack(message));

    public static FilterChain Chain(string sni, string cluster) => new()
    {
        Name = sni,
        FilterChainMatch = new FilterChainMatch { ServerNames = { sni }, TransportProtocol = "tls" },
        Filters = { TcpProxy(cluster) },
    };

    public static Filter TcpProxy(string cluster) =>
        new() { Name = RoutingConfig.TcpProxyName, TypedConfig = Any.Pack(new TcpProxy { StatPrefix = cluster, Cluster = cluster }) };

    public static Listener Listener(string address, uint port, params FilterChain[] chains) => new()
    {
        Name = $"ingress:{address}:{port}",
        Address = new Address { SocketAddress = new SocketAddress { Address = address, PortValue = port } },
        ListenerFilters = { new ListenerFilter { Name = RoutingConfig.TlsInspectorName, TypedConfig = Any.Pack(new TlsInspector()) } },
        FilterChains = { chains },
    };

    public static Cluster EdsCluster(string name) => new()
    {
        Name = name,
        Type = Cluster.Types.DiscoveryType.Eds,
        EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() }, ServiceName = name },
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
    };

    public static ClusterLoadAssignment Assignment(string cluster, params LocalityLbEndpoints[] localities) =>
        new() { ClusterName = cluster, Endpoints = { localities } };

    public static LocalityLbEndpoints Locality(string zone, uint? weight, uint priority, params (string Address, uint Port, uint Weight, HealthStatus Health)[] endpoints)
    {
        var locality = new LocalityLbEndpoints { Locality = new Locality { Zone = zone }, Priority = priority, LoadBalancingWeight = weight };
        locality.LbEndpoints.AddRange(endpoints.Select(e => new LbEndpoint
        {
            Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = e.Address, PortValue = e.Port } } },
            HealthStatus = e.Health,
            LoadBalancingWeight = e.Weight,
        }));
        return locality;
    }
}
