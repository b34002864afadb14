using System.Text;
using System.Text.Json.Nodes;
using Federation.Api;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Serialization;
using Federation.Stores;

namespace Federation.Global.Zones;

/// <summary><c>GET /zones/_overview</c> and <c>GET /zones/{name}/_overview</c>: each zone with its insight and Online/Offline status.</summary>
public static class ZoneEndpoints
{
    public static IEndpointRouteBuilder MapZoneEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/zones/_overview", async (IResourceStore store, KdsGlobalOptions options, TimeProvider time, CancellationToken ct) =>
        {
            var zones = await store.ListAsync(new ResourceQuery(ResourceTypes.Zone.Name), ct);
            var insights = (await store.ListAsync(new ResourceQuery(ResourceTypes.ZoneInsight.Name), ct)).Items.ToDictionary(r => r.Name);
            var now = time.GetUtcNow();
            var items = new JsonArray([.. zones.Items.Select(z => (JsonNode)Overview(z, insights.GetValueOrDefault(z.Name), now, options))]);
            return Json(new JsonObject { ["total"] = items.Count, ["items"] = items, ["next"] = null });
        });
        app.MapGet("/zones/{name}/_overview", async (string name, IResourceStore store, KdsGlobalOptions options, TimeProvider time, CancellationToken ct) =>
        {
            var zone = await store.GetAsync(ResourceKey.Global(ResourceTypes.Zone.Name, name), ct)
                ?? throw ApiException.NotFound($"zone '{name}' not found");
            var insight = await store.GetAsync(ResourceKey.Global(ResourceTypes.ZoneInsight.Name, name), ct);
            return Json(Overview(zone, insight, time.GetUtcNow(), options));
        });
        return app;
    }

    private static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(FederationJson.Options), "application/json", Encoding.UTF8);

    public static JsonObject Overview(Resource zone, Resource? insight, DateTimeOffset now, KdsGlobalOptions options)
    {
        var spec = insight?.GetSpec<ZoneInsightSpec>();
        return new JsonObject
        {
            ["type"] = "ZoneOverview",
            ["name"] = zone.Name,
            ["creationTime"] = ResourceDocument.FormatTime(zone.CreationTime),
            ["modificationTime"] = ResourceDocument.FormatTime(zone.ModificationTime),
            ["status"] = ZoneStatus.Compute(spec, now, options.OfflineTimeout),
            ["zone"] = new JsonObject { ["enabled"] = zone.GetSpec<ZoneSpec>().IsEnabled },
            ["zoneInsight"] = insight is null ? new JsonObject() : JsonNode.Parse(insight.Spec),
        };
    }
}

/// <summary>Deleting a zone: refused while it is Online; otherwise everything it synced goes with it.</summary>
public sealed class ZoneDeleteHook(IResourceStore store, KdsGlobalOptions options, TimeProvider time) : IDeleteHook
{
    public async ValueTask<IReadOnlyList<ResourceWrite>> OnDeleteAsync(Resource resource, CancellationToken cancellationToken)
    {
        if (resource.Type != ResourceTypes.Zone.Name)
        {
            return [];
        }
        var insightKey = ResourceKey.Global(ResourceTypes.ZoneInsight.Name, resource.Name);
        var insight = await store.GetAsync(insightKey, cancellationToken);
        if (ZoneStatus.Compute(insight?.GetSpec<ZoneInsightSpec>(), time.GetUtcNow(), options.OfflineTimeout) == ZoneStatus.Online)
        {
            throw new ApiException(409, "Conflict",
                $"zone '{resource.Name}' is online; stop its control plane (or wait until it shows Offline) before deleting it, or set enabled: false to stop relaying it");
        }
        var writes = new List<ResourceWrite>();
        if (insight is not null)
        {
            writes.Add(new DeleteResource(insightKey, MustExist: false));
        }
        var owned = new Dictionary<string, string> { [WellKnownLabels.Origin] = WellKnownLabels.OriginZone, [WellKnownLabels.Zone] = resource.Name };
        foreach (var type in ResourceTypes.All.Where(t => t.Flow.HasFlag(KdsFlow.ZoneToGlobal)))
        {
            var page = await store.ListAsync(new ResourceQuery(type.Name) { Labels = owned }, cancellationToken);
            writes.AddRange(page.Items.Select(r => new DeleteResource(r.Key, MustExist: false)));
        }
        return writes;
    }
}
