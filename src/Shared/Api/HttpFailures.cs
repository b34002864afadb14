using System.Net.Sockets;

namespace Federation.Api;

/// <summary>Why an HTTP request to a control plane got no answer, in a few words, for one-line errors (fedctl, fed-dp).</summary>
public static class HttpFailures
{
    public static bool IsConnectionRefused(HttpRequestException e) =>
        e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused };

    public static string Describe(HttpRequestException e)
    {
        if (e.InnerException is SocketException socket)
        {
            return socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused",
                SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "unknown host",
                SocketError.TimedOut => "connection timed out",
                SocketError.HostUnreachable or SocketError.NetworkUnreachable => "host unreachable",
                _ => OneLine(socket.Message),
            };
        }
        return e.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "unknown host",
            HttpRequestError.SecureConnectionError => $"TLS handshake failed ({OneLine(e.InnerException?.Message ?? e.Message)})",
            HttpRequestError.ResponseEnded => "the connection closed before an answer arrived",
            _ => OneLine(e.InnerException?.Message ?? e.Message),
        };
    }

    private static string OneLine(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
