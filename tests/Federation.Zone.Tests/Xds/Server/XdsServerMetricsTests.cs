using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Federation.Zone.Tests.Xds.Server.Fakes;
using Federation.Zone.Xds.Server;

namespace Federation.Zone.Tests.Xds.Server;

/// <summary>The ADS server's instruments, observed with a MeterListener scoped to this test's meter factory.</summary>
public sealed class XdsServerMetricsTests : IDisposable
{
    private readonly AdsServiceUnderTest _ads = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);
    private readonly Pulse _measured = new();

    public XdsServerMetricsTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == _ads.MeterScope && instrument.Name.StartsWith("federation.xds.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var tag = tags.Length > 0 ? $"{tags[0].Key}={tags[0].Value}" : "";
            _totals.AddOrUpdate($"{instrument.Name}[{tag}]", value, (_, total) => total + value);
            _measured.Set();
        });
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _ads.Dispose();
    }

    private long Total(string key) => _totals.TryGetValue(key, out var v) ? v : 0;

    private Task TotalAsync(string key, long expected) =>
        _measured.WaitUntilAsync(() => Total(key) == expected, $"{key} to be {expected}", () => Total(key).ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task AdsService_SotwStreamWithAckAndNack_CountsStreamsResponsesAcksAndNacks()
    {
        _ads.Source.Proxy("default.metrics").Publish(b => b.Listener("a"));
        var s = await _ads.SotwAsync(Sotw.Request(XdsTypes.Listener), "default.metrics");
        await TotalAsync("federation.xds.streams[kind=sotw]", 1);

        var first = await s.NextAsync(XdsTypes.Listener, "LDS");
        await s.SendAsync(Sotw.Ack(first));
        await s.PublishAsync(b => b.Listener("a", "2"));
        var second = await s.NextAsync(XdsTypes.Listener, "LDS v2");
        await s.SendAsync(Sotw.Nack(second, first.VersionInfo, "no"));

        await TotalAsync($"federation.xds.nacks[type={XdsTypes.Listener}]", 1);
        Assert.Equal(1, Total($"federation.xds.acks[type={XdsTypes.Listener}]"));
        Assert.Equal(2, Total($"federation.xds.responses[type={XdsTypes.Listener}]"));

        await s.DisposeAsync();
        await TotalAsync("federation.xds.streams[kind=sotw]", 0);
    }

    [Fact]
    public async Task AdsService_DeltaStream_CountedAsDelta()
    {
        await using var s = await _ads.DeltaAsync(Delta.Subscribe(XdsTypes.Cluster), "default.metrics-delta");

        await TotalAsync("federation.xds.streams[kind=delta]", 1);
        await s.NextAsync(XdsTypes.Cluster, "CDS");
        Assert.Equal(1, Total($"federation.xds.responses[type={XdsTypes.Cluster}]"));
    }
}
