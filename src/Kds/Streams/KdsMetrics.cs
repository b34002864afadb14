using System.Diagnostics.Metrics;

namespace Federation.Kds.Streams;

/// <summary>
/// KDS instruments on the <c>Federation</c> meter: open streams by zone and direction, responses sent, ACKed and
/// NACKed by type, responses applied and refused, and sync latency (response sent to ACK).
/// </summary>
public sealed class KdsMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly UpDownCounter<long> _streams;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _acked;
    private readonly Counter<long> _nacked;
    private readonly Counter<long> _applied;
    private readonly Counter<long> _refused;
    private readonly Histogram<double> _latency;

    public KdsMetrics(IMeterFactory meters)
    {
        _meter = meters.Create("Federation");
        _streams = _meter.CreateUpDownCounter<long>("federation.kds.streams", unit: "{stream}", description: "Open KDS streams by zone and direction");
        _sent = _meter.CreateCounter<long>("federation.kds.responses.sent", unit: "{response}", description: "KDS responses sent by type and zone");
        _acked = _meter.CreateCounter<long>("federation.kds.responses.acked", unit: "{response}", description: "KDS responses ACKed by type and zone");
        _nacked = _meter.CreateCounter<long>("federation.kds.responses.nacked", unit: "{response}", description: "KDS responses NACKed by type and zone");
        _applied = _meter.CreateCounter<long>("federation.kds.responses.applied", unit: "{response}", description: "KDS responses received and applied by type and zone");
        _refused = _meter.CreateCounter<long>("federation.kds.responses.refused", unit: "{response}", description: "KDS responses received with rejected resources, by type and zone");
        _latency = _meter.CreateHistogram<double>("federation.kds.sync.latency", unit: "ms", description: "Time from sending a KDS response to its ACK, by type");
    }

    public void StreamOpened(string zone, string stream) => _streams.Add(1, Tag("zone", zone), Tag("stream", stream));

    public void StreamClosed(string zone, string stream) => _streams.Add(-1, Tag("zone", zone), Tag("stream", stream));

    /// <summary>An observer that records one zone's stream events.</summary>
    public IKdsStreamObserver For(string zone, IKdsStreamObserver? inner = null) => new Observer(this, zone, inner ?? IKdsStreamObserver.None);

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);

    public void Dispose() => _meter.Dispose();

    private sealed class Observer(KdsMetrics metrics, string zone, IKdsStreamObserver inner) : IKdsStreamObserver
    {
        public void OnResponseSent(string type, int resources, int removed, bool full)
        {
            metrics._sent.Add(1, Tag("type", type), Tag("zone", zone));
            inner.OnResponseSent(type, resources, removed, full);
        }

        public void OnAcked(string type, TimeSpan latency)
        {
            metrics._acked.Add(1, Tag("type", type), Tag("zone", zone));
            metrics._latency.Record(latency.TotalMilliseconds, Tag("type", type));
            inner.OnAcked(type, latency);
        }

        public void OnNacked(string type, string reason)
        {
            metrics._nacked.Add(1, Tag("type", type), Tag("zone", zone));
            inner.OnNacked(type, reason);
        }

        public void OnSendFailed(string type, string reason) => inner.OnSendFailed(type, reason);

        public void OnResponseApplied(string type, int resources, int removed, IReadOnlyList<string> rejected)
        {
            metrics._applied.Add(1, Tag("type", type), Tag("zone", zone));
            if (rejected.Count > 0)
            {
                metrics._refused.Add(1, Tag("type", type), Tag("zone", zone));
            }
            inner.OnResponseApplied(type, resources, removed, rejected);
        }
    }
}
