using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Api;
using Federation.Dataplane.Manifests;
using Federation.Dataplane.ZoneProxy;
using Federation.Serialization;

namespace Federation.Dataplane.ControlPlane;

/// <summary>
/// The zone control plane's REST API as a data-plane agent uses it. The token is read anew for every call, so a
/// rotated token file is picked up without a restart.
/// </summary>
internal sealed class ZoneApiClient : IZoneApi, IZoneProxyApi, IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly Func<string> _token;
    private readonly TimeSpan _timeout;

    public ZoneApiClient(Uri controlPlane, Func<string> token, HttpMessageHandler? handler, TimeSpan timeout)
    {
        _base = controlPlane.AbsoluteUri.EndsWith('/') ? controlPlane : new Uri(controlPlane.AbsoluteUri + "/");
        Address = controlPlane.AbsoluteUri.TrimEnd('/');
        _token = token;
        _timeout = timeout;
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler { ConnectTimeout = timeout })
            : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = timeout;
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("fed-dp", Version));
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    public static string Version { get; } =
        (typeof(ZoneApiClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    public string Address { get; }

    public async Task<XdsServerInfo> GetXdsServerAsync(CancellationToken cancellationToken)
    {
        const string Action = "cannot learn where the zone serves xDS from";
        var body = await SendAsync(HttpMethod.Get, "status/xds", null, Action, cancellationToken);
        var json = ParseObject(body.Text, Action);
        var address = Text(json["address"]);
        var zone = Text(json["zone"]);
        if (address is null || zone is null)
        {
            throw new ZoneApiException($"{Action} {Address}: the answer to GET /status/xds has no \"address\" or \"zone\" (is this a zone control plane?)", (int)body.Status, transient: false);
        }
        return new XdsServerInfo(address, zone);
    }

    public async Task<bool> RegisterAsync(DataplaneManifest dataplane, CancellationToken cancellationToken)
    {
        using var content = new StringContent(dataplane.Document.ToJsonString(FederationJson.Options), Encoding.UTF8, "application/json");
        var response = await SendAsync(HttpMethod.Put, DataplanePath(dataplane), content, $"cannot register Dataplane {dataplane.Id} on", cancellationToken);
        return response.Status == HttpStatusCode.Created;
    }

    public async Task UnregisterAsync(DataplaneManifest dataplane, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(HttpMethod.Delete, DataplanePath(dataplane), null, $"cannot unregister Dataplane {dataplane.Id} from", cancellationToken);
        }
        catch (ZoneApiException e) when (e.Status == 404)
        {
            // Already gone: what unregistering wants.
        }
    }

    public async Task<IssuedCertificate> FetchCertificateAsync(DataplaneManifest dataplane, CancellationToken cancellationToken)
    {
        var action = $"cannot get the certificate of Dataplane {dataplane.Id} from";
        var response = await SendAsync(HttpMethod.Post, DataplanePath(dataplane) + "/_certificate", null, action, cancellationToken);
        var json = ParseObject(response.Text, action);
        string Required(string field) => Text(json[field])
            ?? throw new ZoneApiException($"{action} {Address}: the answer has no \"{field}\"", (int)response.Status, transient: false);
        DateTimeOffset Time(string field) =>
            DateTimeOffset.TryParse(Required(field), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t
                : throw new ZoneApiException($"{action} {Address}: \"{field}\" is not a time", (int)response.Status, transient: false);
        return new IssuedCertificate(Required("certificate"), Required("privateKey"), Required("caCertificate"), Time("notBefore"), Time("notAfter"), Time("renewAt"));
    }

    public async Task<JsonObject?> GetZoneProxyAsync(ZoneProxyManifest proxy, CancellationToken cancellationToken)
    {
        var action = $"cannot read {proxy.Id} from";
        try
        {
            var response = await SendAsync(HttpMethod.Get, proxy.Path, null, action, cancellationToken);
            return ParseObject(response.Text, action);
        }
        catch (ZoneApiException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<bool> RegisterZoneProxyAsync(ZoneProxyManifest proxy, CancellationToken cancellationToken)
    {
        using var content = new StringContent(proxy.Document.ToJsonString(FederationJson.Options), Encoding.UTF8, "application/json");
        var response = await SendAsync(HttpMethod.Put, proxy.Path, content, $"cannot register {proxy.Id} on", cancellationToken);
        return response.Status == HttpStatusCode.Created;
    }

    public async Task UnregisterZoneProxyAsync(ZoneProxyManifest proxy, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(HttpMethod.Delete, proxy.Path, null, $"cannot unregister {proxy.Id} from", cancellationToken);
        }
        catch (ZoneApiException e) when (e.Status == 404)
        {
            // Already gone: what unregistering wants.
        }
    }

    public void Dispose() => _http.Dispose();

    private static string DataplanePath(DataplaneManifest dataplane) =>
        $"meshes/{Uri.EscapeDataString(dataplane.Mesh)}/dataplanes/{Uri.EscapeDataString(dataplane.Name)}";

    private async Task<(HttpStatusCode Status, string Text)> SendAsync(HttpMethod method, string path, HttpContent? content, string action, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(_base, path)) { Content = content };
        string token;
        try
        {
            token = _token();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DataplaneException)
        {
            throw new ZoneApiException($"{action} {Address}: {e.Message}", null, transient: false, e);
        }
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                var transient = status is 408 or 429 or >= 500;
                throw new ZoneApiException($"{action} {Address}: {Describe(response.StatusCode, text)}", status, transient);
            }
            return (response.StatusCode, text);
        }
        catch (HttpRequestException e)
        {
            var hint = HttpFailures.IsConnectionRefused(e) ? " (is the zone control plane running?)" : "";
            throw new ZoneApiException($"{action} {Address}: {HttpFailures.Describe(e)}{hint}", null, transient: true, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ZoneApiException($"{action} {Address}: no answer to {method} /{path} within {GoDuration.Format(_timeout)}", null, transient: true, e);
        }
    }

    /// <summary>The server's problem detail (RFC 7807), with each invalid field, or the status when it said nothing useful.</summary>
    internal static string Describe(HttpStatusCode status, string body)
    {
        var code = (int)status;
        var reason = $"HTTP {code.ToString(CultureInfo.InvariantCulture)} {ReasonPhrase(status)}";
        JsonObject? problem = null;
        try
        {
            problem = body.TrimStart().StartsWith('{') ? JsonNode.Parse(body) as JsonObject : null;
        }
        catch (JsonException)
        {
        }
        var detail = problem is null ? null : Text(problem["detail"]) ?? Text(problem["title"]);
        if (detail is null)
        {
            var plain = OneLine(body);
            return plain.Length is > 0 and <= 200 && problem is null ? $"{reason}: {plain}" : reason;
        }
        if (problem!["invalid_parameters"] is JsonArray invalid && invalid.Count > 0)
        {
            var fields = invalid.OfType<JsonObject>().Select(p => Text(p["field"]) is { Length: > 0 } f ? $"{f}: {Text(p["reason"])}" : Text(p["reason"]));
            detail = $"{detail.TrimEnd('.', ':', ' ')}: {string.Join("; ", fields)}";
        }
        return $"{OneLine(detail)} ({reason})";
    }

    private static string ReasonPhrase(HttpStatusCode status) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase((int)status) is { Length: > 0 } phrase ? phrase : status.ToString();

    private JsonObject ParseObject(string body, string action)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject json)
            {
                return json;
            }
        }
        catch (JsonException)
        {
        }
        throw new ZoneApiException($"{action} {Address}: the answer is not a JSON object (is this a zone control plane?)", null, transient: false);
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 } s ? s : null;

    internal static string OneLine(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
