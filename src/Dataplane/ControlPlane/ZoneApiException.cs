namespace Federation.Dataplane.ControlPlane;

/// <summary>
/// A zone API call failed; the message is the one line fed-dp prints. <see cref="Transient"/> says whether trying
/// again later may help (the zone is unreachable, starting, or overloaded) rather than the request being wrong.
/// </summary>
internal sealed class ZoneApiException(string message, int? status, bool transient, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The HTTP status the zone answered, or null when it did not answer.</summary>
    public int? Status { get; } = status;

    public bool Transient { get; } = transient;
}
