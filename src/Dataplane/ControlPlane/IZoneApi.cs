using Federation.Dataplane.Manifests;

namespace Federation.Dataplane.ControlPlane;

/// <summary>Where the zone serves xDS, and the zone it is.</summary>
internal sealed record XdsServerInfo(string Address, string Zone);

/// <summary>A workload certificate with its key and the mesh CA, as PEM, and when to renew it.</summary>
internal sealed record IssuedCertificate(string CertificatePem, string PrivateKeyPem, string CaCertificatePem, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset RenewAt);

/// <summary>
/// The calls a data-plane agent makes to its zone control plane. Each one authenticates with the Dataplane's own
/// token and throws <see cref="ZoneApiException"/> with a one-line reason.
/// </summary>
internal interface IZoneApi
{
    /// <summary>The zone control plane's address, for messages.</summary>
    string Address { get; }

    /// <summary><c>GET /status/xds</c>.</summary>
    Task<XdsServerInfo> GetXdsServerAsync(CancellationToken cancellationToken);

    /// <summary><c>PUT</c> the Dataplane; true when the zone did not have it (created), false when it already did.</summary>
    Task<bool> RegisterAsync(DataplaneManifest dataplane, CancellationToken cancellationToken);

    /// <summary><c>DELETE</c> the Dataplane; a Dataplane the zone no longer has is not an error.</summary>
    Task UnregisterAsync(DataplaneManifest dataplane, CancellationToken cancellationToken);

    /// <summary><c>POST .../_certificate</c>.</summary>
    Task<IssuedCertificate> FetchCertificateAsync(DataplaneManifest dataplane, CancellationToken cancellationToken);
}
