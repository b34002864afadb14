namespace Federation.Cli.Client;

/// <summary>The API a command talks to and the token it presents.</summary>
internal sealed record ControlPlaneTarget(Uri Address, string? Token)
{
    /// <summary>The address as messages show it, e.g. <c>http://127.0.0.1:5681</c>.</summary>
    public string Display => Address.GetLeftPart(UriPartial.Path).TrimEnd('/');

    /// <summary>Parses an http(s) URL, or fails with a message naming where the address came from.</summary>
    public static ControlPlaneTarget Create(string address, string? token, string source) =>
        TryNormalize(address, out var uri)
            ? new ControlPlaneTarget(uri, string.IsNullOrWhiteSpace(token) ? null : token.Trim())
            : throw new CliException($"invalid control plane address \"{address}\" ({source}): expected an http:// or https:// URL such as http://127.0.0.1:5681");

    /// <summary>An absolute http(s) URL ending in a slash, so relative API paths resolve below any prefix it has.</summary>
    public static bool TryNormalize(string address, out Uri uri)
    {
        if (!Uri.TryCreate(address.Trim(), UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || parsed.Host.Length == 0)
        {
            uri = null!;
            return false;
        }
        uri = parsed.AbsolutePath.EndsWith('/') ? parsed : new UriBuilder(parsed) { Path = parsed.AbsolutePath + "/" }.Uri;
        return true;
    }
}
