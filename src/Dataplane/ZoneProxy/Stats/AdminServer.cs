using System.Net;
using System.Text.Json.Nodes;
using Federation.Dataplane.ZoneProxy.Proxy;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.ZoneProxy.Stats;

/// <summary>
/// The proxy's admin endpoint on loopback (<c>--admin-port</c>): <c>GET /stats</c> (counters, the config in use and
/// the xDS stream, as JSON), <c>GET /ready</c> (200 once listening), and <c>GET /metrics</c> (Prometheus: the
/// <c>federation.zoneproxy.*</c> instruments).
/// </summary>
internal sealed class AdminServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AdminServer(WebApplication app) => _app = app;

    public int Port { get; private set; }

    public static async Task<AdminServer> StartAsync(int port, string proxyType, string name, ZoneProxyStats stats, ZoneProxyServer server, ZoneProxyXdsState xds, ILoggerProvider logs, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddFederationTelemetry("fed-dp");
        var app = builder.Build();
        app.MapGet("/stats", () => TypedResults.Text(Stats(proxyType, name, stats, server, xds).ToJsonString(Serialization.FederationJson.Options), "application/json"));
        app.MapGet("/ready", () => server.ListeningOn is { } address
            ? Results.Text($"listening on {address}\n")
            : Results.Text("not listening yet\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapFederationMetrics();
        await app.StartAsync(cancellationToken);
        var admin = new AdminServer(app);
        admin.Port = new Uri(app.Urls.First()).Port;
        return admin;
    }

    public static JsonObject Stats(string proxyType, string name, ZoneProxyStats stats, ZoneProxyServer server, ZoneProxyXdsState xds)
    {
        var table = server.Table;
        var closed = new JsonObject();
        foreach (var (outcome, count) in stats.ClosedByOutcome)
        {
            closed[ZoneProxyStats.Name(outcome)] = count;
        }
        var clusters = new JsonObject();
        foreach (var c in stats.Clusters)
        {
            clusters[c.Name] = ClusterJson(c, table.Cluster(c.Name));
        }
        foreach (var (clusterName, route) in table.Clusters.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (!clusters.ContainsKey(clusterName))
            {
                clusters[clusterName] = ClusterJson(new ClusterStats(clusterName), route);
            }
        }
        var client = xds.Client;
        return new JsonObject
        {
            ["proxy"] = proxyType,
            ["name"] = name,
            ["listening"] = server.ListeningOn?.ToString(),
            ["listener"] = table.Listener is { } l
                ? new JsonObject
                {
                    ["name"] = l.Name,
                    ["address"] = l.Address.ToString(),
                    ["serverNames"] = new JsonArray([.. l.Chains.SelectMany(c => c.ServerNames).Select(n => JsonValue.Create(n))]),
                }
                : null,
            ["connections"] = new JsonObject
            {
                ["accepted"] = stats.Accepted,
                ["active"] = stats.Active,
                ["closed"] = closed,
            },
            ["bytes"] = new JsonObject
            {
                ["downstreamToUpstream"] = stats.Clusters.Sum(c => c.BytesDownstreamToUpstream),
                ["upstreamToDownstream"] = stats.Clusters.Sum(c => c.BytesUpstreamToDownstream),
            },
            ["clusters"] = clusters,
            ["xds"] = new JsonObject
            {
                ["connected"] = client?.Connected ?? false,
                ["lastError"] = client?.LastError,
                ["configVersion"] = table.Version,
                ["acks"] = xds.Acks,
                ["nacks"] = xds.Nacks,
                ["lastNack"] = xds.LastNack,
            },
        };
    }

    private static JsonObject ClusterJson(ClusterStats c, ClusterRoute? route) => new()
    {
        ["connections"] = c.Connections,
        ["active"] = c.Active,
        ["bytesDownstreamToUpstream"] = c.BytesDownstreamToUpstream,
        ["bytesUpstreamToDownstream"] = c.BytesUpstreamToDownstream,
        ["connectFailures"] = c.ConnectFailures,
        ["noHealthyEndpoint"] = c.NoHealthyEndpoint,
        ["endpoints"] = route is null
            ? null
            : new JsonArray([.. route.Endpoints.Localities.SelectMany(l => l.Endpoints.Select(e => (JsonNode)new JsonObject
            {
                ["address"] = e.Address.ToString(),
                ["zone"] = l.Zone,
                ["subZone"] = l.SubZone.Length > 0 ? l.SubZone : null,
                ["priority"] = l.Priority,
                ["weight"] = e.Weight,
                ["localityWeight"] = l.Weight,
                ["healthy"] = e.Healthy,
            }))]),
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
