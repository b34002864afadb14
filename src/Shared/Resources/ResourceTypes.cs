using System.Collections.Frozen;
using Federation.Resources.Types;

namespace Federation.Resources;

/// <summary>The type registry: one descriptor per resource type.</summary>
public static class ResourceTypes
{
    public static readonly ResourceTypeDescriptor Mesh = new()
    {
        Name = "Mesh",
        Plural = "meshes",
        Scope = ResourceScope.Global,
        HasSpecField = false,
        SpecType = typeof(MeshSpec),
        Flow = KdsFlow.GlobalToZones,
        WritableOnGlobal = true,
    };

    public static readonly ResourceTypeDescriptor MeshTrafficPermission = new()
    {
        Name = "MeshTrafficPermission",
        Plural = "meshtrafficpermissions",
        Aliases = ["mtp", "mtps"],
        Scope = ResourceScope.Mesh,
        HasSpecField = true,
        SpecType = typeof(MeshTrafficPermissionSpec),
        Flow = KdsFlow.GlobalToZones,
        WritableOnGlobal = true,
        WritableOnZone = true,
    };

    public static readonly ResourceTypeDescriptor Dataplane = new()
    {
        Name = "Dataplane",
        Plural = "dataplanes",
        Aliases = ["dp", "dps"],
        Scope = ResourceScope.Mesh,
        HasSpecField = false,
        SpecType = typeof(DataplaneSpec),
        Flow = KdsFlow.ZoneToGlobal,
        WritableOnZone = true,
    };

    public static readonly ResourceTypeDescriptor DataplaneInsight = new()
    {
        Name = "DataplaneInsight",
        Plural = "dataplane-insights",
        Aliases = ["dataplaneinsights"],
        Scope = ResourceScope.Mesh,
        HasSpecField = false,
        SpecType = typeof(DataplaneInsightSpec),
        Flow = KdsFlow.ZoneToGlobal,
    };

    public static readonly ResourceTypeDescriptor ZoneIngress = new()
    {
        Name = "ZoneIngress",
        Plural = "zoneingresses",
        Scope = ResourceScope.Global,
        HasSpecField = false,
        SpecType = typeof(ZoneIngressSpec),
        Flow = KdsFlow.ZoneToGlobal | KdsFlow.ZoneToZones,
        WritableOnZone = true,
    };

    public static readonly ResourceTypeDescriptor ZoneEgress = new()
    {
        Name = "ZoneEgress",
        Plural = "zoneegresses",
        Scope = ResourceScope.Global,
        HasSpecField = false,
        SpecType = typeof(ZoneEgressSpec),
        Flow = KdsFlow.ZoneToGlobal,
        WritableOnZone = true,
    };

    public static readonly ResourceTypeDescriptor Zone = new()
    {
        Name = "Zone",
        Plural = "zones",
        Scope = ResourceScope.Global,
        HasSpecField = false,
        SpecType = typeof(ZoneSpec),
        WritableOnGlobal = true,
    };

    public static readonly ResourceTypeDescriptor ZoneInsight = new()
    {
        Name = "ZoneInsight",
        Plural = "zoneinsights",
        Scope = ResourceScope.Global,
        HasSpecField = false,
        SpecType = typeof(ZoneInsightSpec),
    };

    public static readonly ResourceTypeDescriptor VirtualIps = new()
    {
        Name = "VirtualIps",
        Plural = "virtualips",
        Aliases = ["vips"],
        Scope = ResourceScope.Global,
        HasSpecField = false,
        SpecType = typeof(VirtualIpsSpec),
    };

    public static readonly ResourceTypeDescriptor Secret = new()
    {
        Name = "Secret",
        Plural = "secrets",
        SensitiveReads = true,
        Scope = ResourceScope.Mesh,
        HasSpecField = false,
        SpecType = typeof(SecretSpec),
        Flow = KdsFlow.GlobalToZones,
        WritableOnGlobal = true,
        WritableOnZone = true,
        // Private signing keys are Secrets too, and must never leave the control plane that made them.
        IsSynced = static r => !r.Labels.ContainsKey(SecretLabels.Private),
    };

    public static readonly ResourceTypeDescriptor GlobalSecret = new()
    {
        Name = "GlobalSecret",
        Plural = "global-secrets",
        SensitiveReads = true,
        Aliases = ["globalsecrets"],
        Scope = ResourceScope.Global,
        HasSpecField = false,
        SpecType = typeof(SecretSpec),
        Flow = KdsFlow.GlobalToZones,
        WritableOnGlobal = true,
        // Private signing keys are GlobalSecrets too, and must never leave the global.
        IsSynced = static r => !r.Labels.ContainsKey(SecretLabels.Private),
    };

    /// <summary>Every registered type, in a stable order.</summary>
    public static IReadOnlyList<ResourceTypeDescriptor> All { get; } =
        [Mesh, MeshTrafficPermission, Dataplane, DataplaneInsight, ZoneIngress, ZoneEgress, Zone, ZoneInsight, VirtualIps, Secret, GlobalSecret];

    private static readonly FrozenDictionary<string, ResourceTypeDescriptor> ByName =
        All.ToFrozenDictionary(d => d.Name, StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, ResourceTypeDescriptor> ByAnyName = All
        .SelectMany(d => new[] { d.Name, d.Plural, d.Singular }.Concat(d.Aliases).Distinct(StringComparer.OrdinalIgnoreCase).Select(n => (n, d)))
        .ToFrozenDictionary(x => x.n, x => x.d, StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, ResourceTypeDescriptor> ByPlural =
        All.ToFrozenDictionary(d => d.Plural, StringComparer.Ordinal);

    /// <summary>The descriptor for an exact type name (as in a manifest's <c>type</c>).</summary>
    public static ResourceTypeDescriptor Get(string typeName) =>
        ByName.TryGetValue(typeName, out var d) ? d : throw new KeyNotFoundException($"unknown resource type '{typeName}'");

    public static bool TryGet(string typeName, out ResourceTypeDescriptor descriptor) =>
        ByName.TryGetValue(typeName, out descriptor!);

    /// <summary>Looks a type up by its API plural.</summary>
    public static bool TryGetByPlural(string plural, out ResourceTypeDescriptor descriptor) =>
        ByPlural.TryGetValue(plural, out descriptor!);

    /// <summary>Looks a type up the way the CLI does: type name, singular, plural or alias, any case.</summary>
    public static bool TryResolve(string anyName, out ResourceTypeDescriptor descriptor) =>
        ByAnyName.TryGetValue(anyName, out descriptor!);
}

/// <summary>Labels with a meaning for secrets.</summary>
public static class SecretLabels
{
    /// <summary>Marks key material that must stay on the control plane that created it.</summary>
    public const string Private = "federation.io/private";
}
