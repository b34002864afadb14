using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Listener.TlsInspector.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Federation.Kds.Xds;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using SocketAddress = Envoy.Config.Core.V3.SocketAddress;

namespace Federation.Dataplane.ZoneProxy.Routing;

/// <summary>
/// Turns the xDS resources a zone serves to its ingress/egress (the ones Envoy would get: a Listener with
/// <c>tls_inspector</c> and a filter chain per SNI whose only filter is <c>tcp_proxy</c>, EDS Clusters, their
/// ClusterLoadAssignments) into a <see cref="RoutingTable"/>. <see cref="Validate"/> refuses, with a reason for
/// the NACK, everything fed-dp would not honour: a filter it does not implement, TLS termination, matches other
/// than on the SNI, load balancing other than round robin.
/// </summary>
internal static class RoutingConfig
{
    public const string ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public const string ClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public const string EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

    public const string TlsInspectorName = "envoy.filters.listener.tls_inspector";
    public const string TcpProxyName = "envoy.filters.network.tcp_proxy";

    /// <summary>The types a zone proxy subscribes to.</summary>
    public static readonly IReadOnlyList<string> Types = [ListenerType, ClusterType, EndpointType];

    private static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);
    private static readonly string TlsInspectorType = Any.Pack(new TlsInspector()).TypeUrl;
    private static readonly string TcpProxyType = Any.Pack(new TcpProxy()).TypeUrl;

    /// <summary>Null to ACK a response of <paramref name="typeUrl"/>, or why to NACK it.</summary>
    public static string? Validate(string typeUrl, IReadOnlyList<XdsClientResource> resources)
    {
        var errors = new List<string>();
        switch (typeUrl)
        {
            case ListenerType:
                if (resources.Count > 1)
                {
                    errors.Add($"fed-dp serves one listener per proxy; got {resources.Count} ({string.Join(", ", resources.Select(r => r.Name))})");
                }
                foreach (var resource in resources)
                {
                    ParseListener(resource, errors);
                }
                break;
            case ClusterType:
                foreach (var resource in resources)
                {
                    ParseCluster(resource, errors);
                }
                break;
            case EndpointType:
                foreach (var resource in resources)
                {
                    ParseLoadAssignment(resource, errors);
                }
                break;
            default:
                break; // not subscribed: XdsClient drops it before asking us
        }
        return errors.Count == 0 ? null : string.Join("; ", errors);
    }

    /// <summary>A table from what the client holds (every resource in it was validated before it was ACKed).</summary>
    public static RoutingTable Build(XdsClientSnapshot snapshot)
    {
        var errors = new List<string>();
        var listeners = snapshot.Of(ListenerType);
        var listener = listeners.Resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => ParseListener(r, errors)).FirstOrDefault(l => l is not null);
        var assignments = snapshot.Of(EndpointType).Resources.Values
            .Select(r => (r.Name, Localities: ParseLoadAssignment(r, errors)))
            .Where(a => a.Localities is not null)
            .ToDictionary(a => a.Name, a => a.Localities!.Value, StringComparer.Ordinal);
        var clusters = ImmutableDictionary.CreateBuilder<string, ClusterRoute>(StringComparer.Ordinal);
        foreach (var resource in snapshot.Of(ClusterType).Resources.Values)
        {
            if (ParseCluster(resource, errors) is not { } cluster)
            {
                continue;
            }
            var localities = cluster.Static ?? (assignments.TryGetValue(cluster.ServiceName, out var eds) ? eds : (ImmutableArray<UpstreamLocality>?)null);
            clusters[cluster.Name] = new ClusterRoute(cluster.Name, cluster.ConnectTimeout, localities is { } l ? new EndpointPicker(l) : EndpointPicker.Empty, localities is not null);
        }
        var version = string.Join(' ', Types.Select(t => $"{ShortName(t)}={snapshot.Of(t).Version}"));
        return new RoutingTable(listener, clusters.ToImmutable(), version);
    }

    public static string ShortName(string typeUrl) => typeUrl[(typeUrl.LastIndexOf('.') + 1)..];

    private static ListenerRoute? ParseListener(XdsClientResource resource, List<string> errors)
    {
        if (!TryUnpack<Listener>(resource, errors, out var listener))
        {
            return null;
        }
        var where = $"Listener '{listener.Name}'";
        var count = errors.Count;
        IPEndPoint? address = null;
        if (listener.ApiListener is not null)
        {
            errors.Add($"{where}: api_listener is not implemented by fed-dp (it proxies TCP)");
        }
        else
        {
            address = ParseAddress(listener.Address, $"{where}: address", errors);
        }
        foreach (var filter in listener.ListenerFilters)
        {
            var type = filter.TypedConfig?.TypeUrl;
            if (!(type == TlsInspectorType || (type is null && filter.Name == TlsInspectorName)))
            {
                errors.Add($"{where}: listener filter '{filter.Name}'{(type is null ? "" : $" ({type})")} is not implemented by fed-dp (only {TlsInspectorName})");
            }
        }
        var chains = ImmutableArray.CreateBuilder<ChainRoute>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var catchAll = false;
        var all = listener.FilterChains.Select((c, i) => (Chain: c, Where: $"{where} filter chain {(c.Name.Length > 0 ? $"'{c.Name}'" : i.ToString(CultureInfo.InvariantCulture))}")).ToList();
        if (listener.DefaultFilterChain is { } fallback)
        {
            all.Add((fallback, $"{where} default_filter_chain"));
        }
        foreach (var (chain, at) in all)
        {
            if (ParseChain(chain, at, errors) is not { } route)
            {
                continue;
            }
            if (route.ServerNames.IsEmpty)
            {
                if (catchAll)
                {
                    errors.Add($"{at}: a second filter chain matching any server name");
                }
                catchAll = true;
            }
            foreach (var name in route.ServerNames)
            {
                if (!names.Add(name))
                {
                    errors.Add($"{at}: server name '{name}' is matched by an earlier filter chain too");
                }
            }
            chains.Add(route);
        }
        return errors.Count == count && address is not null ? new ListenerRoute(listener.Name, address, chains.ToImmutable()) : null;
    }

    private static ChainRoute? ParseChain(FilterChain chain, string at, List<string> errors)
    {
        var count = errors.Count;
        if (chain.TransportSocket is not null)
        {
            errors.Add($"{at}: transport_socket '{chain.TransportSocket.Name}' would terminate TLS; fed-dp passes TLS through untouched");
        }
        var match = chain.FilterChainMatch ?? new FilterChainMatch();
        void Unsupported(bool set, string field)
        {
            if (set)
            {
                errors.Add($"{at}: filter_chain_match.{field} is not implemented by fed-dp (it matches on server_names only)");
            }
        }
        Unsupported(match.PrefixRanges.Count > 0, "prefix_ranges");
        Unsupported(match.SourcePrefixRanges.Count > 0, "source_prefix_ranges");
        Unsupported(match.SourcePorts.Count > 0, "source_ports");
        Unsupported(match.DestinationPort is not null, "destination_port");
        Unsupported(match.ApplicationProtocols.Count > 0, "application_protocols");
        Unsupported(match.SourceType != FilterChainMatch.Types.ConnectionSourceType.Any, "source_type");
        if (match.TransportProtocol is not ("" or "tls"))
        {
            errors.Add($"{at}: filter_chain_match.transport_protocol '{match.TransportProtocol}' is not implemented by fed-dp (only TLS connections are proxied)");
        }
        var serverNames = ImmutableArray.CreateBuilder<string>();
        foreach (var name in match.ServerNames)
        {
            var lower = name.ToLowerInvariant();
            if (lower.Length == 0 || lower.Contains('*', StringComparison.Ordinal) && (!lower.StartsWith("*.", StringComparison.Ordinal) || lower.LastIndexOf('*') != 0 || lower.Length < 3))
            {
                errors.Add($"{at}: server name '{name}' is neither a host name nor a '*.suffix' wildcard");
                continue;
            }
            serverNames.Add(lower);
        }
        TcpProxy? proxy = null;
        if (chain.Filters.Count != 1)
        {
            errors.Add($"{at}: has {chain.Filters.Count} filters; fed-dp runs exactly one, {TcpProxyName}");
        }
        foreach (var filter in chain.Filters)
        {
            var type = filter.TypedConfig?.TypeUrl;
            if (type != TcpProxyType)
            {
                errors.Add($"{at}: network filter '{filter.Name}'{(type is null ? " without typed_config" : $" ({type})")} is not implemented by fed-dp (only {TcpProxyName})");
                continue;
            }
            try
            {
                proxy = filter.TypedConfig!.Unpack<TcpProxy>();
            }
            catch (InvalidProtocolBufferException e)
            {
                errors.Add($"{at}: undecodable {TcpProxyName}: {e.Message}");
            }
        }
        if (proxy is not null)
        {
            if (proxy.ClusterSpecifierCase == TcpProxy.ClusterSpecifierOneofCase.WeightedClusters)
            {
                errors.Add($"{at}: {TcpProxyName} weighted_clusters is not implemented by fed-dp (name one cluster)");
            }
            else if (string.IsNullOrEmpty(proxy.Cluster))
            {
                errors.Add($"{at}: {TcpProxyName} names no cluster");
            }
            if (proxy.IdleTimeout is not null)
            {
                errors.Add($"{at}: {TcpProxyName} idle_timeout is not implemented by fed-dp");
            }
        }
        return errors.Count == count && proxy is not null
            ? new ChainRoute(chain.Name, serverNames.ToImmutable(), proxy.Cluster, proxy.StatPrefix)
            : null;
    }

    private sealed record ParsedCluster(string Name, string ServiceName, TimeSpan ConnectTimeout, ImmutableArray<UpstreamLocality>? Static);

    private static ParsedCluster? ParseCluster(XdsClientResource resource, List<string> errors)
    {
        if (!TryUnpack<Cluster>(resource, errors, out var cluster))
        {
            return null;
        }
        var where = $"Cluster '{cluster.Name}'";
        var count = errors.Count;
        ImmutableArray<UpstreamLocality>? fixedEndpoints = null;
        switch (cluster.Type)
        {
            case Cluster.Types.DiscoveryType.Eds:
                if (cluster.EdsClusterConfig?.EdsConfig is { } source && source.ConfigSourceSpecifierCase != ConfigSource.ConfigSourceSpecifierOneofCase.Ads)
                {
                    errors.Add($"{where}: EDS from a config source other than ADS is not implemented by fed-dp");
                }
                break;
            case Cluster.Types.DiscoveryType.Static:
                fixedEndpoints = cluster.LoadAssignment is { } assignment ? ParseLocalities(assignment, where, errors) : [];
                break;
            default:
                errors.Add($"{where}: discovery type {cluster.Type} is not implemented by fed-dp (EDS or STATIC)");
                break;
        }
        if (cluster.LbPolicy != Cluster.Types.LbPolicy.RoundRobin)
        {
            errors.Add($"{where}: lb_policy {cluster.LbPolicy} is not implemented by fed-dp (ROUND_ROBIN)");
        }
        if (cluster.TransportSocket is not null)
        {
            errors.Add($"{where}: transport_socket '{cluster.TransportSocket.Name}' would originate TLS; fed-dp passes TLS through untouched");
        }
        if (cluster.Http2ProtocolOptions is not null || cluster.TypedExtensionProtocolOptions.Count > 0)
        {
            errors.Add($"{where}: HTTP protocol options are not implemented by fed-dp (it proxies TCP)");
        }
        var timeout = cluster.ConnectTimeout is { } t ? t.ToTimeSpan() : DefaultConnectTimeout;
        if (timeout <= TimeSpan.Zero)
        {
            errors.Add($"{where}: connect_timeout must be positive");
        }
        var serviceName = cluster.EdsClusterConfig?.ServiceName is { Length: > 0 } s ? s : cluster.Name;
        return errors.Count == count ? new ParsedCluster(cluster.Name, serviceName, timeout, fixedEndpoints) : null;
    }

    private static ImmutableArray<UpstreamLocality>? ParseLoadAssignment(XdsClientResource resource, List<string> errors)
    {
        if (!TryUnpack<ClusterLoadAssignment>(resource, errors, out var assignment))
        {
            return null;
        }
        return ParseLocalities(assignment, $"ClusterLoadAssignment '{assignment.ClusterName}'", errors);
    }

    private static ImmutableArray<UpstreamLocality>? ParseLocalities(ClusterLoadAssignment assignment, string where, List<string> errors)
    {
        var count = errors.Count;
        var localities = ImmutableArray.CreateBuilder<UpstreamLocality>();
        foreach (var locality in assignment.Endpoints)
        {
            var endpoints = ImmutableArray.CreateBuilder<UpstreamEndpoint>();
            foreach (var lb in locality.LbEndpoints)
            {
                if (lb.Endpoint is null)
                {
                    errors.Add($"{where}: an lb_endpoint without an endpoint");
                    continue;
                }
                if (ParseAddress(lb.Endpoint.Address, $"{where}: endpoint", errors) is not { } address)
                {
                    continue;
                }
                var weight = lb.LoadBalancingWeight ?? 1;
                if (weight == 0)
                {
                    errors.Add($"{where}: endpoint {address} has load_balancing_weight 0");
                }
                // Envoy routes to HEALTHY, UNKNOWN (no health checking) and DEGRADED endpoints.
                var healthy = lb.HealthStatus is HealthStatus.Healthy or HealthStatus.Unknown or HealthStatus.Degraded;
                endpoints.Add(new UpstreamEndpoint(address, weight, healthy));
            }
            localities.Add(new UpstreamLocality(locality.Locality?.Zone ?? "", locality.Locality?.SubZone ?? "", locality.LoadBalancingWeight ?? 0, locality.Priority, endpoints.ToImmutable()));
        }
        return errors.Count == count ? localities.ToImmutable() : null;
    }

    private static IPEndPoint? ParseAddress(Address? address, string where, List<string> errors)
    {
        if (address?.SocketAddress is not { } socket)
        {
            errors.Add($"{where} is not a socket_address");
            return null;
        }
        if (socket.Protocol != SocketAddress.Types.Protocol.Tcp)
        {
            errors.Add($"{where} {socket.Address}:{socket.PortValue} is {socket.Protocol}; fed-dp proxies TCP");
            return null;
        }
        if (!IPAddress.TryParse(socket.Address, out var ip))
        {
            errors.Add($"{where} '{socket.Address}' is not an IP address (fed-dp does not resolve names)");
            return null;
        }
        if (socket.PortValue is 0 or > 65535)
        {
            errors.Add($"{where} {socket.Address} has port {socket.PortValue}");
            return null;
        }
        return new IPEndPoint(ip, (int)socket.PortValue);
    }

    private static bool TryUnpack<T>(XdsClientResource resource, List<string> errors, out T message)
        where T : class, IMessage<T>, new()
    {
        try
        {
            message = resource.Resource.Unpack<T>();
            return true;
        }
        catch (InvalidProtocolBufferException e)
        {
            errors.Add($"undecodable {typeof(T).Name} '{resource.Name}': {e.Message}");
            message = null!;
            return false;
        }
    }
}
