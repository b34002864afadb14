using System.Net;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Kds.Xds;
using Google.Protobuf.WellKnownTypes;
using static Federation.Dataplane.Tests.ZoneProxy.XdsResources;

namespace Federation.Dataplane.Tests.ZoneProxy;

public sealed class RoutingConfigTests
{
    private static string? Validate(string type, params XdsClientResource[] resources) => RoutingConfig.Validate(type, resources);

    private static string? ValidateListener(Listener listener) => Validate(RoutingConfig.ListenerType, Resource(listener.Name, listener));

    private static Listener Ingress(params FilterChain[] chains) => Listener("127.0.0.1", 10001, chains);

    [Fact]
    public void Build_TheZonesIngressGolden_IsAcceptedAndRoutesEachSniToItsLocalEndpoints()
    {
        var golden = Golden("ingress-1.txt");
        foreach (var (type, resources) in golden)
        {
            Assert.Null(RoutingConfig.Validate(type, resources));
        }

        var table = RoutingConfig.Build(Snapshot(golden));

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 10001), table.Listener!.Address);
        var (chain, miss) = table.Match("backend.default.mesh");
        Assert.Equal((RouteMiss.None, "backend.default"), (miss, chain!.Cluster));
        var endpoints = table.Cluster("backend.default")!.Endpoints;
        Assert.Equal("127.0.0.1:18080", endpoints.Pick()!.Value.Endpoint.Address.ToString());
        Assert.Equal("web.default", table.Match("web.default.mesh").Chain!.Cluster);
        Assert.Equal("127.0.0.2:18081", table.Cluster("web.default")!.Endpoints.Pick()!.Value.Endpoint.Address.ToString());
    }

    [Fact]
    public void Build_TheZonesEgressGolden_SpreadsOverRemoteIngressesByInstances()
    {
        var golden = Golden("egress-1.txt");
        foreach (var (type, resources) in golden)
        {
            Assert.Null(RoutingConfig.Validate(type, resources));
        }

        var table = RoutingConfig.Build(Snapshot(golden));

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 10002), table.Listener!.Address);
        var endpoints = table.Cluster(table.Match("payments.default.mesh").Chain!.Cluster)!.Endpoints;
        var picks = Enumerable.Range(0, 300).Select(_ => endpoints.Pick()!.Value.Locality.Zone).GroupBy(z => z).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["zone-2"] = 200, ["zone-3"] = 100 }, picks);
    }

    [Fact]
    public void Match_ExactNameThenLongestWildcardThenCatchAll()
    {
        var catchAll = new FilterChain { Name = "any", Filters = { TcpProxy("fallback") } };
        var wildcard = new FilterChain { Name = "wild", FilterChainMatch = new FilterChainMatch { ServerNames = { "*.mesh" } }, Filters = { TcpProxy("wild") } };
        var longer = new FilterChain { Name = "wild-default", FilterChainMatch = new FilterChainMatch { ServerNames = { "*.default.mesh" } }, Filters = { TcpProxy("wild-default") } };
        var listener = Ingress(Chain("backend.default.mesh", "backend"), wildcard, longer, catchAll);
        Assert.Null(ValidateListener(listener));
        var table = RoutingConfig.Build(Snapshot(new() { [RoutingConfig.ListenerType] = [Resource(listener.Name, listener)] }));

        Assert.Equal("backend", table.Match("backend.default.mesh").Chain!.Cluster);
        Assert.Equal("wild-default", table.Match("web.default.mesh").Chain!.Cluster);
        Assert.Equal("wild", table.Match("web.other.mesh").Chain!.Cluster);
        Assert.Equal("fallback", table.Match("example.com").Chain!.Cluster);
        Assert.Equal("fallback", table.Match(null).Chain!.Cluster);
    }

    [Fact]
    public void Match_NoChainForTheName_SaysWhetherTheClientSentOne()
    {
        var listener = Ingress(Chain("backend.default.mesh", "backend.default"));
        var table = RoutingConfig.Build(Snapshot(new() { [RoutingConfig.ListenerType] = [Resource(listener.Name, listener)] }));

        Assert.Equal((null, RouteMiss.UnknownServerName), table.Match("payments.default.mesh"));
        Assert.Equal((null, RouteMiss.NoServerName), table.Match(null));
        Assert.Equal((null, RouteMiss.NoListener), RoutingTable.Empty.Match("backend.default.mesh"));
    }

    [Fact]
    public void Build_ClusterWhoseAssignmentHasNotArrived_HasNoEndpointsYet()
    {
        var listener = Ingress(Chain("backend.default.mesh", "backend.default"));
        var table = RoutingConfig.Build(Snapshot(new()
        {
            [RoutingConfig.ListenerType] = [Resource(listener.Name, listener)],
            [RoutingConfig.ClusterType] = [Resource("backend.default", EdsCluster("backend.default"))],
        }));

        var cluster = table.Cluster("backend.default")!;
        Assert.False(cluster.HasLoadAssignment);
        Assert.False(cluster.Endpoints.HasHealthyEndpoint);
        Assert.Equal(TimeSpan.FromSeconds(5), cluster.ConnectTimeout);
    }

    public static TheoryData<string, Listener, string> UnsupportedListeners => new()
    {
        {
            "an original_dst listener filter",
            Ingress(Chain("a.mesh", "a")).Also(l => l.ListenerFilters.Add(new ListenerFilter { Name = "envoy.filters.listener.original_dst" })),
            "listener filter 'envoy.filters.listener.original_dst' is not implemented by fed-dp (only envoy.filters.listener.tls_inspector)"
        },
        {
            "an HTTP connection manager",
            Ingress(new FilterChain { Name = "http", Filters = { new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(new HttpConnectionManager()) } } }),
            "filter chain 'http': network filter 'envoy.filters.network.http_connection_manager' (type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager) is not implemented by fed-dp (only envoy.filters.network.tcp_proxy)"
        },
        {
            "TLS termination",
            Ingress(Chain("a.mesh", "a").Also(c => c.TransportSocket = new TransportSocket { Name = "envoy.transport_sockets.tls", TypedConfig = Any.Pack(new DownstreamTlsContext()) })),
            "filter chain 'a.mesh': transport_socket 'envoy.transport_sockets.tls' would terminate TLS; fed-dp passes TLS through untouched"
        },
        {
            "a destination port match",
            Ingress(Chain("a.mesh", "a").Also(c => c.FilterChainMatch.DestinationPort = 443)),
            "filter chain 'a.mesh': filter_chain_match.destination_port is not implemented by fed-dp (it matches on server_names only)"
        },
        {
            "an ALPN match",
            Ingress(Chain("a.mesh", "a").Also(c => c.FilterChainMatch.ApplicationProtocols.Add("h2"))),
            "filter chain 'a.mesh': filter_chain_match.application_protocols is not implemented by fed-dp (it matches on server_names only)"
        },
        {
            "plaintext connections",
            Ingress(Chain("a.mesh", "a").Also(c => c.FilterChainMatch.TransportProtocol = "raw_buffer")),
            "filter chain 'a.mesh': filter_chain_match.transport_protocol 'raw_buffer' is not implemented by fed-dp (only TLS connections are proxied)"
        },
        {
            "weighted clusters",
            Ingress(new FilterChain { Name = "w", Filters = { new Filter { Name = RoutingConfig.TcpProxyName, TypedConfig = Any.Pack(new TcpProxy { WeightedClusters = new TcpProxy.Types.WeightedCluster { Clusters = { new TcpProxy.Types.WeightedCluster.Types.ClusterWeight { Name = "a", Weight = 1 } } } }) } } }),
            "filter chain 'w': envoy.filters.network.tcp_proxy weighted_clusters is not implemented by fed-dp (name one cluster)"
        },
        {
            "two filters",
            Ingress(Chain("a.mesh", "a").Also(c => c.Filters.Add(TcpProxy("b")))),
            "filter chain 'a.mesh': has 2 filters; fed-dp runs exactly one, envoy.filters.network.tcp_proxy"
        },
        {
            "the same name in two chains",
            Ingress(Chain("a.mesh", "a"), Chain("a.mesh", "b")),
            "filter chain 'a.mesh': server name 'a.mesh' is matched by an earlier filter chain too"
        },
        {
            "a bad wildcard",
            Ingress(Chain("a.*.mesh", "a")),
            "filter chain 'a.*.mesh': server name 'a.*.mesh' is neither a host name nor a '*.suffix' wildcard"
        },
        {
            "a host name address",
            Listener("ingress.local", 10001, Chain("a.mesh", "a")),
            "Listener 'ingress:ingress.local:10001': address 'ingress.local' is not an IP address (fed-dp does not resolve names)"
        },
    };

    [Theory]
    [MemberData(nameof(UnsupportedListeners))]
    public void Validate_ListenerFedDpCannotHonour_IsNackedNamingWhatAndWhere(string what, Listener listener, string reason)
    {
        var error = ValidateListener(listener);

        Assert.True(error is not null && error.Contains(reason, StringComparison.Ordinal), $"{what}: {error}");
    }

    [Fact]
    public void Validate_TwoListeners_IsNacked()
    {
        var a = Listener("127.0.0.1", 10001);
        var b = Listener("127.0.0.1", 10002);

        Assert.Equal("fed-dp serves one listener per proxy; got 2 (ingress:127.0.0.1:10001, ingress:127.0.0.1:10002)",
            Validate(RoutingConfig.ListenerType, Resource(a.Name, a), Resource(b.Name, b)));
    }

    public static TheoryData<string, Cluster, string> UnsupportedClusters => new()
    {
        { "upstream TLS", EdsCluster("c").Also(c => c.TransportSocket = new TransportSocket { Name = "envoy.transport_sockets.tls", TypedConfig = Any.Pack(new UpstreamTlsContext()) }), "Cluster 'c': transport_socket 'envoy.transport_sockets.tls' would originate TLS" },
        { "ring hash", EdsCluster("c").Also(c => c.LbPolicy = Cluster.Types.LbPolicy.RingHash), "Cluster 'c': lb_policy RingHash is not implemented by fed-dp (ROUND_ROBIN)" },
        { "DNS discovery", EdsCluster("c").Also(c => c.Type = Cluster.Types.DiscoveryType.StrictDns), "Cluster 'c': discovery type StrictDns is not implemented by fed-dp (EDS or STATIC)" },
        { "HTTP/2 options", EdsCluster("c").Also(c => c.Http2ProtocolOptions = new Http2ProtocolOptions()), "Cluster 'c': HTTP protocol options are not implemented by fed-dp" },
    };

    [Theory]
    [MemberData(nameof(UnsupportedClusters))]
    public void Validate_ClusterFedDpCannotHonour_IsNacked(string what, Cluster cluster, string reason)
    {
        var error = Validate(RoutingConfig.ClusterType, Resource(cluster.Name, cluster));

        Assert.True(error is not null && error.Contains(reason, StringComparison.Ordinal), $"{what}: {error}");
    }

    [Fact]
    public void Validate_EndpointThatIsAHostName_IsNacked()
    {
        var assignment = Assignment("c", Locality("zone-2", 1, 0, ("ingress.zone-2", 10001, 1, HealthStatus.Healthy)));

        Assert.Equal("ClusterLoadAssignment 'c': endpoint 'ingress.zone-2' is not an IP address (fed-dp does not resolve names)",
            Validate(RoutingConfig.EndpointType, Resource("c", assignment)));
    }

    [Fact]
    public void Validate_ResourceOfAnotherType_IsNacked()
    {
        var error = Validate(RoutingConfig.ListenerType, Resource("c", EdsCluster("c")));

        Assert.StartsWith("undecodable Listener 'c'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_StaticCluster_UsesItsOwnEndpoints()
    {
        var cluster = new Cluster
        {
            Name = "static",
            Type = Cluster.Types.DiscoveryType.Static,
            LoadAssignment = Assignment("static", Locality("zone-1", null, 0, ("127.0.0.9", 9000, 1, HealthStatus.Unknown))),
        };
        Assert.Null(Validate(RoutingConfig.ClusterType, Resource("static", cluster)));

        var table = RoutingConfig.Build(Snapshot(new() { [RoutingConfig.ClusterType] = [Resource("static", cluster)] }));

        Assert.Equal("127.0.0.9:9000", table.Cluster("static")!.Endpoints.Pick()!.Value.Endpoint.Address.ToString());
    }
}

internal static class MessageExtensions
{
    /// <summary>Changes a message in place and returns it, for table-driven tests.</summary>
    public static T Also<T>(this T message, Action<T> change)
    {
        change(message);
        return message;
    }
}
