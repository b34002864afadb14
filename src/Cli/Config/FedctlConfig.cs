using System.Collections.Immutable;

namespace Federation.Cli.Config;

/// <summary>One control plane fedctl knows: its name, its API address and the token it presents.</summary>
internal sealed record ControlPlaneEntry(string Name, string Address, string? Token);

/// <summary>The fedctl config file: the known control planes and which one commands talk to.</summary>
internal sealed record FedctlConfig
{
    public static FedctlConfig Empty { get; } = new();

    public string? CurrentControlPlane { get; init; }

    public ImmutableArray<ControlPlaneEntry> ControlPlanes { get; init; } = [];

    public ControlPlaneEntry? Current => CurrentControlPlane is { } name ? Find(name) : null;

    public ControlPlaneEntry? Find(string name) => ControlPlanes.FirstOrDefault(c => c.Name == name);

    /// <summary>Adds the entry (or replaces the one with its name) and makes it current: the newest added is the one used.</summary>
    public FedctlConfig WithControlPlane(ControlPlaneEntry entry)
    {
        var index = ControlPlanes.IndexOf(Find(entry.Name)!);
        return this with
        {
            ControlPlanes = index >= 0 ? ControlPlanes.SetItem(index, entry) : ControlPlanes.Add(entry),
            CurrentControlPlane = entry.Name,
        };
    }

    /// <summary>Removes a control plane; when it was current, the most recently added remaining one becomes current.</summary>
    public FedctlConfig WithoutControlPlane(string name)
    {
        var remaining = ControlPlanes.RemoveAll(c => c.Name == name);
        var current = CurrentControlPlane == name ? (remaining.IsEmpty ? null : remaining[^1].Name) : CurrentControlPlane;
        return this with { ControlPlanes = remaining, CurrentControlPlane = current };
    }

    public bool Equals(FedctlConfig? other) =>
        other is not null && CurrentControlPlane == other.CurrentControlPlane && ControlPlanes.SequenceEqual(other.ControlPlanes);

    public override int GetHashCode() => HashCode.Combine(CurrentControlPlane, ControlPlanes.Length);
}
