using Federation.Resources;

namespace Federation.Cli.Client;

/// <summary>What the CLI needs to know about a resource type to build API paths and print it.</summary>
internal sealed record ApiResourceType(string Name, string Plural, bool IsMeshScoped)
{
    public static ApiResourceType From(ResourceTypeDescriptor descriptor) =>
        new(descriptor.Name, descriptor.Plural, descriptor.IsMeshScoped);
}

/// <summary>One resource's identity, as the API addresses it.</summary>
internal sealed record ResourceRef(ApiResourceType Type, string? Mesh, string Name)
{
    /// <summary>The path below the API root, e.g. <c>meshes/default/dataplanes/backend-1</c>.</summary>
    public string Path => Type.IsMeshScoped
        ? $"meshes/{Uri.EscapeDataString(Mesh ?? "")}/{Type.Plural}/{Uri.EscapeDataString(Name)}"
        : $"{Type.Plural}/{Uri.EscapeDataString(Name)}";

    /// <summary>How messages name it: <c>Dataplane "backend-1" (mesh default)</c>.</summary>
    public override string ToString() =>
        Type.IsMeshScoped ? $"{Type.Name} \"{Name}\" (mesh {Mesh})" : $"{Type.Name} \"{Name}\"";
}
