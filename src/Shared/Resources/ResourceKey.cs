namespace Federation.Resources;

/// <summary>Identity of a resource: its type, its mesh ("" for global-scoped types) and its name.</summary>
public readonly record struct ResourceKey(string Type, string Mesh, string Name) : IComparable<ResourceKey>
{
    /// <summary>A key for a global-scoped type.</summary>
    public static ResourceKey Global(string type, string name) => new(type, "", name);

    public bool IsGlobalScoped => Mesh.Length == 0;

    public int CompareTo(ResourceKey other)
    {
        var c = string.CompareOrdinal(Type, other.Type);
        if (c != 0)
        {
            return c;
        }
        c = string.CompareOrdinal(Mesh, other.Mesh);
        return c != 0 ? c : string.CompareOrdinal(Name, other.Name);
    }

    public static bool operator <(ResourceKey left, ResourceKey right) => left.CompareTo(right) < 0;

    public static bool operator <=(ResourceKey left, ResourceKey right) => left.CompareTo(right) <= 0;

    public static bool operator >(ResourceKey left, ResourceKey right) => left.CompareTo(right) > 0;

    public static bool operator >=(ResourceKey left, ResourceKey right) => left.CompareTo(right) >= 0;

    public override string ToString() => Mesh.Length == 0 ? $"{Type} {Name}" : $"{Type} {Name} (mesh {Mesh})";
}
