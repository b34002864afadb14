using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Grpc.Core;

namespace Federation.Zone.Xds.Server;

/// <summary>
/// Envoy's Aggregated Discovery Service, state of the world and incremental: the protocol (subscriptions, versions,
/// nonces, ACK/NACK) over the per-proxy config that an <see cref="IXdsSnapshotSource"/> provides. Stateless itself:
/// each stream gets its own session (see <see cref="SotwSession"/> and <see cref="DeltaSession"/> for the rules).
/// </summary>
public sealed class AdsService(
    IXdsSnapshotSource source,
    XdsServerMetrics metrics,
    ILogger<AdsService> logger,
    IHostApplicationLifetime? lifetime = null,
    AdsWriteBudget? budget = null)
    : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    private readonly AdsWriteBudget _budget = budget ?? new AdsWriteBudget();

    private const string Sotw = "sotw";
    private const string Delta = "delta";

    public override Task StreamAggregatedResources(
        IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream,
        ServerCallContext context) =>
        ServeAsync(requestStream, responseStream, context, Sotw, static r => r.Node,
            watch => new SotwSession(watch, metrics, _budget, logger));

    public override Task DeltaAggregatedResources(
        IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream,
        ServerCallContext context) =>
        ServeAsync(requestStream, responseStream, context, Delta, static r => r.Node,
            watch => new DeltaSession(watch, metrics, _budget, logger));

    private async Task ServeAsync<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requests,
        IAsyncStreamWriter<TResponse> responses,
        ServerCallContext context,
        string kind,
        Func<TRequest, Node?> nodeOf,
        Func<IProxyWatch, AdsSession<TRequest, TResponse>> createSession)
        where TRequest : class, IMessage
        where TResponse : class, IMessage
    {
        // A stream lasts as long as the proxy: end it when the zone stops, or the host waits for it until its
        // shutdown timeout and the process is killed. The proxy reconnects (to this zone once it is back).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime?.ApplicationStopping ?? CancellationToken.None);
        var ct = stopping.Token;
        TRequest first;
        try
        {
            if (!await requests.MoveNext(ct))
            {
                return; // closed before saying anything
            }
            first = requests.Current;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        var node = nodeOf(first) ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "the first request must carry node"));

        IProxyWatch watch;
        try
        {
            watch = await source.ConnectAsync(node, context, ct);
        }
        catch (RpcException e)
        {
            AdsLog.Refused(logger, kind, node.Id, e.StatusCode, e.Status.Detail);
            throw;
        }

        using (watch)
        {
            metrics.StreamOpened(kind);
            AdsLog.StreamOpened(logger, watch.ProxyId, kind);
            try
            {
                await createSession(watch).RunAsync(first, requests, responses, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The proxy went away, or the zone is stopping.
                if (!context.CancellationToken.IsCancellationRequested)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "the zone control plane is shutting down; reconnect"));
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                AdsLog.Violation(logger, kind, watch.ProxyId, e.Status.Detail);
                throw;
            }
            catch (Exception e) when (e is IOException or InvalidOperationException && ct.IsCancellationRequested)
            {
                // Reading or writing raced with the end of the call.
                AdsLog.StreamFailed(logger, kind, watch.ProxyId, e.Message);
            }
            finally
            {
                metrics.StreamClosed(kind);
                AdsLog.StreamClosed(logger, watch.ProxyId, kind);
            }
        }
    }
}
