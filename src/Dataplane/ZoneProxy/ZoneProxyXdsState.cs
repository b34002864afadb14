using Federation.Kds.Xds;

namespace Federation.Dataplane.ZoneProxy;

/// <summary>How the proxy's xDS stream is doing, for <c>/stats</c>: the client (while running), ACKs, NACKs and the last NACK.</summary>
internal sealed class ZoneProxyXdsState
{
    private long _acks;
    private long _nacks;
    private volatile string? _lastNack;

    public XdsClient? Client { get; set; }

    public long Acks => Interlocked.Read(ref _acks);

    public long Nacks => Interlocked.Read(ref _nacks);

    public string? LastNack => _lastNack;

    public void Acked(XdsUpdate update) => Interlocked.Increment(ref _acks);

    public void Nacked(XdsUpdate update)
    {
        Interlocked.Increment(ref _nacks);
        _lastNack = $"{update.TypeUrl} {update.Version}: {update.Error}";
    }
}
