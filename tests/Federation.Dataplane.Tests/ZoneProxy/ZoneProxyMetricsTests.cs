using System.Diagnostics.Metrics;
using Federation.Dataplane.ZoneProxy.Stats;

namespace Federation.Dataplane.Tests.ZoneProxy;

public sealed class ZoneProxyMetricsTests
{
    [Fact]
    public void Instruments_ReportTheCountersOnTheFederationMeter_ByOutcomeClusterAndDirection()
    {
        var stats = new ZoneProxyStats();
        using var metrics = new ZoneProxyMetrics(stats, "ingress");
        stats.ConnectionAccepted();
        stats.ConnectionAccepted();
        stats.ConnectionClosed(ConnectionOutcome.UnknownSni);
        var cluster = stats.Cluster("backend.default");
        cluster.Opened();
        cluster.AddDownstreamToUpstream(100);
        cluster.AddUpstreamToDownstream(250);
        var seen = new List<(string Name, long Value, Dictionary<string, string> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this test's instruments: other tests may have proxies (and meters of the same name) alive.
            if (instrument.Meter == metrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            seen.Add((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => $"{t.Value}"))));
        listener.Start();

        listener.RecordObservableInstruments();

        long Value(string name, params (string Key, string Value)[] tags) =>
            seen.Single(s => s.Name == name && tags.All(t => s.Tags.GetValueOrDefault(t.Key) == t.Value)).Value;
        Assert.Equal(ZoneProxyMetrics.MeterName, metrics.Meter.Name);
        Assert.Equal(2, Value("federation.zoneproxy.connections.accepted", ("proxy", "ingress")));
        Assert.Equal(1, Value("federation.zoneproxy.connections.active"));
        Assert.Equal(1, Value("federation.zoneproxy.connections.closed", ("outcome", "unknown_sni")));
        Assert.Equal(0, Value("federation.zoneproxy.connections.closed", ("outcome", "forwarded")));
        Assert.Equal(1, Value("federation.zoneproxy.cluster.connections", ("cluster", "backend.default")));
        Assert.Equal(100, Value("federation.zoneproxy.bytes", ("cluster", "backend.default"), ("direction", "downstream_to_upstream")));
        Assert.Equal(250, Value("federation.zoneproxy.bytes", ("cluster", "backend.default"), ("direction", "upstream_to_downstream")));
    }
}
