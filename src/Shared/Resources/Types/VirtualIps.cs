namespace Federation.Resources.Types;

/// <summary>
/// A zone's virtual IPs: one stable address from 240.0.0.0/4 per (mesh, service), keyed <c>&lt;service&gt;.&lt;mesh&gt;</c>.
/// Written by the zone only; stored so addresses survive restarts.
/// </summary>
public sealed record VirtualIpsSpec
{
    public IReadOnlyDictionary<string, string>? Vips { get; init; }
}
