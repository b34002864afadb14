using Federation.Api;
using Mediator;

namespace Federation.Kds.Cache;

/// <summary>Hands every store change to the KDS cache (the cache itself is a hosted service, not a handler).</summary>
public sealed class KdsCacheFeeder(KdsResourceCache cache) : INotificationHandler<ResourceChanged>
{
    public ValueTask Handle(ResourceChanged notification, CancellationToken cancellationToken) =>
        cache.Enqueue(notification.Change);
}
