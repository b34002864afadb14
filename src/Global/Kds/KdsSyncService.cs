using Envoy.Service.Discovery.V3;
using Federation.Global.Zones;
using Federation.Kds.Cache;
using Federation.Kds.Protocol;
using Federation.Kds.Streams;
using Federation.Kds.Sync;
using Federation.Resources;
using Federation.Stores;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Federation.Global.Kds;

/// <summary>
/// The global's KDS endpoint. Zones open every stream: GlobalToZone (the global serves policies down) and
/// ZoneToGlobal (roles flipped: the global subscribes to the zone's inventory). Every call is authenticated
/// with the zone token; the zone's identity stamps what it sends.
/// </summary>
public sealed partial class KdsSyncService(
    ZoneAuthenticator auth,
    ZoneRegistry registry,
    KdsResourceCache cache,
    IResourceStore store,
    KdsStreamOptions streamOptions,
    KdsGlobalOptions globalOptions,
    KdsMetrics metrics,
    TimeProvider time,
    ILogger<KdsSyncService> logger) : KdsSync.KdsSyncBase
{
    private static readonly IReadOnlyList<ResourceTypeDescriptor> InventoryTypes =
        [.. ResourceTypes.All.Where(t => t.Flow.HasFlag(KdsFlow.ZoneToGlobal))];

    private static readonly IReadOnlyList<string> DownTypes =
        [.. KdsExport.GlobalToZones().Types.Select(t => t.Name)];

    public override async Task GlobalToZone(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context)
    {
        var identity = await auth.AuthenticateAsync(context);
        await RunStreamAsync(identity, "GlobalToZone", context, async (connection, ct) =>
        {
            await cache.Loaded.WaitAsync(ct);
            var responder = new KdsResponder($"zone {identity.Zone}", cache, DownTypes,
                snapshot => KdsExport.ForZonePeer(identity.Zone, snapshot), streamOptions, metrics.For(identity.Zone, connection), time, logger);
            await responder.RunAsync(requestStream, responseStream, ct);
        });
    }

    public override async Task ZoneToGlobal(IAsyncStreamReader<DeltaDiscoveryResponse> requestStream, IServerStreamWriter<DeltaDiscoveryRequest> responseStream, ServerCallContext context)
    {
        var identity = await auth.AuthenticateAsync(context);
        await RunStreamAsync(identity, "ZoneToGlobal", context, async (connection, ct) =>
        {
            var subscriber = new KdsSubscriber($"zone {identity.Zone}", InventoryTypes,
                new KdsSyncApplier(store, new FromZoneScope(identity.Zone)), node: null, metrics.For(identity.Zone, connection), logger);
            await subscriber.RunAsync(requestStream, responseStream, ct);
        });
    }

    public override async Task<ZoneHealthCheckResponse> HealthCheck(ZoneHealthCheckRequest request, ServerCallContext context)
    {
        var identity = await auth.AuthenticateAsync(context);
        registry.HealthCheck(identity.Zone, identity.ConnectionId, request.Version);
        return new ZoneHealthCheckResponse
        {
            Interval = Duration.FromTimeSpan(globalOptions.HealthCheckInterval),
            MaxMessageBytes = streamOptions.MaxMessageBytes,
        };
    }

    private async Task RunStreamAsync(ZoneIdentity identity, string stream, ServerCallContext context, Func<ZoneConnection, CancellationToken, Task> run)
    {
        await registry.EnsureZoneAsync(identity.Zone, context.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var connection = registry.Attach(identity.Zone, identity.ConnectionId, stream, identity.TokenId, identity.Version, cts);
        LogStreamOpened(logger, stream, identity.Zone, identity.ConnectionId);
        metrics.StreamOpened(identity.Zone, stream);
        try
        {
            await run(connection, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Aborted, $"this {stream} stream of zone '{identity.Zone}' was replaced by a newer connection or closed by the global"));
        }
        catch (KdsProtocolException e)
        {
            LogProtocolViolation(logger, stream, identity.Zone, e.Message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (TimeoutException e)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, e.Message));
        }
        finally
        {
            metrics.StreamClosed(identity.Zone, stream);
            registry.Detach(connection, stream);
            LogStreamClosed(logger, stream, identity.Zone);
        }
    }

    [LoggerMessage(EventId = 30, EventName = "KdsStreamOpened", Level = LogLevel.Information, Message = "{Stream} stream opened by zone {Zone} (connection {ConnectionId})")]
    private static partial void LogStreamOpened(ILogger logger, string stream, string zone, string connectionId);

    [LoggerMessage(EventId = 31, EventName = "KdsStreamClosed", Level = LogLevel.Information, Message = "{Stream} stream of zone {Zone} closed")]
    private static partial void LogStreamClosed(ILogger logger, string stream, string zone);

    [LoggerMessage(EventId = 32, EventName = "KdsProtocolViolation", Level = LogLevel.Warning, Message = "{Stream} stream of zone {Zone} ended: {Reason}")]
    private static partial void LogProtocolViolation(ILogger logger, string stream, string zone, string reason);
}
