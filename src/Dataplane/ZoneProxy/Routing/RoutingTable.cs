using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;

namespace Federation.Dataplane.ZoneProxy.Routing;

/// <summary>The listener a zone proxy serves: where it listens and its filter chains.</summary>
internal sealed record ListenerRoute(string Name, IPEndPoint Address, ImmutableArray<ChainRoute> Chains);

/// <summary>
/// One filter chain: the SNIs it matches (<c>filter_chain_match.server_names</c>; empty: any TLS connection) and the
/// cluster its <c>tcp_proxy</c> forwards to.
/// </summary>
internal sealed record ChainRoute(string Name, ImmutableArray<string> ServerNames, string Cluster, string StatPrefix);

/// <summary>A cluster with the endpoints EDS gave it (none yet when its ClusterLoadAssignment has not arrived).</summary>
internal sealed record ClusterRoute(string Name, TimeSpan ConnectTimeout, EndpointPicker Endpoints, bool HasLoadAssignment);

/// <summary>Why a connection found no route.</summary>
internal enum RouteMiss
{
    None,
    NoListener,
    NoServerName,
    UnknownServerName,
}

/// <summary>
/// Everything a connection needs to be routed, immutable: built whole from one xDS snapshot and swapped atomically,
/// so a connection routes on one consistent config and established connections never see a change.
/// </summary>
internal sealed class RoutingTable
{
    private readonly FrozenDictionary<string, ChainRoute> _exact;
    private readonly ImmutableArray<(string Suffix, ChainRoute Chain)> _wildcards;
    private readonly ChainRoute? _catchAll;

    public RoutingTable(ListenerRoute? listener, ImmutableDictionary<string, ClusterRoute> clusters, string version)
    {
        Listener = listener;
        Clusters = clusters;
        Version = version;
        var exact = new Dictionary<string, ChainRoute>(StringComparer.Ordinal);
        var wildcards = new List<(string, ChainRoute)>();
        foreach (var chain in listener?.Chains ?? [])
        {
            if (chain.ServerNames.IsEmpty)
            {
                _catchAll ??= chain;
            }
            foreach (var name in chain.ServerNames)
            {
                if (name.StartsWith("*.", StringComparison.Ordinal))
                {
                    wildcards.Add((name[1..], chain));
                }
                else
                {
                    exact.TryAdd(name, chain);
                }
            }
        }
        _exact = exact.ToFrozenDictionary(StringComparer.Ordinal);
        // Envoy's order: an exact name, then the longest wildcard suffix, then a chain without server names.
        _wildcards = [.. wildcards.OrderByDescending(w => w.Item1.Length)];
    }

    public static RoutingTable Empty { get; } = new(null, ImmutableDictionary<string, ClusterRoute>.Empty, "");

    public ListenerRoute? Listener { get; }

    public ImmutableDictionary<string, ClusterRoute> Clusters { get; }

    /// <summary>The xDS versions this table was built from, for logs and stats.</summary>
    public string Version { get; }

    /// <summary>The filter chain for a ClientHello's SNI (lower case; null when it sent none).</summary>
    public (ChainRoute? Chain, RouteMiss Miss) Match(string? serverName)
    {
        if (Listener is null)
        {
            return (null, RouteMiss.NoListener);
        }
        if (serverName is not null)
        {
            if (_exact.TryGetValue(serverName, out var chain))
            {
                return (chain, RouteMiss.None);
            }
            foreach (var (suffix, wildcard) in _wildcards)
            {
                if (serverName.Length > suffix.Length && serverName.EndsWith(suffix, StringComparison.Ordinal))
                {
                    return (wildcard, RouteMiss.None);
                }
            }
        }
        return _catchAll is not null ? (_catchAll, RouteMiss.None) : (null, serverName is null ? RouteMiss.NoServerName : RouteMiss.UnknownServerName);
    }

    public ClusterRoute? Cluster(string name) => Clusters.GetValueOrDefault(name);
}
