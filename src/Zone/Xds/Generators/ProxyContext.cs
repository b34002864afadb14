using Federation.Resources;
using Federation.Resources.Types;
using Federation.Security.Pki;

namespace Federation.Zone.Xds.Generators;

/// <summary>Which kind of client a proxy is; decides the shape of its config.</summary>
public enum ProxyKind
{
    /// <summary>Envoy sidecar: certificates via SDS, standard filters.</summary>
    Envoy,

    /// <summary>A gRPC application with xDS (grpc-js-xds and friends): API listeners, certificates from files.</summary>
    Proxyless,

    /// <summary>A zone ingress: routes incoming cross-zone TLS by SNI to local endpoints, never terminating it.</summary>
    Ingress,

    /// <summary>A zone egress: routes outgoing cross-zone TLS by SNI to remote zones' ingresses.</summary>
    Egress,
}

/// <summary>
/// The proxy config is generated for: its resource (a Dataplane, or a ZoneIngress/ZoneEgress), its kind, and
/// (Envoy under mTLS) its certificate.
/// </summary>
public sealed record ProxyContext(string Zone, Resource Dataplane, ProxyKind Kind, WorkloadCertificate? Certificate)
{
    public bool IsZoneProxy => Kind is ProxyKind.Ingress or ProxyKind.Egress;

    public string Mesh => Dataplane.Mesh;

    public string Name => Dataplane.Name;

    public DataplaneSpec Spec => Dataplane.GetSpec<DataplaneSpec>();
}
