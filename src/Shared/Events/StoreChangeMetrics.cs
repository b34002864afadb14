using System.Diagnostics.Metrics;
using Federation.Api;
using Mediator;

namespace Federation.Events;

/// <summary>Counts committed changes by type and kind (<c>federation.store.changes</c>).</summary>
public sealed class StoreChangeMetrics : INotificationHandler<ResourceChanged>, IDisposable
{
    public const string MeterName = "Federation";

    private readonly Meter _meter;
    private readonly Counter<long> _changes;

    public StoreChangeMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _changes = _meter.CreateCounter<long>("federation.store.changes", unit: "{change}", description: "Committed resource changes by type and kind");
    }

    public ValueTask Handle(ResourceChanged notification, CancellationToken cancellationToken)
    {
        var change = notification.Change;
        _changes.Add(1, new KeyValuePair<string, object?>("type", change.Key.Type), new KeyValuePair<string, object?>("kind", change.Kind.ToString()));
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _meter.Dispose();
}
