using Federation.Api;
using Federation.Stores;
using Mediator;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Federation.Events;

/// <summary>
/// Publishes a <see cref="ResourceChanged"/> notification for every change the store commits, whoever made it:
/// the API, KDS sync, or another replica sharing the store. Reconcilers subscribe to the notification. A change this
/// process committed while traced is published inside a <c>store.change</c> activity of the commit's trace.
/// </summary>
public sealed partial class ChangeFeedPublisher(IResourceStore store, IPublisher publisher, ILogger<ChangeFeedPublisher> logger) : BackgroundService
{
    private ChangeSubscription? _subscription;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribe before start-up completes so no change committed after it is missed.
        _subscription = store.Subscribe();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _subscription!.Reader;
        try
        {
            await foreach (var change in reader.ReadAllAsync(stoppingToken))
            {
                // A change committed by this process continues the writer's trace: handlers (KDS, xDS) start from here.
                using var activity = store is InstrumentedStore instrumented && Hosting.Telemetry.Source.HasListeners()
                    ? Hosting.TraceContext.StartCausedBy("store.change", [instrumented.TakeTrace(change.Revision)])
                    : null;
                activity?.SetTag("federation.change", change.Kind.ToString());
                activity?.SetTag("federation.resource", change.Key.ToString());
                try
                {
                    await publisher.Publish(new ResourceChanged(change), stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogHandlerFailed(logger, e, change.Kind, change.Key.ToString());
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _subscription?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 1, EventName = "ChangeHandlerFailed", Level = LogLevel.Error, Message = "A handler of change {Kind} {Key} failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, ChangeKind kind, string key);
}
