using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Federation.Serialization;
using Federation.Validation;

namespace Federation.Resources;

/// <summary>Whether a type lives outside meshes or inside one.</summary>
public enum ResourceScope
{
    Global,
    Mesh,
}

/// <summary>Which way KDS carries a type. A type may flow both ways (ZoneIngress: up, then relayed down).</summary>
[Flags]
public enum KdsFlow
{
    None = 0,

    /// <summary>The global provides it; every zone consumes it.</summary>
    GlobalToZones = 1,

    /// <summary>Zones provide it; the global consumes it (inventory).</summary>
    ZoneToGlobal = 2,

    /// <summary>The global relays what one zone sent to every other zone.</summary>
    ZoneToZones = 4,
}

/// <summary>
/// Everything the system knows about one resource type: names (API path, CLI), scope, body shape, KDS flow
/// and API writability. The REST API, the CLI, the stores and KDS are all driven from these.
/// </summary>
public sealed class ResourceTypeDescriptor
{
    private JsonTypeInfo? _typeInfo;

    /// <summary>The type name as written in manifests, e.g. <c>MeshTrafficPermission</c>.</summary>
    public required string Name { get; init; }

    /// <summary>Lower-case plural used in API paths and the CLI, e.g. <c>meshtrafficpermissions</c>.</summary>
    public required string Plural { get; init; }

    /// <summary>Short names the CLI accepts besides the singular and plural (e.g. <c>mtp</c>).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    public required ResourceScope Scope { get; init; }

    /// <summary>True for policies: the body sits under <c>spec</c>; false for flat types (fields beside the meta).</summary>
    public required bool HasSpecField { get; init; }

    /// <summary>The record the body deserializes into; it validates itself.</summary>
    public required Type SpecType { get; init; }

    /// <summary>Types with a server-written <c>status</c>.</summary>
    public bool HasStatus { get; init; }

    public KdsFlow Flow { get; init; }

    /// <summary>Reading it needs the admin token even from loopback (key material).</summary>
    public bool SensitiveReads { get; init; }

    /// <summary>Writable through the global's API (false: written only by the system or synced from zones).</summary>
    public bool WritableOnGlobal { get; init; }

    /// <summary>Writable through a federated zone's API (zone-local resources). A standalone zone accepts writes to every type writable on the global too.</summary>
    public bool WritableOnZone { get; init; }

    /// <summary>Whether a resource of this type travels over KDS (e.g. private signing keys never leave the global).</summary>
    public Func<Resource, bool> IsSynced { get; init; } = static _ => true;

    public string Singular => Name.ToLowerInvariant();

    public bool IsMeshScoped => Scope == ResourceScope.Mesh;

    internal JsonTypeInfo TypeInfo => _typeInfo ??= FederationJson.Options.GetTypeInfo(SpecType);

    /// <summary>Parses a canonical body; the caller guarantees it was validated on the way in.</summary>
    public object DeserializeSpec(string json) =>
        JsonSerializer.Deserialize(json, TypeInfo) ?? throw new InvalidOperationException($"{Name}: empty body");

    public string SerializeSpec(object spec) => JsonSerializer.Serialize(spec, TypeInfo);

    /// <summary>Validates the semantics of a typed body (the schema was checked before it was deserialized).</summary>
    public static void Validate(object spec, ValidationContext context)
    {
        if (spec is IResourceSpec validatable)
        {
            validatable.Validate(context);
        }
    }

    public override string ToString() => Name;
}

/// <summary>A resource body that checks its own semantics.</summary>
public interface IResourceSpec
{
    void Validate(ValidationContext context);
}
