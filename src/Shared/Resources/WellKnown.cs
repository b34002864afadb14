namespace Federation.Resources;

/// <summary>Label and tag names shared with Kuma, so manifests and tooling carry over.</summary>
public static class WellKnownLabels
{
    public const string Service = "kuma.io/service";
    public const string Zone = "kuma.io/zone";
    public const string Protocol = "kuma.io/protocol";
    public const string Origin = "kuma.io/origin";
    public const string DisplayName = "kuma.io/display-name";
    public const string Mesh = "kuma.io/mesh";

    public const string OriginGlobal = "global";
    public const string OriginZone = "zone";
}
