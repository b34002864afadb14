using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.Tests.Testing;

/// <summary>
/// A small zone API on a real loopback port: <c>/status/xds</c>, and PUT/DELETE of Dataplanes plus their
/// <c>_certificate</c>, authorised by one dataplane token, answering problem+json like the real zone.
/// </summary>
internal sealed class FakeZone : IAsyncDisposable
{
    public const string Token = "the.dataplane.token";
    public const string ZoneToken = "the.zone.token";
    public const string XdsAddress = "127.0.0.1:15678";

    private readonly WebApplication _app;

    private FakeZone(WebApplication app) => _app = app;

    public Uri Address { get; private set; } = null!;

    /// <summary><c>mesh/name</c> → the registered document.</summary>
    public ConcurrentDictionary<string, JsonObject> Dataplanes { get; } = new(StringComparer.Ordinal);

    /// <summary><c>zoneingresses/name</c> or <c>zoneegresses/name</c> → the registered document.</summary>
    public ConcurrentDictionary<string, JsonObject> ZoneProxies { get; } = new(StringComparer.Ordinal);

    /// <summary><c>METHOD path (authorization)</c> of every request, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Answers instead of the normal handling when it returns a result (to inject failures).</summary>
    public Func<HttpContext, IResult?>? Intercept { get; set; }

    public Pulse Changed { get; } = new();

    public static async Task<FakeZone> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var zone = new FakeZone(app);
        app.Use(async (http, next) =>
        {
            zone.Requests.Enqueue($"{http.Request.Method} {http.Request.Path} ({http.Request.Headers.Authorization})");
            if (zone.Intercept?.Invoke(http) is { } result)
            {
                await result.ExecuteAsync(http);
            }
            else
            {
                await next(http);
            }
            zone.Changed.Set();
        });
        app.MapGet("/status/xds", () => Results.Json(new { address = XdsAddress, zone = "zone-1", dpAuth = "dpToken" }));
        app.MapPut("/meshes/{mesh}/dataplanes/{name}", async (string mesh, string name, HttpContext http) =>
        {
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }
            var body = (JsonObject)(await JsonNode.ParseAsync(http.Request.Body))!;
            var created = zone.Dataplanes.TryAdd($"{mesh}/{name}", body);
            zone.Dataplanes[$"{mesh}/{name}"] = body;
            return created ? Results.Json(body, statusCode: 201) : Results.Json(body);
        });
        app.MapDelete("/meshes/{mesh}/dataplanes/{name}", (string mesh, string name, HttpContext http) =>
            Unauthorized(http) ?? (zone.Dataplanes.TryRemove($"{mesh}/{name}", out _)
                ? Results.Json(new { })
                : Problem(404, $"Dataplane '{name}' not found in mesh '{mesh}'")));
        app.MapPost("/meshes/{mesh}/dataplanes/{name}/_certificate", (string mesh, string name, HttpContext http) =>
        {
            if (Unauthorized(http) is { } denied)
            {
                return denied;
            }
            if (!zone.Dataplanes.ContainsKey($"{mesh}/{name}"))
            {
                return Problem(404, $"Dataplane '{name}' is not registered in mesh '{mesh}'");
            }
            var now = DateTimeOffset.UtcNow;
            return Results.Json(new
            {
                certificate = $"CERT {name}",
                privateKey = $"KEY {name}",
                caCertificate = "CA",
                notBefore = now.AddMinutes(-1).ToString("O"),
                notAfter = now.AddHours(24).ToString("O"),
                renewAt = now.AddHours(19).ToString("O"),
            });
        });
        foreach (var plural in new[] { "zoneingresses", "zoneegresses" })
        {
            app.MapGet($"/{plural}/{{name}}", (string name, HttpContext http) =>
                ZoneProxyUnauthorized(http) ?? (zone.ZoneProxies.TryGetValue($"{plural}/{name}", out var stored)
                    ? Results.Json(stored)
                    : Problem(404, $"{plural}/{name} not found")));
            app.MapPut($"/{plural}/{{name}}", async (string name, HttpContext http) =>
            {
                if (ZoneProxyUnauthorized(http) is { } denied)
                {
                    return denied;
                }
                var body = (JsonObject)(await JsonNode.ParseAsync(http.Request.Body))!;
                var created = zone.ZoneProxies.TryAdd($"{plural}/{name}", body);
                zone.ZoneProxies[$"{plural}/{name}"] = body;
                return created ? Results.Json(body, statusCode: 201) : Results.Json(body);
            });
            app.MapDelete($"/{plural}/{{name}}", (string name, HttpContext http) =>
                ZoneProxyUnauthorized(http) ?? (zone.ZoneProxies.TryRemove($"{plural}/{name}", out _)
                    ? Results.Json(new { })
                    : Problem(404, $"{plural}/{name} not found")));
        }
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        zone.Address = new Uri(address);
        return zone;
    }

    public static IResult Problem(int status, string detail, params (string Field, string Reason)[] invalid)
    {
        var body = new JsonObject { ["type"] = $"https://federation.dev/problems/{status}", ["title"] = "Problem", ["status"] = status, ["detail"] = detail };
        if (invalid.Length > 0)
        {
            body["invalid_parameters"] = new JsonArray([.. invalid.Select(i => (JsonNode)new JsonObject { ["field"] = i.Field, ["reason"] = i.Reason })]);
        }
        return Results.Text(body.ToJsonString(), "application/problem+json", statusCode: status);
    }

    private static IResult? Unauthorized(HttpContext http) =>
        http.Request.Headers.Authorization.ToString() == $"Bearer {Token}"
            ? null
            : Problem(403, "the bearer token is neither the admin token nor a valid dataplane token for this Dataplane: the token is not a JWT");

    private static IResult? ZoneProxyUnauthorized(HttpContext http) =>
        http.Request.Headers.Authorization.ToString() == $"Bearer {ZoneToken}"
            ? null
            : Problem(403, "the bearer token is neither the admin token nor a valid ingress zone token for zone 'zone-1': the token is not a JWT");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
