using System.Collections.Concurrent;

namespace Federation.Dataplane.ZoneProxy.Stats;

/// <summary>How a downstream connection ended; the names are those of <c>/stats</c> and of the metrics' <c>outcome</c> tag.</summary>
internal enum ConnectionOutcome
{
    /// <summary>Routed and spliced until both directions ended (or one side reset).</summary>
    Forwarded,

    /// <summary>The ClientHello had no server_name extension and no filter chain matches every name.</summary>
    NoSni,

    /// <summary>No filter chain matches the SNI.</summary>
    UnknownSni,

    /// <summary>The first bytes are not a TLS handshake record.</summary>
    NotTls,

    /// <summary>TLS records that do not hold a well-formed ClientHello.</summary>
    InvalidClientHello,

    /// <summary>The ClientHello is larger than the limit.</summary>
    ClientHelloTooLarge,

    /// <summary>The client sent no complete ClientHello in time.</summary>
    ClientHelloTimeout,

    /// <summary>The client closed (or reset) before its ClientHello was complete.</summary>
    DownstreamClosedEarly,

    /// <summary>The filter chain's cluster is unknown or has no healthy endpoint.</summary>
    NoHealthyEndpoint,

    /// <summary>Every endpoint tried refused the connection or did not answer within the connect timeout.</summary>
    UpstreamConnectFailed,

    /// <summary>No listener is configured (the proxy is shutting down or lost its config).</summary>
    NoListener,
}

/// <summary>The counters of one cluster: connections routed to it and the bytes they carried.</summary>
internal sealed class ClusterStats(string name)
{
    private long _connections;
    private long _active;
    private long _downstreamToUpstream;
    private long _upstreamToDownstream;
    private long _connectFailures;
    private long _noHealthyEndpoint;

    public string Name { get; } = name;

    /// <summary>Connections forwarded to an endpoint of the cluster.</summary>
    public long Connections => Interlocked.Read(ref _connections);

    public long Active => Interlocked.Read(ref _active);

    public long BytesDownstreamToUpstream => Interlocked.Read(ref _downstreamToUpstream);

    public long BytesUpstreamToDownstream => Interlocked.Read(ref _upstreamToDownstream);

    /// <summary>Failed attempts to connect to an endpoint (a connection may try several).</summary>
    public long ConnectFailures => Interlocked.Read(ref _connectFailures);

    public long NoHealthyEndpoint => Interlocked.Read(ref _noHealthyEndpoint);

    public void Opened()
    {
        Interlocked.Increment(ref _connections);
        Interlocked.Increment(ref _active);
    }

    public void Closed() => Interlocked.Decrement(ref _active);

    public void AddDownstreamToUpstream(long bytes) => Interlocked.Add(ref _downstreamToUpstream, bytes);

    public void AddUpstreamToDownstream(long bytes) => Interlocked.Add(ref _upstreamToDownstream, bytes);

    public void ConnectFailed() => Interlocked.Increment(ref _connectFailures);

    public void NoEndpoint() => Interlocked.Increment(ref _noHealthyEndpoint);
}

/// <summary>
/// The proxy's counters since start: connections accepted, active and closed by outcome, and per cluster. Plain
/// interlocked longs on the hot path; the metrics and <c>/stats</c> read them.
/// </summary>
internal sealed class ZoneProxyStats
{
    private static readonly ConnectionOutcome[] Outcomes = Enum.GetValues<ConnectionOutcome>();

    private readonly long[] _closed = new long[Outcomes.Length];
    private readonly ConcurrentDictionary<string, ClusterStats> _clusters = new(StringComparer.Ordinal);
    private long _accepted;
    private long _active;

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Active => Interlocked.Read(ref _active);

    public IEnumerable<ClusterStats> Clusters => _clusters.Values.OrderBy(c => c.Name, StringComparer.Ordinal);

    public ClusterStats Cluster(string name) => _clusters.GetOrAdd(name, n => new ClusterStats(n));

    public long Closed(ConnectionOutcome outcome) => Interlocked.Read(ref _closed[(int)outcome]);

    public IEnumerable<(ConnectionOutcome Outcome, long Count)> ClosedByOutcome => Outcomes.Select(o => (o, Closed(o)));

    public void ConnectionAccepted()
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _active);
    }

    /// <summary>Raised after each connection's outcome was counted (tests and benchmarks await it).</summary>
    public event Action<ConnectionOutcome>? ConnectionEnded;

    public void ConnectionClosed(ConnectionOutcome outcome)
    {
        Interlocked.Increment(ref _closed[(int)outcome]);
        Interlocked.Decrement(ref _active);
        ConnectionEnded?.Invoke(outcome);
    }

    /// <summary>snake_case, as in Envoy's stats.</summary>
    public static string Name(ConnectionOutcome outcome) => outcome switch
    {
        ConnectionOutcome.Forwarded => "forwarded",
        ConnectionOutcome.NoSni => "no_sni",
        ConnectionOutcome.UnknownSni => "unknown_sni",
        ConnectionOutcome.NotTls => "not_tls",
        ConnectionOutcome.InvalidClientHello => "invalid_client_hello",
        ConnectionOutcome.ClientHelloTooLarge => "client_hello_too_large",
        ConnectionOutcome.ClientHelloTimeout => "client_hello_timeout",
        ConnectionOutcome.DownstreamClosedEarly => "downstream_closed_early",
        ConnectionOutcome.NoHealthyEndpoint => "no_healthy_endpoint",
        ConnectionOutcome.UpstreamConnectFailed => "upstream_connect_failed",
        ConnectionOutcome.NoListener => "no_listener",
        _ => outcome.ToString(),
    };
}
