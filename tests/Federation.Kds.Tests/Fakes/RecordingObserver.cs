using System.Collections.Concurrent;
using Federation.Kds.Streams;

namespace Federation.Kds.Tests.Fakes;

/// <summary>Records what a stream reports to its observer.</summary>
public sealed class RecordingObserver : IKdsStreamObserver
{
    public ConcurrentQueue<(string Type, int Resources, int Removed, bool Full)> Sent { get; } = new();

    public ConcurrentQueue<string> Acked { get; } = new();

    public ConcurrentQueue<(string Type, string Reason)> Nacked { get; } = new();

    public ConcurrentQueue<(string Type, string Reason)> SendFailed { get; } = new();

    public ConcurrentQueue<(string Type, int Resources, int Removed, IReadOnlyList<string> Rejected)> Applied { get; } = new();

    public void OnResponseSent(string type, int resources, int removed, bool full) => Sent.Enqueue((type, resources, removed, full));

    public void OnAcked(string type, TimeSpan latency) => Acked.Enqueue(type);

    public void OnNacked(string type, string reason) => Nacked.Enqueue((type, reason));

    public void OnSendFailed(string type, string reason) => SendFailed.Enqueue((type, reason));

    public void OnResponseApplied(string type, int resources, int removed, IReadOnlyList<string> rejected) => Applied.Enqueue((type, resources, removed, rejected));
}
