namespace Federation.Kds.Streams;

/// <summary>Limits and timers of a KDS stream (either direction).</summary>
public sealed class KdsStreamOptions
{
    public const int DefaultMaxMessageBytes = 32 * 1024 * 1024;

    /// <summary>Largest message sent or accepted; a larger response is refused with an error naming type, size and count.</summary>
    public int MaxMessageBytes { get; set; } = DefaultMaxMessageBytes;

    /// <summary>A response not ACKed or NACKed within this time ends the stream (the peer is stuck or gone).</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Every this often each type is re-sent as a full state, repairing drift on the receiver.</summary>
    public TimeSpan FullResyncInterval { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>What happens on a stream, for insights, metrics and logs. Implementations must be cheap and thread-safe.</summary>
public interface IKdsStreamObserver
{
    /// <summary>A response was sent (serving side).</summary>
    void OnResponseSent(string type, int resources, int removed, bool full) { }

    /// <summary>The peer ACKed our response; <paramref name="latency"/> is from send to ACK.</summary>
    void OnAcked(string type, TimeSpan latency) { }

    /// <summary>The peer NACKed our response (valid resources in it were still applied).</summary>
    void OnNacked(string type, string reason) { }

    /// <summary>A response could not be sent (e.g. over the size limit); the type's sync waits for the next change.</summary>
    void OnSendFailed(string type, string reason) { }

    /// <summary>We applied a response (receiving side); <paramref name="rejected"/> lists resources we NACKed.</summary>
    void OnResponseApplied(string type, int resources, int removed, IReadOnlyList<string> rejected) { }

    public static readonly IKdsStreamObserver None = new NoObserver();

    private sealed class NoObserver : IKdsStreamObserver;
}

/// <summary>A protocol violation by the peer: the stream ends with InvalidArgument and this message.</summary>
public sealed class KdsProtocolException(string message) : Exception(message);
