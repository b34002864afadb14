using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Web;
using Federation.Api;
using Federation.Serialization;

namespace Federation.Cli.Client;

/// <summary>The result of a list: every page followed, items in server order.</summary>
internal sealed record ResourceList(long Total, IReadOnlyList<JsonObject> Items)
{
    /// <summary>The list in the API's own shape, as if the server had answered in one page.</summary>
    public JsonObject ToJson() => new()
    {
        ["total"] = Total,
        ["items"] = new JsonArray([.. Items.Select(i => (JsonNode)i.DeepClone())]),
        ["next"] = null,
    };
}

/// <summary>What a PUT did: created (201) or updated (200), and the document the server stored (or would store, on a dry run).</summary>
internal sealed record PutResult(bool Created, JsonObject? Stored);

/// <summary>
/// A typed client for the control plane's REST API (the global's or a zone's). Every failure surfaces as a
/// <see cref="ControlPlaneException"/> whose message is the one line fedctl prints.
/// </summary>
internal sealed class ControlPlaneClient : IDisposable
{
    public const string ReachabilityHint = "is it running? check 'fedctl config control-planes list'";

    /// <summary>A list that keeps pointing at pages already read is a server bug; stop rather than loop forever.</summary>
    private const int MaxPages = 100_000;

    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;

    public ControlPlaneClient(ControlPlaneTarget target, HttpMessageHandler? handler, TimeSpan timeout)
    {
        Target = target;
        _timeout = timeout;
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler { ConnectTimeout = timeout, AutomaticDecompression = DecompressionMethods.All })
            : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = timeout;
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("fedctl", Version));
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    public ControlPlaneTarget Target { get; }

    /// <summary>fedctl's version, without build metadata.</summary>
    public static string Version { get; } =
        (typeof(ControlPlaneClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
            .Split('+')[0];

    /// <summary><c>GET /</c>: product, version, mode (global or zone) and, for a zone, its name.</summary>
    public async Task<JsonObject> GetIndexAsync(CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, Target.Address, null, null, cancellationToken);
        return ParseObject(response.Body, Target.Address);
    }

    /// <summary><c>GET /_resources</c>: the server's type registry.</summary>
    public async Task<IReadOnlyList<(ApiResourceType Type, IReadOnlyList<string> Names)>> GetResourceTypesAsync(CancellationToken cancellationToken)
    {
        var uri = Resolve("_resources");
        var response = await SendAsync(HttpMethod.Get, uri, null, null, cancellationToken);
        var result = new List<(ApiResourceType, IReadOnlyList<string>)>();
        if (ParseObject(response.Body, uri)["resources"] is not JsonArray resources)
        {
            return result;
        }
        foreach (var entry in resources.OfType<JsonObject>())
        {
            if (Text(entry["name"]) is not { } name || Text(entry["plural"]) is not { } plural)
            {
                continue;
            }
            var names = new List<string> { name, plural };
            if (Text(entry["singular"]) is { } singular)
            {
                names.Add(singular);
            }
            if (entry["aliases"] is JsonArray aliases)
            {
                names.AddRange(aliases.Select(Text).OfType<string>());
            }
            var meshScoped = string.Equals(Text(entry["scope"]), "Mesh", StringComparison.OrdinalIgnoreCase);
            result.Add((new ApiResourceType(name, plural, meshScoped), names));
        }
        return result;
    }

    /// <summary>
    /// Lists a type, in one mesh or (mesh null) everywhere, until the last page. The <c>offset</c> token of each
    /// <c>next</c> link is sent to the address fedctl was given, so a server that names itself differently (behind
    /// a proxy, or as localhost) still gets the token and the same path.
    /// </summary>
    public async Task<ResourceList> ListAsync(ApiResourceType type, string? mesh, int? pageSize, CancellationToken cancellationToken)
    {
        var path = type.IsMeshScoped && mesh is not null ? $"meshes/{Uri.EscapeDataString(mesh)}/{type.Plural}" : type.Plural;
        Uri Page(string? offset)
        {
            var query = new List<string>();
            if (pageSize is { } size)
            {
                query.Add("size=" + size.ToString(CultureInfo.InvariantCulture));
            }
            if (offset is not null)
            {
                query.Add("offset=" + Uri.EscapeDataString(offset));
            }
            return Resolve(query.Count == 0 ? path : $"{path}?{string.Join('&', query)}");
        }

        var subject = mesh is null ? type.Plural : $"{type.Plural} in mesh {mesh}";
        var items = new List<JsonObject>();
        long? total = null;
        var visited = new HashSet<string>(StringComparer.Ordinal);
        for (Uri? next = Page(null); next is not null;)
        {
            if (!visited.Add(next.AbsoluteUri) || visited.Count > MaxPages)
            {
                throw new ControlPlaneException($"the control plane at {Target.Display} sent a paging loop while listing {subject} (page {next} again)");
            }
            var response = await SendAsync(HttpMethod.Get, next, null, subject, cancellationToken);
            var page = ParseObject(response.Body, next);
            if (page["items"] is not JsonArray pageItems)
            {
                throw new ControlPlaneException($"unexpected answer from {next}: no \"items\" list");
            }
            foreach (var item in pageItems)
            {
                items.Add(item as JsonObject ?? throw new ControlPlaneException($"unexpected answer from {next}: an item is not an object"));
            }
            total ??= page["total"] is JsonValue t && t.TryGetValue<long>(out var n) ? n : null;
            if (Text(page["next"]) is not { } nextText)
            {
                next = null;
            }
            else
            {
                var link = ResolveNext(nextText, next);
                next = HttpUtility.ParseQueryString(link.Query)["offset"] is { } offset ? Page(offset) : link;
            }
        }
        // Detach the items from their page so callers may move them into other trees.
        var detached = items.Select(i => (JsonObject)i.DeepClone()).ToList();
        return new ResourceList(total ?? detached.Count, detached);
    }

    public async Task<JsonObject> GetAsync(ResourceRef resource, CancellationToken cancellationToken)
    {
        var uri = Resolve(resource.Path);
        var response = await SendAsync(HttpMethod.Get, uri, null, resource.ToString(), cancellationToken);
        return ParseObject(response.Body, uri);
    }

    /// <summary><c>PUT</c> one document (always JSON); with <paramref name="dryRun"/> the server validates it and writes nothing.</summary>
    public async Task<PutResult> PutAsync(ResourceRef resource, JsonObject document, bool dryRun, CancellationToken cancellationToken)
    {
        var uri = Resolve(resource.Path + (dryRun ? "?dryRun=true" : ""));
        using var content = new StringContent(document.ToJsonString(), Encoding.UTF8, "application/json");
        var response = await SendAsync(HttpMethod.Put, uri, content, resource.ToString(), cancellationToken);
        var stored = string.IsNullOrWhiteSpace(response.Body) ? null : ParseObject(response.Body, uri);
        return new PutResult(response.Status == HttpStatusCode.Created, stored);
    }

    public async Task DeleteAsync(ResourceRef resource, CancellationToken cancellationToken) =>
        await SendAsync(HttpMethod.Delete, Resolve(resource.Path), null, resource.ToString(), cancellationToken);

    /// <summary><c>POST /tokens/zone</c>: a token a zone control plane presents to the global.</summary>
    public Task<string> GenerateZoneTokenAsync(string zone, string validFor, IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["zone"] = zone, ["validFor"] = validFor };
        if (scopes.Count > 0)
        {
            body["scope"] = new JsonArray([.. scopes.Select(s => (JsonNode)JsonValue.Create(s))]);
        }
        return PostForTokenAsync("tokens/zone", body, $"a token for zone \"{zone}\"", cancellationToken);
    }

    /// <summary><c>POST /tokens/dataplane</c>: a token a data-plane proxy presents to its zone.</summary>
    public Task<string> GenerateDataplaneTokenAsync(string mesh, string name, string validFor, CancellationToken cancellationToken) =>
        PostForTokenAsync(
            "tokens/dataplane",
            new JsonObject { ["mesh"] = mesh, ["name"] = name, ["validFor"] = validFor },
            $"a token for dataplane \"{name}\" (mesh {mesh})",
            cancellationToken);

    /// <summary><c>GET</c> any JSON path of the API (overviews, status).</summary>
    public async Task<JsonObject> GetJsonAsync(string path, string subject, CancellationToken cancellationToken)
    {
        var uri = Resolve(path);
        var response = await SendAsync(HttpMethod.Get, uri, null, subject, cancellationToken);
        return ParseObject(response.Body, uri);
    }

    /// <summary><c>POST</c> a JSON body to an API path and read the JSON answer.</summary>
    public async Task<JsonObject> PostJsonAsync(string path, JsonObject body, string subject, CancellationToken cancellationToken)
    {
        var uri = Resolve(path);
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        var response = await SendAsync(HttpMethod.Post, uri, content, subject, cancellationToken);
        return ParseObject(response.Body, uri);
    }

    public void Dispose() => _http.Dispose();

    private async Task<string> PostForTokenAsync(string path, JsonObject body, string subject, CancellationToken cancellationToken)
    {
        var uri = Resolve(path);
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        var response = await SendAsync(HttpMethod.Post, uri, content, subject, cancellationToken);
        var token = response.Body.Trim();
        if (token.StartsWith('"'))
        {
            // Tolerate a JSON string where plain text was promised.
            token = JsonNode.Parse(token)?.GetValue<string>() ?? "";
        }
        return token.Length > 0 && !token.Any(char.IsWhiteSpace)
            ? token
            : throw new ControlPlaneException($"the control plane at {Target.Display} answered {path} without a token");
    }

    private Uri Resolve(string relative) => new(Target.Address, relative);

    private static Uri ResolveNext(string next, Uri current) =>
        Uri.TryCreate(current, next, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ControlPlaneException($"unexpected answer from {current}: \"next\" is not a URL ({next})");

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(
        HttpMethod method, Uri uri, HttpContent? content, string? subject, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        // The token goes only to the control plane it belongs to, never to another origin a "next" link names.
        if (Target.Token is { } token && Uri.Compare(uri, Target.Address, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new ControlPlaneException(Problems.Describe(response.StatusCode, response.ReasonPhrase, body, subject), (int)response.StatusCode);
            }
            return (response.StatusCode, body);
        }
        catch (HttpRequestException e)
        {
            throw new ControlPlaneException($"cannot reach the control plane at {Target.Display}: {HttpFailures.Describe(e)} ({ReachabilityHint})", null, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ControlPlaneException(
                $"the control plane at {Target.Display} did not answer {method} /{Target.Address.MakeRelativeUri(uri)} within {GoDuration.Format(_timeout)}",
                null,
                e);
        }
    }

    private static JsonObject ParseObject(string body, Uri from)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject obj)
            {
                return obj;
            }
        }
        catch (JsonException)
        {
        }
        throw new ControlPlaneException($"unexpected answer from {from}: not a JSON object (is this a Federation control plane?)");
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
