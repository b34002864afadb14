using System.Collections.Immutable;
using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Federation.Zone.Xds.Server;

/// <summary>Full type URLs of the xDS resources the zone serves.</summary>
public static class XdsTypes
{
    public const string Listener = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public const string RouteConfiguration = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    public const string Cluster = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public const string ClusterLoadAssignment = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    public const string Secret = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    public static readonly IReadOnlyList<string> All = [Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, Secret];

    /// <summary>
    /// In state-of-the-world, a response of these types must hold every subscribed resource (a missing one is
    /// deleted by the client); responses of the other types may hold a subset.
    /// </summary>
    public static bool RequiresFullState(string typeUrl) => typeUrl is Listener or Cluster;
}

/// <summary>One resource of a proxy's config: its name, a content version, and the packed message.</summary>
public sealed record XdsResource(string Name, string Version, Any Resource);

/// <summary>
/// The complete config of one proxy at one moment, immutable. <see cref="TypeVersions"/> holds a version per
/// type (a hash of that type's resources) so unchanged types are not resent.
/// </summary>
public sealed record ProxySnapshot(
    long Version,
    ImmutableDictionary<string, ImmutableDictionary<string, XdsResource>> Resources,
    ImmutableDictionary<string, string> TypeVersions)
{
    public static readonly ProxySnapshot Empty = new(0,
        ImmutableDictionary<string, ImmutableDictionary<string, XdsResource>>.Empty,
        ImmutableDictionary<string, string>.Empty);

    /// <summary>No config has been generated for the proxy yet: the server answers nothing until there is one.</summary>
    public static readonly ProxySnapshot Pending = Empty with { IsPending = true };

    public bool IsPending { get; init; }

    public ImmutableDictionary<string, XdsResource> Of(string typeUrl) =>
        Resources.TryGetValue(typeUrl, out var r) ? r : ImmutableDictionary<string, XdsResource>.Empty;

    public string VersionOf(string typeUrl) => TypeVersions.TryGetValue(typeUrl, out var v) ? v : "";
}

/// <summary>
/// Where the ADS server gets each proxy's config. The server owns the protocol (SotW and delta, nonces, ACK/NACK,
/// subscriptions); the source owns identity, authentication and config generation.
/// </summary>
public interface IXdsSnapshotSource
{
    /// <summary>
    /// Called once per stream with the first request's node. Authenticates the proxy (throw
    /// <see cref="RpcException"/> with Unauthenticated/PermissionDenied/InvalidArgument and a clear message to
    /// refuse it) and returns a watch on its config.
    /// </summary>
    ValueTask<IProxyWatch> ConnectAsync(Node node, ServerCallContext context, CancellationToken cancellationToken);
}

/// <summary>A live view of one connected proxy's config, plus the hooks that record what it did with it.</summary>
public interface IProxyWatch : IDisposable
{
    /// <summary>For logs: <c>&lt;mesh&gt;.&lt;name&gt;</c>.</summary>
    string ProxyId { get; }

    ProxySnapshot Current { get; }

    /// <summary>Completes when a snapshot with a version greater than <paramref name="version"/> is available.</summary>
    Task WaitForNewerAsync(long version, CancellationToken cancellationToken);

    /// <summary>The proxy accepted <paramref name="version"/> of a type.</summary>
    void OnAck(string typeUrl, string version);

    /// <summary>The proxy rejected a response of a type; <paramref name="reason"/> is its error_detail message.</summary>
    void OnNack(string typeUrl, string version, string reason);

    /// <summary>A response was sent.</summary>
    void OnSent(string typeUrl, string version, int resources);
}
