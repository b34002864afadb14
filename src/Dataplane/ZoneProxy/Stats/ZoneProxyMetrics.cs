using System.Diagnostics.Metrics;

namespace Federation.Dataplane.ZoneProxy.Stats;

/// <summary>
/// The proxy's counters as OpenTelemetry instruments on the <c>Federation</c> meter (<c>federation.zoneproxy.*</c>),
/// observed from <see cref="ZoneProxyStats"/> when a reader collects, so moving bytes costs nothing extra.
/// Every measurement carries <c>proxy</c> (ingress|egress); per-cluster ones carry <c>cluster</c>.
/// </summary>
internal sealed class ZoneProxyMetrics : IDisposable
{
    public const string MeterName = "Federation";

    private readonly Meter _meter;

    public ZoneProxyMetrics(ZoneProxyStats stats, string proxyType, IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        var proxy = new KeyValuePair<string, object?>("proxy", proxyType);
        _meter.CreateObservableCounter("federation.zoneproxy.connections.accepted", () => new Measurement<long>(stats.Accepted, proxy),
            unit: "{connection}", description: "Downstream connections accepted");
        _meter.CreateObservableUpDownCounter("federation.zoneproxy.connections.active", () => new Measurement<long>(stats.Active, proxy),
            unit: "{connection}", description: "Downstream connections open now");
        _meter.CreateObservableCounter("federation.zoneproxy.connections.closed",
            () => stats.ClosedByOutcome.Select(o => new Measurement<long>(o.Count, proxy, new("outcome", ZoneProxyStats.Name(o.Outcome)))),
            unit: "{connection}", description: "Downstream connections closed, by outcome (forwarded, unknown_sni, no_sni, no_healthy_endpoint, ...)");
        _meter.CreateObservableCounter("federation.zoneproxy.cluster.connections",
            () => stats.Clusters.Select(c => new Measurement<long>(c.Connections, proxy, new("cluster", c.Name))),
            unit: "{connection}", description: "Connections forwarded to an endpoint of the cluster");
        _meter.CreateObservableUpDownCounter("federation.zoneproxy.cluster.connections.active",
            () => stats.Clusters.Select(c => new Measurement<long>(c.Active, proxy, new("cluster", c.Name))),
            unit: "{connection}", description: "Connections to the cluster open now");
        _meter.CreateObservableCounter("federation.zoneproxy.cluster.connect_failures",
            () => stats.Clusters.Select(c => new Measurement<long>(c.ConnectFailures, proxy, new("cluster", c.Name))),
            unit: "{attempt}", description: "Attempts to connect to an endpoint of the cluster that failed");
        _meter.CreateObservableCounter("federation.zoneproxy.bytes",
            () => stats.Clusters.SelectMany(c => new[]
            {
                new Measurement<long>(c.BytesDownstreamToUpstream, proxy, new("cluster", c.Name), new("direction", "downstream_to_upstream")),
                new Measurement<long>(c.BytesUpstreamToDownstream, proxy, new("cluster", c.Name), new("direction", "upstream_to_downstream")),
            }),
            unit: "By", description: "Bytes spliced, by cluster and direction");
    }

    /// <summary>This proxy's meter (several proxies in one process each have their own).</summary>
    public Meter Meter => _meter;

    public void Dispose() => _meter.Dispose();
}
