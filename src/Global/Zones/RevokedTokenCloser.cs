using Federation.Api;
using Federation.Global.Tokens;
using Federation.Resources;
using Mediator;

namespace Federation.Global.Zones;

/// <summary>When a zone token is revoked, the streams that authenticated with it are closed at once.</summary>
public sealed class RevokedTokenCloser(ZoneTokenService tokens, ZoneRegistry registry) : INotificationHandler<ResourceChanged>
{
    public async ValueTask Handle(ResourceChanged notification, CancellationToken cancellationToken)
    {
        var key = notification.Change.Key;
        if (key.Type != ResourceTypes.GlobalSecret.Name || key.Name != ZoneTokenService.RevocationsName)
        {
            return;
        }
        var revoked = await tokens.RevokedAsync(cancellationToken);
        registry.CloseWhere(c => revoked.Contains(c.TokenId));
    }
}
