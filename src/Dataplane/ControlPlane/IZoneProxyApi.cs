using System.Text.Json.Nodes;
using Federation.Dataplane.ZoneProxy;

namespace Federation.Dataplane.ControlPlane;

/// <summary>
/// The calls a zone ingress/egress makes to its zone control plane, authenticated with a zone token of scope
/// <c>ingress</c>/<c>egress</c>; each throws <see cref="ZoneApiException"/> with a one-line reason.
/// </summary>
internal interface IZoneProxyApi
{
    /// <summary>The zone control plane's address, for messages.</summary>
    string Address { get; }

    /// <summary><c>GET /status/xds</c>.</summary>
    Task<XdsServerInfo> GetXdsServerAsync(CancellationToken cancellationToken);

    /// <summary><c>GET</c> the ZoneIngress/ZoneEgress as the zone holds it; null when it has none.</summary>
    Task<JsonObject?> GetZoneProxyAsync(ZoneProxyManifest proxy, CancellationToken cancellationToken);

    /// <summary><c>PUT</c> it; true when the zone did not have it (created).</summary>
    Task<bool> RegisterZoneProxyAsync(ZoneProxyManifest proxy, CancellationToken cancellationToken);

    /// <summary><c>DELETE</c> it; one the zone no longer has is not an error.</summary>
    Task UnregisterZoneProxyAsync(ZoneProxyManifest proxy, CancellationToken cancellationToken);
}
