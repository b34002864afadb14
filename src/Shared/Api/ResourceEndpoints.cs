using System.Text;
using System.Text.Json.Nodes;
using Federation.Resources;
using Federation.Serialization;
using Federation.Stores;
using Federation.Validation;
using Mediator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Federation.Api;

/// <summary>
/// The REST API over every registered type, generated from the type registry: Kuma-shaped paths, lists
/// with total/items/next, problem+json errors.
/// </summary>
public static class ResourceEndpoints
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    public static IEndpointRouteBuilder MapResourceApi(this IEndpointRouteBuilder app)
    {
        foreach (var type in ResourceTypes.All)
        {
            if (type.IsMeshScoped)
            {
                var group = app.MapGroup($"/meshes/{{mesh}}/{type.Plural}").WithTags(type.Name);
                MapItemEndpoints(group, type);
                // Across meshes.
                app.MapGet($"/{type.Plural}", (HttpContext http, IMediator mediator, CancellationToken ct) =>
                    ListAsync(http, mediator, type, null, ct)).WithTags(type.Name);
            }
            else
            {
                MapItemEndpoints(app.MapGroup($"/{type.Plural}").WithTags(type.Name), type);
            }
        }
        app.MapGet("/_resources", () => TypedResults.Json(new
        {
            resources = ResourceTypes.All.Select(t => new
            {
                name = t.Name,
                plural = t.Plural,
                singular = t.Singular,
                aliases = t.Aliases,
                scope = t.Scope.ToString(),
                hasSpec = t.HasSpecField,
                readOnly = !t.WritableOnGlobal && !t.WritableOnZone,
            }),
        }));
        return app;
    }

    private static void MapItemEndpoints(RouteGroupBuilder group, ResourceTypeDescriptor type)
    {
        group.MapGet("", (HttpContext http, IMediator mediator, string? mesh, CancellationToken ct) =>
            ListAsync(http, mediator, type, mesh, ct));
        group.MapGet("{name}", (HttpContext http, IMediator mediator, string name, string? mesh, CancellationToken ct) =>
            GetAsync(http, mediator, new ResourceKey(type.Name, mesh ?? "", name), ct));
        group.MapPut("{name}", (HttpContext http, IMediator mediator, string name, string? mesh, CancellationToken ct) =>
            PutAsync(http, mediator, type, mesh, name, ct));
        group.MapDelete("{name}", (HttpContext http, IMediator mediator, string name, string? mesh, CancellationToken ct) =>
            DeleteAsync(http, mediator, new ResourceKey(type.Name, mesh ?? "", name), ct));
    }

    private static async Task<IResult> ListAsync(HttpContext http, IMediator mediator, ResourceTypeDescriptor type, string? mesh, CancellationToken ct)
    {
        var request = http.Request;
        var size = DefaultPageSize;
        if (request.Query.TryGetValue("size", out var sizeText) && (!int.TryParse(sizeText, out size) || size < 1 || size > MaxPageSize))
        {
            throw ApiException.BadRequest($"size must be an integer between 1 and {MaxPageSize}", [new ValidationError("size", $"got '{sizeText}'")]);
        }
        string? offset = request.Query.TryGetValue("offset", out var o) ? o.ToString() : null;
        if (offset is not null && !PageToken.TryDecode(offset, out _, out _))
        {
            throw ApiException.BadRequest("offset is not a token returned by this API (use the 'next' URL of the previous page)", [new ValidationError("offset", "invalid")]);
        }
        Dictionary<string, string>? labels = null;
        foreach (var (key, value) in request.Query)
        {
            if (key.StartsWith("labels.", StringComparison.Ordinal) && key.Length > 7)
            {
                (labels ??= [])[key[7..]] = value.ToString();
            }
        }
        if (mesh is not null && await mediator.Send(new GetResourceQuery(ResourceKey.Global(ResourceTypes.Mesh.Name, mesh)), ct) is null)
        {
            throw ApiException.NotFound($"mesh '{mesh}' does not exist");
        }
        var page = await mediator.Send(new ListResourcesQuery(new ResourceQuery(type.Name)
        {
            Mesh = mesh,
            Labels = labels,
            Limit = size,
            After = offset,
        }), ct);
        string? next = null;
        if (page.Next is not null)
        {
            var query = QueryString.Create(request.Query
                .Where(q => q.Key != "offset")
                .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)))
                .Append(new KeyValuePair<string, string?>("offset", page.Next)));
            next = $"{request.Scheme}://{request.Host}{request.PathBase}{request.Path}{query}";
        }
        var items = new JsonArray([.. page.Items.Select(r => (JsonNode)ResourceDocument.ToDocument(r))]);
        var body = new JsonObject { ["total"] = page.Total, ["items"] = items, ["next"] = next };
        return Results.Text(body.ToJsonString(FederationJson.Options), "application/json", Encoding.UTF8);
    }

    private static async Task<IResult> GetAsync(HttpContext http, IMediator mediator, ResourceKey key, CancellationToken ct)
    {
        var resource = await mediator.Send(new GetResourceQuery(key), ct) ?? throw ApiException.NotFound($"{key} not found");
        return Document(http, resource, StatusCodes.Status200OK);
    }

    private static async Task<IResult> PutAsync(HttpContext http, IMediator mediator, ResourceTypeDescriptor type, string? mesh, string name, CancellationToken ct)
    {
        var document = await ReadSingleDocumentAsync(http, ct);
        // The URL names the resource; the body may repeat it, but must not contradict it.
        var mismatches = new List<ValidationError>();
        FillOrCheck(document, "type", type.Name, mismatches);
        FillOrCheck(document, "name", name, mismatches);
        if (mesh is not null)
        {
            FillOrCheck(document, "mesh", mesh, mismatches);
        }
        if (mismatches.Count > 0)
        {
            throw ApiException.BadRequest("the body does not match the URL", mismatches);
        }

        ParsedResource parsed;
        try
        {
            parsed = ResourceDocument.Parse(document);
        }
        catch (ValidationException e)
        {
            var subject = mesh is null ? $"{type.Name} \"{name}\"" : $"{type.Name} \"{name}\" (mesh {mesh})";
            throw ApiException.BadRequest($"{subject} is invalid: {e.Message}", e.Errors);
        }
        var expected = parsed.ExpectedVersion;
        if (http.Request.Headers.IfMatch is { Count: > 0 } ifMatch)
        {
            var etag = ifMatch.ToString().Trim().Trim('"');
            if (!long.TryParse(etag, out var fromHeader))
            {
                throw ApiException.BadRequest($"If-Match must be an ETag returned by this API, got {ifMatch}");
            }
            if (expected is not null && expected != fromHeader)
            {
                throw ApiException.BadRequest($"If-Match ({fromHeader}) and the body's version ({expected}) disagree");
            }
            expected = fromHeader;
        }
        var dryRun = http.Request.Query.TryGetValue("dryRun", out var dr) && dr.ToString() is "true" or "1" or "";
        var result = await mediator.Send(new PutResourceCommand(parsed.Resource, expected, dryRun), ct);
        return Document(http, result.Resource, result.Created && !dryRun ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> DeleteAsync(HttpContext http, IMediator mediator, ResourceKey key, CancellationToken ct)
    {
        long? expected = null;
        if (http.Request.Headers.IfMatch is { Count: > 0 } ifMatch && long.TryParse(ifMatch.ToString().Trim().Trim('"'), out var v))
        {
            expected = v;
        }
        await mediator.Send(new DeleteResourceCommand(key, expected), ct);
        return Results.Text("{}", "application/json", Encoding.UTF8);
    }

    private static void FillOrCheck(JsonObject document, string field, string expected, List<ValidationError> mismatches)
    {
        if (!document.TryGetPropertyValue(field, out var node) || node is null)
        {
            document[field] = expected;
        }
        else if (node is not JsonValue v || !v.TryGetValue<string>(out var given) || given != expected)
        {
            mismatches.Add(new ValidationError(field, $"the body says {SchemaChecker.Describe(node)} but the URL says \"{expected}\""));
        }
    }

    private static IResult Document(HttpContext http, Resource resource, int status)
    {
        if (resource.Version > 0)
        {
            http.Response.Headers.ETag = new EntityTagHeaderValue($"\"{resource.Version}\"").ToString();
        }
        var json = ResourceDocument.ToDocument(resource).ToJsonString(FederationJson.Options);
        return Results.Text(json, "application/json", Encoding.UTF8, status);
    }

    /// <summary>
    /// A string field of a request body (token requests and the like); a missing required field or a value that is not a
    /// string is reported on <paramref name="errors"/> under the field's name.
    /// </summary>
    public static string? ReadString(JsonObject body, string field, ValidationContext errors, bool required)
    {
        var node = body[field];
        if (node is null)
        {
            if (required)
            {
                errors.Error(field, "is required");
            }
            return null;
        }
        if (node is JsonValue v && v.TryGetValue<string>(out var s))
        {
            return s;
        }
        errors.Error(field, "must be a string");
        return null;
    }

    /// <summary>Reads a body of at most the configured size and parses it as one JSON or YAML document.</summary>
    public static async Task<JsonObject> ReadSingleDocumentAsync(HttpContext http, CancellationToken ct)
    {
        var text = await RequestBody.ReadTextAsync(http, ct);
        IReadOnlyList<JsonNode?> documents;
        try
        {
            documents = YamlJson.ParseJsonOrYaml(text);
        }
        catch (DocumentFormatException e)
        {
            throw ApiException.BadRequest(e.Message);
        }
        return documents switch
        {
            [] => throw ApiException.BadRequest("the body is empty; send one resource document"),
            [JsonObject single] => single,
            [var other] => throw ApiException.BadRequest($"the body must be a resource object, got {SchemaChecker.Describe(other)}"),
            _ => throw ApiException.BadRequest($"the body holds {documents.Count} documents; send one per request"),
        };
    }
}
