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
}

/// <summary>The proxy config is generated for: its Dataplane, its kind, and (Envoy under mTLS) its certificate.</summary>
public sealed record ProxyContext(string Zone, Resource Dataplane, ProxyKind Kind, WorkloadCertificate? Certificate)
{
    public string Mesh => Dataplane.Mesh;

    public string Name => Dataplane.Name;

    public DataplaneSpec Spec => Dataplane.GetSpec<DataplaneSpec>();
}
