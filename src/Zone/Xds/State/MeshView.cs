using System.Collections.Immutable;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Security.Pki;

namespace Federation.Zone.Xds.State;

/// <summary>One endpoint of a service in this zone: a Dataplane inbound.</summary>
public sealed record LocalEndpoint(string Dataplane, string Address, int Port, IReadOnlyDictionary<string, string> Tags, bool Healthy);

/// <summary>A remote zone serving a service, reached through its ingress.</summary>
public sealed record RemoteEndpoint(string Zone, string Address, int Port, int Instances);

/// <summary>A service of a mesh as this zone sees it: local instances and remote zones that serve it.</summary>
public sealed record ServiceView(string Name, string Protocol, ImmutableArray<LocalEndpoint> Local, ImmutableArray<RemoteEndpoint> Remote)
{
    public bool IsHttp => Protocol is "http" or "http2" or "grpc";

    public bool IsHttp2 => Protocol is "http2" or "grpc";

    /// <summary>No instance anywhere any more: kept (without endpoints) so proxies that had it stop dialing it.</summary>
    public bool IsGone => Local.IsEmpty && Remote.IsEmpty;

    /// <summary>The ports the service's instances listen on (for proxyless targets that name a port).</summary>
    public IEnumerable<int> Ports => Local.Select(e => e.Port).Distinct().Order();
}

/// <summary>Everything config generation needs about one mesh, immutable, versioned.</summary>
public sealed record MeshView(
    string Name,
    long Version,
    MeshSpec Spec,
    MeshCaMaterial? Ca,
    string? CaBackend,
    ImmutableSortedDictionary<string, ServiceView> Services,
    ImmutableArray<Resource> Permissions,
    ImmutableDictionary<string, Resource> Dataplanes)
{
    public bool MtlsEnabled => Spec.MtlsEnabled && Ca is not null;

    /// <summary>
    /// False while the mesh asks for mTLS but its CA has not reached this zone yet: config generated now would be
    /// plaintext, so proxies keep what they have until it arrives.
    /// </summary>
    public bool Ready => !Spec.MtlsEnabled || Ca is not null;

    /// <summary>
    /// When the mesh routes cross-zone traffic through this zone's egress: clients reach remote services at these
    /// egress addresses instead of the remote ingresses.
    /// </summary>
    public ImmutableArray<(string Address, int Port)> Egresses { get; init; } = [];

    /// <summary>Each service's virtual IP in this zone (what the zone's DNS answers for it), by service.</summary>
    public ImmutableSortedDictionary<string, string> Vips { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Lifetime of workload certificates (<c>dpCert.rotation.expiration</c>, default 24 h).</summary>
    public TimeSpan CertificateLifetime =>
        Spec.EnabledBackend?.DpCert?.Rotation?.Expiration is { } e && Serialization.GoDuration.TryParse(e, out var d) ? d : TimeSpan.FromHours(24);
}

/// <summary>The zone's view of every mesh, plus its own ingress and egress proxies; swapped as a whole.</summary>
public sealed record ZoneState(string Zone, long Version, ImmutableDictionary<string, MeshView> Meshes)
{
    /// <summary>ZoneIngress resources registered in this zone.</summary>
    public ImmutableArray<Resource> LocalIngresses { get; init; } = [];

    /// <summary>ZoneEgress resources registered in this zone.</summary>
    public ImmutableArray<Resource> LocalEgresses { get; init; } = [];

    public MeshView? Mesh(string name) => Meshes.TryGetValue(name, out var m) ? m : null;
}
