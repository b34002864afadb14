using Envoy.Config.Core.V3;
using Federation.Security;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.Server;
using Federation.Zone.Xds.State;
using Grpc.Core;

namespace Federation.Zone.Xds.Proxies;

/// <summary>
/// Who may connect and what it gets: a proxy names itself with <c>node.id = &lt;mesh&gt;.&lt;dataplane&gt;</c>,
/// proves it with a dataplane token (gRPC metadata <c>authorization: Bearer</c>, or
/// <c>node.metadata["dataplane.token"]</c> for gRPC clients that cannot set headers on their xDS channel) unless
/// the zone runs with <c>--dp-auth none</c>, and must be a registered Dataplane.
/// </summary>
public sealed class ZoneXdsSource(
    ZoneStateBuilder state,
    ProxyRegistry registry,
    DataplaneTokenService tokens,
    ZoneTokenVerifier zoneTokens,
    Kds.KdsClientState kds,
    ZoneOptions options,
    TimeProvider time) : IXdsSnapshotSource
{
    public const string TokenMetadataKey = "dataplane.token";
    public const string ProxyTypeMetadataKey = "federation.io/proxy-type";

    /// <summary>
    /// How long a proxy may wait, after the zone starts, for the first full state from the global: config served
    /// before it would lack policies (or the CA) that are on their way. Past it, the zone serves what it has.
    /// </summary>
    private static readonly TimeSpan InitialSyncWait = TimeSpan.FromSeconds(10);

    /// <summary>How long a just-registered Dataplane may take to reach the zone state.</summary>
    private static readonly TimeSpan RegistrationGrace = TimeSpan.FromSeconds(3);

    public async ValueTask<IProxyWatch> ConnectAsync(Node node, ServerCallContext context, CancellationToken cancellationToken)
    {
        var declared = MetadataString(node, ProxyTypeMetadataKey);
        if (declared is "ingress" or "egress")
        {
            return await ConnectZoneProxyAsync(node, declared == "ingress" ? ProxyKind.Ingress : ProxyKind.Egress, context, cancellationToken);
        }
        var dot = node.Id.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == node.Id.Length - 1)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"node.id '{node.Id}' must be <mesh>.<dataplane name>, e.g. default.backend-1"));
        }
        var mesh = node.Id[..dot];
        var name = node.Id[(dot + 1)..];

        if (options.DpAuth != "none")
        {
            var token = BearerToken(context) ?? MetadataString(node, TokenMetadataKey)
                ?? throw new RpcException(new Status(StatusCode.Unauthenticated,
                    $"missing dataplane token for {node.Id}: send 'authorization: Bearer <token>' or node.metadata[\"{TokenMetadataKey}\"] (fedctl generate dataplane-token --mesh {mesh} --name {name})"));
            var check = await tokens.ValidateAsync(token, mesh, name, cancellationToken);
            if (!check.IsValid)
            {
                var code = check.Failure is TokenFailure.WrongSubject or TokenFailure.Revoked ? StatusCode.PermissionDenied : StatusCode.Unauthenticated;
                throw new RpcException(new Status(code, $"dataplane token refused for {node.Id}: {check.Message}"));
            }
        }

        await state.Loaded.WaitAsync(cancellationToken);
        await WaitForInitialSyncAsync(cancellationToken);
        var deadline = time.GetUtcNow() + RegistrationGrace;
        while (state.Current.Mesh(mesh)?.Dataplanes.ContainsKey(name) != true)
        {
            if (time.GetUtcNow() >= deadline)
            {
                var problem = state.Current.Mesh(mesh) is null
                    ? $"mesh '{mesh}' does not exist in zone '{options.Zone}'"
                    : $"Dataplane '{name}' is not registered in mesh '{mesh}' of zone '{options.Zone}'; register it first (fed-dp does, or fedctl apply)";
                throw new RpcException(new Status(StatusCode.FailedPrecondition, problem));
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
        }

        var kind = KindOf(node);
        var protocol = context.Method.EndsWith("DeltaAggregatedResources", StringComparison.Ordinal) ? "delta" : "sotw";
        var version = string.IsNullOrEmpty(node.UserAgentVersion) ? node.UserAgentName : $"{node.UserAgentName} {node.UserAgentVersion}";
        return registry.Add(mesh, name, kind, protocol, version);
    }

    /// <summary>
    /// A zone ingress or egress: <c>node.id</c> is its ZoneIngress/ZoneEgress name, registered in this zone, and it
    /// proves it with a zone token of scope ingress/egress for this zone.
    /// </summary>
    private async ValueTask<IProxyWatch> ConnectZoneProxyAsync(Node node, ProxyKind kind, ServerCallContext context, CancellationToken cancellationToken)
    {
        var what = kind == ProxyKind.Ingress ? "ZoneIngress" : "ZoneEgress";
        var scope = kind == ProxyKind.Ingress ? "ingress" : "egress";
        if (options.DpAuth != "none")
        {
            var token = BearerToken(context) ?? MetadataString(node, TokenMetadataKey)
                ?? throw new RpcException(new Status(StatusCode.Unauthenticated,
                    $"missing zone token for {what} {node.Id}: send 'authorization: Bearer <token>' (fedctl generate zone-token --zone {options.Zone} --scope {scope})"));
            var check = await zoneTokens.ValidateAsync(token, options.Zone, scope, cancellationToken);
            if (!check.IsValid)
            {
                var code = check.Failure is TokenFailure.WrongSubject or TokenFailure.Revoked or TokenFailure.WrongScope ? StatusCode.PermissionDenied : StatusCode.Unauthenticated;
                throw new RpcException(new Status(code, $"zone token refused for {what} {node.Id}: {check.Message}"));
            }
        }
        await state.Loaded.WaitAsync(cancellationToken);
        await WaitForInitialSyncAsync(cancellationToken);
        var deadline = time.GetUtcNow() + RegistrationGrace;
        while (!(kind == ProxyKind.Ingress ? state.Current.LocalIngresses : state.Current.LocalEgresses).Any(r => r.Name == node.Id))
        {
            if (time.GetUtcNow() >= deadline)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{what} '{node.Id}' is not registered in zone '{options.Zone}'; register it first (fed-dp does)"));
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
        }
        var version = string.IsNullOrEmpty(node.UserAgentVersion) ? node.UserAgentName : $"{node.UserAgentName} {node.UserAgentVersion}";
        var protocol = context.Method.EndsWith("DeltaAggregatedResources", StringComparison.Ordinal) ? "delta" : "sotw";
        return registry.Add("", node.Id, kind, protocol, version);
    }

    private async Task WaitForInitialSyncAsync(CancellationToken cancellationToken)
    {
        if (!options.Federated || kds.InitialSync.IsCompleted)
        {
            return;
        }
        try
        {
            await kds.InitialSync.WaitAsync(InitialSyncWait, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // The global is unreachable: serve the last state the zone holds.
        }
    }

    /// <summary>Proxyless when the node says so or is a gRPC library; Envoy otherwise.</summary>
    public static ProxyKind KindOf(Node node)
    {
        var declared = MetadataString(node, ProxyTypeMetadataKey);
        if (declared is not null)
        {
            return declared == "proxyless" ? ProxyKind.Proxyless : ProxyKind.Envoy;
        }
        return node.UserAgentName.Contains("gRPC", StringComparison.OrdinalIgnoreCase) ? ProxyKind.Proxyless : ProxyKind.Envoy;
    }

    private static string? BearerToken(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        return header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }

    private static string? MetadataString(Node node, string key) =>
        node.Metadata?.Fields.TryGetValue(key, out var value) == true && value.KindCase == Google.Protobuf.WellKnownTypes.Value.KindOneofCase.StringValue
            ? value.StringValue
            : null;
}
