using System.Collections.Immutable;
using System.Text;
using System.Text.Json.Nodes;
using Federation.Kds.Protocol;
using Federation.Resources;
using Federation.Serialization;
using Federation.Validation;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace Federation.Kds.Conversion;

/// <summary>
/// Resources on the KDS wire: the delta <c>type_url</c> is the bare type name, each resource is named
/// <c>&lt;name&gt;.&lt;mesh&gt;</c> (mesh-scoped; split on the last dot, mesh names have none) or <c>&lt;name&gt;</c>,
/// versioned by content hash, and carries a <see cref="KdsResource"/> (meta + JSON body).
/// </summary>
public static class KdsConversion
{
    public const string KdsResourceTypeUrl = "type.googleapis.com/federation.kds.v1.KdsResource";

    /// <summary>Marks a response that holds the complete state of its type: the receiver drops what it lacks.</summary>
    public const string FullStateMarker = "full";

    public static string WireName(ResourceKey key) => key.Mesh.Length == 0 ? key.Name : $"{key.Name}.{key.Mesh}";

    /// <summary>The key a wire name stands for; throws <see cref="FormatException"/> for a malformed mesh-scoped name.</summary>
    public static ResourceKey ParseWireName(ResourceTypeDescriptor type, string wireName)
    {
        if (!type.IsMeshScoped)
        {
            return ResourceKey.Global(type.Name, wireName);
        }
        var dot = wireName.LastIndexOf('.');
        if (dot <= 0 || dot == wireName.Length - 1)
        {
            throw new FormatException($"'{wireName}' is not a mesh-scoped KDS name (<name>.<mesh>)");
        }
        return new ResourceKey(type.Name, wireName[(dot + 1)..], wireName[..dot]);
    }

    public static DeltaResource ToWire(Resource resource)
    {
        var meta = new ResourceMeta
        {
            Type = resource.Type,
            Name = resource.Name,
            Mesh = resource.Mesh,
            Version = resource.Version,
        };
        meta.Labels.Add(resource.Labels);
        if (resource.Version > 0)
        {
            meta.CreationTime = Timestamp.FromDateTimeOffset(resource.CreationTime);
            meta.ModificationTime = Timestamp.FromDateTimeOffset(resource.ModificationTime);
        }
        var kds = new KdsResource { Meta = meta, Spec = ByteString.CopyFromUtf8(resource.Spec) };
        if (resource.Status is { } status)
        {
            kds.Status = ByteString.CopyFromUtf8(status);
        }
        return new DeltaResource
        {
            Name = WireName(resource.Key),
            Version = resource.ContentHash,
            Resource_ = new Any { TypeUrl = KdsResourceTypeUrl, Value = kds.ToByteString() },
        };
    }

    /// <summary>Metadata filter under which a KDS resource carries the trace of the write that produced it.</summary>
    public const string TraceFilter = "federation.io/trace";

    /// <summary><paramref name="wire"/> with the W3C <c>traceparent</c> of <paramref name="trace"/> (unchanged without a trace).</summary>
    public static DeltaResource WithTrace(DeltaResource wire, System.Diagnostics.ActivityContext trace)
    {
        if (Hosting.TraceContext.Format(trace) is not { } traceparent)
        {
            return wire;
        }
        var fields = new Struct();
        fields.Fields["traceparent"] = Value.ForString(traceparent);
        wire.Metadata = new Envoy.Config.Core.V3.Metadata { FilterMetadata = { [TraceFilter] = fields } };
        return wire;
    }

    /// <summary>The trace a received resource carries (default: none, or not one we can read).</summary>
    public static System.Diagnostics.ActivityContext TraceOf(DeltaResource wire) =>
        wire.Metadata?.FilterMetadata.TryGetValue(TraceFilter, out var fields) == true
        && fields.Fields.TryGetValue("traceparent", out var value) && value.KindCase == Value.KindOneofCase.StringValue
            ? Hosting.TraceContext.Parse(value.StringValue)
            : default;

    /// <summary>
    /// Decodes and validates a received resource exactly as the API would validate it, so nothing malformed
    /// reaches the store. Throws <see cref="ValidationException"/> with the reason.
    /// </summary>
    public static Resource FromWire(ResourceTypeDescriptor type, DeltaResource wire)
    {
        if (wire.Resource_ is null || wire.Resource_.TypeUrl != KdsResourceTypeUrl)
        {
            throw new ValidationException("resource", $"expected a {KdsResourceTypeUrl}, got '{wire.Resource_?.TypeUrl}'");
        }
        KdsResource kds;
        try
        {
            kds = KdsResource.Parser.ParseFrom(wire.Resource_.Value);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ValidationException("resource", $"undecodable KdsResource: {e.Message}");
        }
        var meta = kds.Meta ?? throw new ValidationException("meta", "is missing");
        if (meta.Type != type.Name)
        {
            throw new ValidationException("meta.type", $"a {meta.Type} was sent in the {type.Name} stream");
        }
        if (WireName(new ResourceKey(type.Name, meta.Mesh, meta.Name)) != wire.Name)
        {
            throw new ValidationException("name", $"wire name '{wire.Name}' does not match meta name '{meta.Name}' / mesh '{meta.Mesh}'");
        }

        // The same checks as the API, without rebuilding a document.
        var ctx = new ValidationContext();
        ResourceDocument.CheckIdentity(type, meta.Name, meta.Mesh, meta.Labels, ctx);
        JsonObject? body = null;
        try
        {
            body = JsonNode.Parse(kds.Spec.Span) as JsonObject;
        }
        catch (System.Text.Json.JsonException e)
        {
            ctx.Error("spec", $"is not JSON: {e.Message}");
        }
        if (body is null)
        {
            ctx.Error("spec", "must be a JSON object");
            throw new ValidationException(ctx.Errors);
        }
        var canonical = ResourceDocument.ParseBody(type, body, type.HasSpecField ? ctx.At("spec") : ctx);
        if (!ctx.IsValid)
        {
            throw new ValidationException(ctx.Errors);
        }
        var key = new ResourceKey(type.Name, meta.Mesh, meta.Name);
        return new Resource(key, canonical!, Labels(meta.Labels), kds.Status.IsEmpty ? null : Encoding.UTF8.GetString(kds.Status.Span));
    }

    public static ImmutableSortedDictionary<string, string> Labels(IEnumerable<KeyValuePair<string, string>> labels) =>
        labels.ToImmutableSortedDictionary(StringComparer.Ordinal);
}
