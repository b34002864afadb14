using Envoy.Service.Discovery.V3;
using Federation.Kds.Cache;
using Federation.Kds.Streams;
using Federation.Kds.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Status = Google.Rpc.Status;

namespace Federation.Kds.Tests.Streams;

/// <summary>A <see cref="KdsResponder"/> running over fake streams, a fake snapshot source and a fake clock.</summary>
internal sealed class ResponderHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

    public ResponderHarness(string[] served, KdsStreamOptions? options = null, Func<KdsSnapshot, Func<CachedResource, bool>>? peerFilter = null)
    {
        var responder = new KdsResponder("zone test", Source, served, peerFilter, options ?? new KdsStreamOptions(), Observer, Time, NullLogger.Instance);
        Run = responder.RunAsync(Requests, Responses, _stop.Token);
    }

    public FakeSnapshotSource Source { get; } = new();

    public ChannelStreamReader<DeltaDiscoveryRequest> Requests { get; } = new();

    public ChannelStreamWriter<DeltaDiscoveryResponse> Responses { get; } = new();

    public RecordingObserver Observer { get; } = new();

    public FakeTimeProvider Time { get; } = new();

    /// <summary>The responder's run; completes when the stream ends.</summary>
    public Task Run { get; }

    public void Subscribe(string type)
    {
        var request = new DeltaDiscoveryRequest { TypeUrl = type };
        request.ResourceNamesSubscribe.Add("*");
        Requests.Send(request);
    }

    public void Ack(DeltaDiscoveryResponse response) =>
        Requests.Send(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce });

    public void Nack(DeltaDiscoveryResponse response, string reason) =>
        Requests.Send(new DeltaDiscoveryRequest
        {
            TypeUrl = response.TypeUrl,
            ResponseNonce = response.Nonce,
            ErrorDetail = new Status { Code = 3, Message = reason },
        });

    /// <summary>The next response, which must be of <paramref name="type"/>.</summary>
    public async Task<DeltaDiscoveryResponse> NextAsync(string type, string what)
    {
        var response = await Responses.NextAsync($"{what} ({type})");
        Assert.True(response.TypeUrl == type, $"expected {what} of {type}, got a {response.TypeUrl} response");
        return response;
    }

    /// <summary>
    /// Proves nothing else was sent for the types already subscribed: a new type's subscription is handled after
    /// everything before it, so once its full state arrives, any earlier response would have been written first.
    /// </summary>
    public async Task AssertNothingMoreSentAsync(string barrierType)
    {
        Subscribe(barrierType);
        var next = await Responses.NextAsync($"the full state of {barrierType} (barrier)");
        Assert.True(next.TypeUrl == barrierType, $"expected nothing before the {barrierType} barrier, got a {next.TypeUrl} response: {next}");
        Ack(next);
    }

    /// <summary>Waits (polling, with a timeout) until the responder has processed the ACKs of <paramref name="type"/> sent so far.</summary>
    public async Task WaitForAcksAsync(string type, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (AckCount(type) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the responder did not process {count} ACK(s) of {type} within 5s (saw {AckCount(type)})");
            await Task.Delay(2, TestContext.Current.CancellationToken);
        }
    }

    private int AckCount(string type) => Observer.Acked.Count(t => t == type);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Run.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or KdsProtocolException or TimeoutException)
        {
        }
        _stop.Dispose();
    }
}
