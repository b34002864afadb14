using Federation.Api;
using Mediator;

namespace Federation.Zone.Xds.State;

/// <summary>Hands every store change to the zone state builder.</summary>
public sealed class ZoneStateFeeder(ZoneStateBuilder builder) : INotificationHandler<ResourceChanged>
{
    public ValueTask Handle(ResourceChanged notification, CancellationToken cancellationToken)
    {
        builder.Enqueue(notification.Change);
        return ValueTask.CompletedTask;
    }
}
