using System.Diagnostics.Metrics;

namespace Federation.Zone.Xds.Server;

/// <summary>
/// ADS server instruments on the <c>Federation</c> meter: connected streams by kind (<c>sotw</c>|<c>delta</c>),
/// responses sent, ACKs and NACKs by type URL.
/// </summary>
public sealed class XdsServerMetrics : IDisposable
{
    public const string MeterName = "Federation";

    private readonly Meter _meter;
    private readonly UpDownCounter<long> _streams;
    private readonly Counter<long> _responses;
    private readonly Counter<long> _acks;
    private readonly Counter<long> _nacks;

    public XdsServerMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _streams = _meter.CreateUpDownCounter<long>("federation.xds.streams", unit: "{stream}", description: "Connected xDS streams by kind (sotw, delta)");
        _responses = _meter.CreateCounter<long>("federation.xds.responses", unit: "{response}", description: "xDS responses sent by type URL");
        _acks = _meter.CreateCounter<long>("federation.xds.acks", unit: "{ack}", description: "xDS responses accepted by proxies, by type URL");
        _nacks = _meter.CreateCounter<long>("federation.xds.nacks", unit: "{nack}", description: "xDS responses rejected by proxies, by type URL");
    }

    internal void StreamOpened(string kind) => _streams.Add(1, new KeyValuePair<string, object?>("kind", kind));

    internal void StreamClosed(string kind) => _streams.Add(-1, new KeyValuePair<string, object?>("kind", kind));

    internal void ResponseSent(string typeUrl) => _responses.Add(1, new KeyValuePair<string, object?>("type", typeUrl));

    internal void Acked(string typeUrl) => _acks.Add(1, new KeyValuePair<string, object?>("type", typeUrl));

    internal void Nacked(string typeUrl) => _nacks.Add(1, new KeyValuePair<string, object?>("type", typeUrl));

    public void Dispose() => _meter.Dispose();
}
