using System.Text;
using System.Text.Json.Nodes;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Serialization;
using Federation.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Federation.Api;

/// <summary>
/// <c>GET /meshes/{mesh}/dataplanes/_overview</c> (and <c>/dataplanes/_overview</c> across meshes): each Dataplane with
/// its insight (xDS subscriptions, ACK/NACK counts, config version, certificate) and whether a proxy is connected.
/// Served by zones and by the global (where insights arrive from zones over KDS).
/// </summary>
public static class DataplaneOverviewEndpoints
{
    public static IEndpointRouteBuilder MapDataplaneOverviewEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/meshes/{mesh}/dataplanes/_overview", (string mesh, IResourceStore store, CancellationToken ct) => OverviewAsync(store, mesh, ct));
        app.MapGet("/dataplanes/_overview", (IResourceStore store, CancellationToken ct) => OverviewAsync(store, null, ct));
        return app;
    }

    private static async Task<IResult> OverviewAsync(IResourceStore store, string? mesh, CancellationToken ct)
    {
        if (mesh is not null && await store.GetAsync(ResourceKey.Global(ResourceTypes.Mesh.Name, mesh), ct) is null)
        {
            throw ApiException.NotFound($"mesh '{mesh}' does not exist");
        }
        var dataplanes = await store.ListAsync(new ResourceQuery(ResourceTypes.Dataplane.Name) { Mesh = mesh }, ct);
        var insights = (await store.ListAsync(new ResourceQuery(ResourceTypes.DataplaneInsight.Name) { Mesh = mesh }, ct)).Items
            .ToDictionary(r => (r.Mesh, r.Name));
        var items = new JsonArray();
        foreach (var dp in dataplanes.Items)
        {
            var insight = insights.GetValueOrDefault((dp.Mesh, dp.Name));
            var subscriptions = insight?.GetSpec<DataplaneInsightSpec>().Subscriptions ?? [];
            var item = ResourceDocument.ToDocument(dp);
            item["type"] = "DataplaneOverview";
            item["status"] = subscriptions.Any(s => s.DisconnectTime is null) ? "Online" : "Offline";
            item["dataplaneInsight"] = insight is null ? new JsonObject() : JsonNode.Parse(insight.Spec);
            items.Add(item);
        }
        var body = new JsonObject { ["total"] = items.Count, ["items"] = items, ["next"] = null };
        return Results.Text(body.ToJsonString(FederationJson.Options), "application/json", Encoding.UTF8);
    }
}
