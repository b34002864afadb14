using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Federation.Resources;
using Federation.Serialization;
using Federation.Validation;

namespace Federation.Cli.Tests.Fakes;

/// <summary>
/// An in-memory control plane implementing the REST API contract fedctl is written against: index, type
/// registry, list (paged, with absolute <c>next</c> links) / get / put (201/200, dry run) / delete for every
/// registered type, token endpoints, bearer auth on writes, and RFC 7807 problems. It answers for any host.
/// </summary>
internal sealed class FakeControlPlane(TimeProvider time) : HttpMessageHandler
{
    public const string AdminToken = "admin-token-123";

    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, (JsonObject Document, long Version)> _store = new(StringComparer.Ordinal);
    private readonly List<RecordedRequest> _requests = [];

    /// <summary>What the fake was asked, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_lock)
            {
                return [.. _requests];
            }
        }
    }

    public string Mode { get; init; } = "global";

    public bool RequireTokenForReads { get; set; }

    /// <summary>The origin <c>next</c> links name (default: the one asked), as a server behind a proxy might.</summary>
    public string? AdvertisedOrigin { get; set; }

    /// <summary>Runs before the normal handling; a non-null answer replaces it (to inject failures).</summary>
    public Func<HttpRequestMessage, HttpResponseMessage?>? Intercept { get; set; }

    /// <summary>Accept requests but never answer them, so only the client's timeout ends them.</summary>
    public bool NeverAnswer { get; set; }

    public JsonObject? Find(string type, string mesh, string name)
    {
        lock (_lock)
        {
            return _store.TryGetValue(Key(type, mesh, name), out var entry) ? (JsonObject)entry.Document.DeepClone() : null;
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _store.Count;
            }
        }
    }

    /// <summary>Stores documents directly, as if applied earlier (validated like a PUT).</summary>
    public void Seed(string yaml)
    {
        foreach (var document in YamlJson.ParseDocuments(yaml))
        {
            var resource = ResourceDocument.Parse(document).Resource;
            Store(resource);
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        lock (_lock)
        {
            _requests.Add(new RecordedRequest(request.Method.Method, request.RequestUri!, request.Headers.Authorization?.ToString(), request.Headers.UserAgent.ToString(), request.Content?.Headers.ContentType?.MediaType, body));
        }
        if (NeverAnswer)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
        if (Intercept?.Invoke(request) is { } intercepted)
        {
            return intercepted;
        }
        var uri = request.RequestUri!;
        var segments = uri.AbsolutePath.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var query = ParseQuery(uri.Query);
        var isWrite = request.Method != HttpMethod.Get;
        if ((isWrite || RequireTokenForReads) && Authenticate(request) is { } denied)
        {
            return denied;
        }
        return (request.Method.Method, segments) switch
        {
            ("GET", []) => Json(HttpStatusCode.OK, new JsonObject { ["product"] = "Federation", ["version"] = "0.1.0", ["mode"] = Mode }),
            ("GET", ["_resources"]) => Json(HttpStatusCode.OK, Registry()),
            ("POST", ["tokens", "zone"]) => Token("zone", body),
            ("POST", ["tokens", "dataplane"]) => Token("dataplane", body),
            ("GET", ["meshes", var mesh, var plural]) when MeshScoped(plural) is { } type => List(uri, type, mesh, query),
            ("GET", [var plural]) when ByPlural(plural) is { } type => List(uri, type, null, query),
            (_, ["meshes", var mesh, var plural, var name]) when MeshScoped(plural) is { } type => Item(request.Method, type, mesh, name, body, query),
            (_, [var plural, var name]) when ByPlural(plural) is { IsMeshScoped: false } type => Item(request.Method, type, "", name, body, query),
            _ => Problem(HttpStatusCode.NotFound, "Not Found", $"no route for {request.Method} {uri.AbsolutePath}"),
        };
    }

    private HttpResponseMessage? Authenticate(HttpRequestMessage request)
    {
        var auth = request.Headers.Authorization;
        if (auth is null)
        {
            return Problem(HttpStatusCode.Unauthorized, "Unauthorized", "authentication required: send an admin token as 'Authorization: Bearer <token>'");
        }
        return auth.Scheme == "Bearer" && auth.Parameter == AdminToken
            ? null
            : Problem(HttpStatusCode.Forbidden, "Forbidden", "the token is not a valid admin token");
    }

    private HttpResponseMessage List(Uri uri, ResourceTypeDescriptor type, string? mesh, Dictionary<string, string> query)
    {
        if (mesh is not null && Find(ResourceTypes.Mesh.Name, "", mesh) is null)
        {
            return Problem(HttpStatusCode.NotFound, "Not Found", $"mesh \"{mesh}\" not found");
        }
        List<JsonObject> all;
        lock (_lock)
        {
            all = [.. _store.Values
                .Select(e => e.Document)
                .Where(d => (string?)d["type"] == type.Name && (mesh is null || (string?)d["mesh"] == mesh))
                .Select(d => (JsonObject)d.DeepClone())];
        }
        var size = query.TryGetValue("size", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : 100;
        var offset = query.TryGetValue("offset", out var o) ? int.Parse(o, CultureInfo.InvariantCulture) : 0;
        var page = all.Skip(offset).Take(size).ToList();
        string? next = offset + size < all.Count
            ? $"{AdvertisedOrigin ?? uri.GetLeftPart(UriPartial.Authority)}{uri.AbsolutePath}?size={size}&offset={offset + size}"
            : null;
        return Json(HttpStatusCode.OK, new JsonObject
        {
            ["total"] = all.Count,
            ["items"] = new JsonArray([.. page]),
            ["next"] = next,
        });
    }

    private HttpResponseMessage Item(HttpMethod method, ResourceTypeDescriptor type, string mesh, string name, string? body, Dictionary<string, string> query)
    {
        var subject = type.IsMeshScoped ? $"{type.Name} \"{name}\" (mesh {mesh})" : $"{type.Name} \"{name}\"";
        if (method == HttpMethod.Get)
        {
            return Find(type.Name, mesh, name) is { } found ? Json(HttpStatusCode.OK, found) : Problem(HttpStatusCode.NotFound, "Not Found", $"{subject} not found");
        }
        if (method == HttpMethod.Delete)
        {
            lock (_lock)
            {
                return _store.Remove(Key(type.Name, mesh, name))
                    ? Json(HttpStatusCode.OK, new JsonObject())
                    : Problem(HttpStatusCode.NotFound, "Not Found", $"{subject} not found");
            }
        }
        if (method != HttpMethod.Put)
        {
            return Problem(HttpStatusCode.MethodNotAllowed, "Method Not Allowed", $"{method} is not allowed here");
        }

        Resource resource;
        try
        {
            resource = ResourceDocument.Parse(JsonNode.Parse(body ?? "")).Resource;
        }
        catch (ValidationException e)
        {
            return Problem(HttpStatusCode.BadRequest, "Bad Request", $"{subject} is invalid", e.Errors);
        }
        if (resource.Type != type.Name || resource.Name != name || resource.Mesh != mesh)
        {
            return Problem(HttpStatusCode.BadRequest, "Bad Request", $"{subject} is invalid", [new ValidationError("", "type, mesh and name in the body must match the URL")]);
        }
        if (type.IsMeshScoped && Find(ResourceTypes.Mesh.Name, "", mesh) is null)
        {
            return Problem(HttpStatusCode.BadRequest, "Bad Request", $"{subject} is invalid", [new ValidationError("mesh", $"mesh \"{mesh}\" does not exist")]);
        }
        if (query.TryGetValue("dryRun", out var dry) && dry == "true")
        {
            return Json(HttpStatusCode.OK, ResourceDocument.ToDocument(resource));
        }
        var (document, version, created) = Store(resource);
        var response = Json(created ? HttpStatusCode.Created : HttpStatusCode.OK, document);
        response.Headers.ETag = new System.Net.Http.Headers.EntityTagHeaderValue($"\"{version}\"");
        return response;
    }

    private (JsonObject Document, long Version, bool Created) Store(Resource resource)
    {
        lock (_lock)
        {
            var key = Key(resource.Type, resource.Mesh, resource.Name);
            var now = time.GetUtcNow();
            var existing = _store.TryGetValue(key, out var e) ? e : default;
            var created = existing.Document is null;
            var creationTime = created ? now : DateTimeOffset.Parse((string)existing.Document!["creationTime"]!, CultureInfo.InvariantCulture);
            var version = existing.Version + 1;
            var document = ResourceDocument.ToDocument(resource with { Version = version, CreationTime = creationTime, ModificationTime = now });
            _store[key] = (document, version);
            return ((JsonObject)document.DeepClone(), version, created);
        }
    }

    private static HttpResponseMessage Token(string kind, string? body)
    {
        var request = JsonNode.Parse(body ?? "{}")!.AsObject();
        var subject = kind == "zone" ? (string?)request["zone"] : $"{request["mesh"]}.{request["name"]}";
        if (string.IsNullOrEmpty(subject) || request["validFor"] is null)
        {
            return Problem(HttpStatusCode.BadRequest, "Bad Request", "invalid token request", [new ValidationError(kind == "zone" ? "zone" : "name", "is required")]);
        }
        var payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(request.ToJsonString())).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln", Encoding.UTF8, "text/plain") };
    }

    private static JsonObject Registry() => new()
    {
        ["resources"] = new JsonArray([.. ResourceTypes.All.Select(d => (JsonNode)new JsonObject
        {
            ["name"] = d.Name,
            ["plural"] = d.Plural,
            ["singular"] = d.Singular,
            ["aliases"] = new JsonArray([.. d.Aliases.Select(a => (JsonNode)JsonValue.Create(a))]),
            ["scope"] = d.Scope.ToString(),
            ["hasSpec"] = d.HasSpecField,
            ["readOnly"] = !d.WritableOnGlobal,
        })]),
    };

    public static HttpResponseMessage Problem(HttpStatusCode status, string title, string detail, IReadOnlyList<ValidationError>? errors = null)
    {
        var problem = new JsonObject
        {
            ["type"] = "about:blank",
            ["title"] = title,
            ["status"] = (int)status,
            ["detail"] = detail,
        };
        if (errors is not null)
        {
            problem["invalid_parameters"] = new JsonArray([.. errors.Select(e => (JsonNode)new JsonObject { ["field"] = e.Field, ["reason"] = e.Message })]);
        }
        return new HttpResponseMessage(status) { Content = new StringContent(problem.ToJsonString(), Encoding.UTF8, "application/problem+json") };
    }

    private static HttpResponseMessage Json(HttpStatusCode status, JsonNode body) =>
        new(status) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };

    private static ResourceTypeDescriptor? ByPlural(string plural) =>
        ResourceTypes.TryGetByPlural(plural, out var d) ? d : null;

    private static ResourceTypeDescriptor? MeshScoped(string plural) =>
        ByPlural(plural) is { IsMeshScoped: true } d ? d : null;

    private static string Key(string type, string mesh, string name) => $"{type}/{mesh}/{name}";

    private static Dictionary<string, string> ParseQuery(string query) =>
        query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0]), p => p.Length > 1 ? Uri.UnescapeDataString(p[1]) : "");
}

/// <summary>One request the fake received.</summary>
internal sealed record RecordedRequest(string Method, Uri Uri, string? Authorization, string UserAgent, string? ContentType, string? Body)
{
    public override string ToString() => $"{Method} {Uri.PathAndQuery}";
}
