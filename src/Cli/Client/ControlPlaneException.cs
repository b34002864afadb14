namespace Federation.Cli.Client;

/// <summary>The control plane refused a request or could not be reached; the message is the one line to show.</summary>
internal sealed class ControlPlaneException(string message, int? statusCode = null, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The HTTP status, or null when no answer arrived.</summary>
    public int? StatusCode { get; } = statusCode;
}
