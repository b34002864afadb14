using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Federation.Kds.Conversion;
using Federation.Kds.Sync;
using Federation.Resources;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Status = Google.Rpc.Status;

namespace Federation.Kds.Streams;

/// <summary>
/// The receiving side of a KDS stream (a zone in GlobalToZone, the global in ZoneToGlobal): subscribes to every
/// type with one wildcard request, applies each response to the local store, then ACKs it, or NACKs it with the
/// reasons of the resources it could not take (the valid ones are applied all the same).
/// </summary>
public sealed partial class KdsSubscriber
{
    private readonly string _peer;
    private readonly IReadOnlyList<ResourceTypeDescriptor> _types;
    private readonly IKdsApplier _applier;
    private readonly Node? _node;
    private readonly IKdsStreamObserver _observer;
    private readonly ILogger _logger;
    private readonly Channel<DeltaDiscoveryRequest> _outgoing = Channel.CreateBounded<DeltaDiscoveryRequest>(
        new BoundedChannelOptions(64) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public KdsSubscriber(string peer, IReadOnlyList<ResourceTypeDescriptor> types, IKdsApplier applier, Node? node, IKdsStreamObserver? observer, ILogger logger)
    {
        _peer = peer;
        _types = types;
        _applier = applier;
        _node = node;
        _observer = observer ?? IKdsStreamObserver.None;
        _logger = logger;
    }

    public async Task RunAsync(IAsyncStreamReader<DeltaDiscoveryResponse> responses, IAsyncStreamWriter<DeltaDiscoveryRequest> requests, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = cts.Token;
        var first = true;
        foreach (var type in _types)
        {
            var subscribe = new DeltaDiscoveryRequest { TypeUrl = type.Name };
            subscribe.ResourceNamesSubscribe.Add("*");
            if (first && _node is not null)
            {
                subscribe.Node = _node;
            }
            first = false;
            _outgoing.Writer.TryWrite(subscribe);
        }
        await StreamLoops.RunAllAsync([ReadLoopAsync(responses, ct), WriteLoopAsync(requests, ct)], cts);
    }

    private async Task WriteLoopAsync(IAsyncStreamWriter<DeltaDiscoveryRequest> requests, CancellationToken ct)
    {
        await foreach (var request in _outgoing.Reader.ReadAllAsync(ct))
        {
            await requests.WriteAsync(request, ct);
        }
    }

    private async Task ReadLoopAsync(IAsyncStreamReader<DeltaDiscoveryResponse> responses, CancellationToken ct)
    {
        while (await responses.MoveNext(ct))
        {
            var response = responses.Current;
            var reply = new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce };
            var type = _types.FirstOrDefault(t => t.Name == response.TypeUrl);
            if (type is null)
            {
                reply.ErrorDetail = new Status { Code = (int)StatusCode.InvalidArgument, Message = $"type '{response.TypeUrl}' was not subscribed to" };
                LogUnexpectedType(_logger, _peer, response.TypeUrl);
            }
            else
            {
                var full = response.SystemVersionInfo == KdsConversion.FullStateMarker;
                var rejected = await _applier.ApplyAsync(type, full, response.Resources, response.RemovedResources, ct);
                _observer.OnResponseApplied(type.Name, response.Resources.Count, response.RemovedResources.Count, rejected);
                if (rejected.Count > 0)
                {
                    var message = $"rejected {rejected.Count} of {response.Resources.Count} {type.Name} resources: {string.Join("; ", rejected)}";
                    reply.ErrorDetail = new Status { Code = (int)StatusCode.InvalidArgument, Message = message };
                    LogRejected(_logger, _peer, message);
                }
            }
            await _outgoing.Writer.WriteAsync(reply, ct);
        }
    }

    [LoggerMessage(EventId = 10, EventName = "KdsUnexpectedType", Level = LogLevel.Warning, Message = "{Peer} sent type {Type}, which was not subscribed to")]
    private static partial void LogUnexpectedType(ILogger logger, string peer, string type);

    [LoggerMessage(EventId = 11, EventName = "KdsRejected", Level = LogLevel.Warning, Message = "From {Peer}: {Message}")]
    private static partial void LogRejected(ILogger logger, string peer, string message);
}
