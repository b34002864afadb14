using System.Net;
using System.Text.Json.Nodes;
using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>Policies applied on the global reach every zone, marked as the global's, and zones cannot change them.</summary>
[Collection(SharedFederation.Name)]
public sealed class PolicyPropagationTests(SharedFederationFixture shared)
{
    private readonly MultiZoneFixture _cluster = shared.Cluster;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string? Label(JsonObject resource, string name) => resource["labels"]?[name]?.GetValue<string>();

    private static string? Action(JsonObject policy) => policy["spec"]?["from"]?[0]?["default"]?["action"]?.GetValue<string>();

    private async Task CreateMeshAsync(string mesh)
    {
        _cluster.BeginPhase($"creating mesh {mesh}");
        await _cluster.Global.ApplyAsync(Manifests.MeshPath(mesh), Manifests.Mesh(mesh), Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Put_PolicyOnGlobal_ReachesEveryZoneWithGlobalOrigin()
    {
        await CreateMeshAsync("prop-create");
        await _cluster.Global.ApplyAsync(Manifests.PolicyPath("prop-create", "allow-web"), Manifests.AllowFrom("prop-create", "allow-web", "web"), Ct);

        _cluster.BeginPhase("policy created on the global");
        foreach (var zone in _cluster.Zones)
        {
            var policy = await _cluster.WaitForResourceAsync(zone, Manifests.PolicyPath("prop-create", "allow-web"), "MeshTrafficPermission allow-web with origin global", Ct,
                r => Label(r, "kuma.io/origin") == "global");
            Assert.Equal("Allow", Action(policy));
            var mesh = await zone.TryGetAsync(Manifests.MeshPath("prop-create"), Ct);
            Assert.Equal("global", Label(mesh!, "kuma.io/origin"));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Put_UpdatedPolicyOnGlobal_ReachesEveryZone()
    {
        await CreateMeshAsync("prop-update");
        var path = Manifests.PolicyPath("prop-update", "allow-web");
        await _cluster.Global.ApplyAsync(path, Manifests.AllowFrom("prop-update", "allow-web", "web"), Ct);
        foreach (var zone in _cluster.Zones)
        {
            await _cluster.WaitForResourceAsync(zone, path, "action Allow", Ct, r => Action(r) == "Allow");
        }

        _cluster.BeginPhase("policy updated on the global (Allow -> Deny)");
        await _cluster.Global.ApplyAsync(path, Manifests.AllowFrom("prop-update", "allow-web", "web", action: "Deny"), Ct);
        foreach (var zone in _cluster.Zones)
        {
            var policy = await _cluster.WaitForResourceAsync(zone, path, "action Deny", Ct, r => Action(r) == "Deny");
            Assert.Equal("global", Label(policy, "kuma.io/origin"));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Delete_PolicyOnGlobal_RemovedFromEveryZone()
    {
        await CreateMeshAsync("prop-delete");
        var path = Manifests.PolicyPath("prop-delete", "allow-web");
        var keep = Manifests.PolicyPath("prop-delete", "keep-me");
        await _cluster.Global.ApplyAsync(path, Manifests.AllowFrom("prop-delete", "allow-web", "web"), Ct);
        await _cluster.Global.ApplyAsync(keep, Manifests.AllowFrom("prop-delete", "keep-me", "api"), Ct);
        foreach (var zone in _cluster.Zones)
        {
            await _cluster.WaitForResourceAsync(zone, path, "present before the delete", Ct);
        }

        _cluster.BeginPhase("policy deleted on the global");
        await _cluster.Global.DeleteAsync(path, Ct);
        foreach (var zone in _cluster.Zones)
        {
            await _cluster.WaitForAbsentAsync(zone, path, "deleted on the global", Ct);
            Assert.Equal(["keep-me"], await zone.ListNamesAsync(Manifests.PoliciesPath("prop-delete"), Ct));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Write_GlobalOriginResourceOnZone_RefusedWithReason()
    {
        await CreateMeshAsync("prop-readonly");
        var path = Manifests.PolicyPath("prop-readonly", "allow-web");
        await _cluster.Global.ApplyAsync(path, Manifests.AllowFrom("prop-readonly", "allow-web", "web"), Ct);
        var zone = _cluster["zone-1"];
        await _cluster.WaitForResourceAsync(zone, path, "synced from the global", Ct);

        _cluster.BeginPhase("writing global-origin resources on zone-1");
        using (var put = await zone.PutAsync(path, Manifests.AllowFrom("prop-readonly", "allow-web", "web", action: "Deny"), Ct))
        {
            var problem = await ProblemAsync(put, HttpStatusCode.Forbidden);
            Assert.Contains("comes from the global control plane", problem, StringComparison.Ordinal);
        }
        using (var delete = await zone.Api.DeleteAsync(path, Ct))
        {
            var problem = await ProblemAsync(delete, HttpStatusCode.Forbidden);
            Assert.Contains("change it on the global", problem, StringComparison.Ordinal);
        }
        using (var mesh = await zone.PutAsync(Manifests.MeshPath("prop-readonly"), Manifests.Mesh("prop-readonly"), Ct))
        {
            var problem = await ProblemAsync(mesh, HttpStatusCode.MethodNotAllowed);
            Assert.Contains("provided by the global control plane", problem, StringComparison.Ordinal);
        }
        var unchanged = await zone.TryGetAsync(path, Ct);
        Assert.Equal("Allow", Action(unchanged!));
    }

    [Fact(Timeout = 60_000)]
    public async Task Overview_ConnectedZones_OnlineWithVersionConnectTimeAndCounters()
    {
        await CreateMeshAsync("prop-overview");
        foreach (var zone in _cluster.Zones)
        {
            await _cluster.WaitForResourceAsync(zone, Manifests.MeshPath("prop-overview"), "mesh synced (so counters moved)", Ct);
        }

        _cluster.BeginPhase("reading /zones/_overview");
        var overview = await _cluster.WaitForAsync("every zone Online with ACKed responses in /zones/_overview",
            ct => _cluster.Global.TryGetAsync("/zones/_overview", ct),
            o => o?["items"] is JsonArray items && _cluster.Zones.All(z => items.Any(i =>
                i!["name"]!.GetValue<string>() == z.Name && i["status"]!.GetValue<string>() == "Online"
                && MultiZoneFixture.LastSubscription(i as JsonObject)?["status"]?["total"]?["responsesAcknowledged"]?.GetValue<long>() > 0)),
            Ct);
        foreach (var item in overview!["items"]!.AsArray())
        {
            var subscription = MultiZoneFixture.LastSubscription(item as JsonObject)!;
            Assert.False(string.IsNullOrEmpty(subscription["zoneVersion"]?.GetValue<string>()), $"zone version missing: {subscription}");
            Assert.NotNull(subscription["connectTime"]);
            Assert.Null(subscription["disconnectTime"]);
            var total = subscription["status"]!["total"]!;
            Assert.True(total["responsesSent"]!.GetValue<long>() > 0, $"nothing sent: {subscription}");
            Assert.True(total["responsesReceived"]!.GetValue<long>() > 0, $"nothing received from the zone: {subscription}");
            Assert.Equal(0, total["responsesRejected"]?.GetValue<long>() ?? 0);
        }
        var zones = await _cluster.Global.ListNamesAsync("/zones", Ct);
        Assert.Equal(["zone-1", "zone-2", "zone-3"], zones.Order(StringComparer.Ordinal));

        _cluster.BeginPhase("zones stay Online across health checks");
        await _cluster.HoldsForAsync("every zone Online", _cluster.Options.OfflineTimeout * 2.5,
            ct => _cluster.Global.TryGetAsync("/zones/_overview", ct),
            o => o!["items"]!.AsArray().All(i => i!["status"]!.GetValue<string>() == "Online"),
            Ct);
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!["detail"]!.GetValue<string>();
    }
}
