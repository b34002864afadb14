using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Resources;
using Federation.Validation;

namespace Federation.Serialization;

/// <summary>A resource parsed from a manifest, with the optional <c>version</c> it expects to replace.</summary>
public sealed record ParsedResource(Resource Resource, long? ExpectedVersion);

/// <summary>
/// Converts between Kuma's universal format (a YAML/JSON document with <c>type</c>, <c>name</c>, <c>mesh</c>,
/// <c>labels</c> and the body beside them or under <c>spec</c>) and <see cref="Resource"/>.
/// </summary>
public static class ResourceDocument
{
    private static readonly HashSet<string> MetaFields = new(StringComparer.Ordinal)
    {
        "type", "name", "mesh", "labels", "creationTime", "modificationTime", "version",
    };

    /// <summary>The type named by a document, without validating the rest.</summary>
    public static string? TypeOf(JsonNode? document) =>
        document is JsonObject o && o.TryGetPropertyValue("type", out var t) && t is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>()
            : null;

    /// <summary>Parses and validates one document; throws <see cref="ValidationException"/> listing every problem.</summary>
    public static ParsedResource Parse(JsonNode? document)
    {
        var ctx = new ValidationContext();
        if (document is not JsonObject doc)
        {
            throw new ValidationException("", $"a resource must be an object, got {SchemaChecker.Describe(document)}");
        }
        var typeName = ReadString(doc, "type", ctx, required: true);
        if (typeName is null)
        {
            throw new ValidationException(ctx.Errors);
        }
        if (!ResourceTypes.TryGet(typeName, out var descriptor))
        {
            throw new ValidationException("type", $"unknown type '{typeName}' (known types: {string.Join(", ", ResourceTypes.All.Select(d => d.Name))})");
        }

        var name = ReadString(doc, "name", ctx, required: true);
        if (name is not null && (descriptor == ResourceTypes.Mesh || descriptor == ResourceTypes.Zone
            ? Names.CheckDnsLabelName(name)
            : Names.CheckResourceName(name)) is { } nameProblem)
        {
            ctx.Error("name", nameProblem);
        }

        var mesh = ReadString(doc, "mesh", ctx, required: descriptor.IsMeshScoped);
        if (!descriptor.IsMeshScoped && mesh is not null)
        {
            ctx.Error("mesh", $"{descriptor.Name} is not mesh-scoped; remove 'mesh'");
            mesh = null;
        }
        if (mesh is not null && Names.CheckDnsLabelName(mesh) is { } meshProblem)
        {
            ctx.Error("mesh", meshProblem);
        }

        var labels = ReadLabels(doc, ctx);
        long? expectedVersion = null;
        if (doc.TryGetPropertyValue("version", out var versionNode) && versionNode is not null)
        {
            if (versionNode is JsonValue vv && vv.TryGetValue<long>(out var version) && version >= 0)
            {
                expectedVersion = version;
            }
            else
            {
                ctx.Error("version", $"must be a non-negative integer, got {SchemaChecker.Describe(versionNode)}");
            }
        }
        foreach (var field in new[] { "creationTime", "modificationTime" })
        {
            if (doc.TryGetPropertyValue(field, out var t) && t is not null &&
                (t is not JsonValue tv || tv.GetValueKind() != JsonValueKind.String || !DateTimeOffset.TryParse(tv.GetValue<string>(), CultureInfo.InvariantCulture, out _)))
            {
                ctx.Error(field, $"must be an RFC 3339 time (it is set by the server and may be omitted), got {SchemaChecker.Describe(t)}");
            }
        }

        JsonObject body;
        ValidationContext bodyCtx;
        if (descriptor.HasSpecField)
        {
            foreach (var (field, _) in doc)
            {
                if (!MetaFields.Contains(field) && field != "spec" && !(field == "status" && descriptor.HasStatus))
                {
                    ctx.Error(field, $"unknown field (a {descriptor.Name} has type, name, mesh, labels and spec)");
                }
            }
            bodyCtx = ctx.At("spec");
            if (!doc.TryGetPropertyValue("spec", out var specNode) || specNode is null)
            {
                bodyCtx.Error("is required");
                throw new ValidationException(ctx.Errors);
            }
            if (specNode is not JsonObject specObject)
            {
                bodyCtx.Error($"must be an object, got {SchemaChecker.Describe(specNode)}");
                throw new ValidationException(ctx.Errors);
            }
            body = specObject;
        }
        else
        {
            bodyCtx = ctx;
            body = [];
            foreach (var (field, value) in doc)
            {
                if (!MetaFields.Contains(field) && !(field == "status" && descriptor.HasStatus))
                {
                    body[field] = value?.DeepClone();
                }
            }
        }

        if (!ctx.IsValid)
        {
            // Report meta and body problems together.
            ParseBody(descriptor, body, bodyCtx);
            throw new ValidationException(ctx.Errors);
        }
        var canonical = ParseBody(descriptor, body, bodyCtx);
        if (!ctx.IsValid)
        {
            throw new ValidationException(ctx.Errors);
        }

        var resourceKey = new ResourceKey(descriptor.Name, mesh ?? "", name!);
        return new ParsedResource(new Resource(resourceKey, canonical!, labels), expectedVersion);
    }

    /// <summary>
    /// Checks a body against its type's schema and semantics and returns its canonical JSON, or null with the
    /// errors recorded in <paramref name="bodyCtx"/>.
    /// </summary>
    public static string? ParseBody(ResourceTypeDescriptor descriptor, JsonObject body, ValidationContext bodyCtx)
    {
        var before = bodyCtx.Errors.Count;
        SchemaChecker.Check(body, descriptor.TypeInfo, bodyCtx);
        if (bodyCtx.Errors.Count > before)
        {
            return null;
        }
        object spec;
        try
        {
            spec = body.Deserialize(descriptor.TypeInfo) ?? throw new JsonException("empty body");
        }
        catch (JsonException e)
        {
            // The schema check should have caught it; report rather than crash if it did not.
            bodyCtx.Error(e.Message);
            return null;
        }
        ResourceTypeDescriptor.Validate(spec, bodyCtx);
        return bodyCtx.Errors.Count > before ? null : descriptor.SerializeSpec(spec);
    }

    /// <summary>Name, mesh and label rules of a resource that arrived without a document (KDS).</summary>
    public static void CheckIdentity(ResourceTypeDescriptor descriptor, string name, string mesh, IEnumerable<KeyValuePair<string, string>> labels, ValidationContext ctx)
    {
        if ((descriptor == ResourceTypes.Mesh || descriptor == ResourceTypes.Zone ? Names.CheckDnsLabelName(name) : Names.CheckResourceName(name)) is { } nameProblem)
        {
            ctx.Error("name", nameProblem);
        }
        if (descriptor.IsMeshScoped && Names.CheckDnsLabelName(mesh) is { } meshProblem)
        {
            ctx.Error("mesh", meshProblem);
        }
        else if (!descriptor.IsMeshScoped && mesh.Length > 0)
        {
            ctx.Error("mesh", $"{descriptor.Name} is not mesh-scoped");
        }
        var lc = ctx.At("labels");
        foreach (var (key, value) in labels)
        {
            if (Names.CheckLabelKey(key) is { } keyProblem)
            {
                lc.AtMapKey(key).Error(keyProblem);
            }
            if (Names.CheckLabelValue(value) is { } valueProblem)
            {
                lc.AtMapKey(key).Error(valueProblem);
            }
        }
    }

    private static string? ReadString(JsonObject doc, string field, ValidationContext ctx, bool required)
    {
        if (!doc.TryGetPropertyValue(field, out var node) || node is null)
        {
            if (required)
            {
                ctx.Error(field, "is required");
            }
            return null;
        }
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            return v.GetValue<string>();
        }
        ctx.Error(field, $"must be a string, got {SchemaChecker.Describe(node)}");
        return null;
    }

    private static ImmutableSortedDictionary<string, string> ReadLabels(JsonObject doc, ValidationContext ctx)
    {
        var labels = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (!doc.TryGetPropertyValue("labels", out var node) || node is null)
        {
            return labels.ToImmutable();
        }
        if (node is not JsonObject obj)
        {
            ctx.Error("labels", $"must be a map of strings, got {SchemaChecker.Describe(node)}");
            return labels.ToImmutable();
        }
        var lc = ctx.At("labels");
        foreach (var (key, value) in obj)
        {
            var entry = lc.AtMapKey(key);
            if (Names.CheckLabelKey(key) is { } keyProblem)
            {
                entry.Error(keyProblem);
            }
            if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
            {
                entry.Error($"must be a string, got {SchemaChecker.Describe(value)}");
                continue;
            }
            var text = v.GetValue<string>();
            if (Names.CheckLabelValue(text) is { } valueProblem)
            {
                entry.Error(valueProblem);
            }
            labels[key] = text;
        }
        return labels.ToImmutable();
    }

    /// <summary>The document a user sees: meta first, then the body (flat or under <c>spec</c>), then <c>status</c>.</summary>
    public static JsonObject ToDocument(Resource resource)
    {
        var descriptor = resource.Descriptor;
        var doc = new JsonObject { ["type"] = resource.Type };
        if (descriptor.IsMeshScoped)
        {
            doc["mesh"] = resource.Mesh;
        }
        doc["name"] = resource.Name;
        if (resource.Version > 0)
        {
            doc["creationTime"] = FormatTime(resource.CreationTime);
            doc["modificationTime"] = FormatTime(resource.ModificationTime);
        }
        if (resource.Labels.Count > 0)
        {
            var labels = new JsonObject();
            foreach (var (k, v) in resource.Labels)
            {
                labels[k] = v;
            }
            doc["labels"] = labels;
        }
        var body = JsonNode.Parse(resource.Spec) as JsonObject ?? [];
        if (descriptor.HasSpecField)
        {
            doc["spec"] = body;
        }
        else
        {
            foreach (var (k, v) in body.ToList())
            {
                body.Remove(k);
                doc[k] = v;
            }
        }
        if (resource.Status is { } status)
        {
            doc["status"] = JsonNode.Parse(status);
        }
        return doc;
    }

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}
