using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Federation.IntegrationTests.Fixture;

/// <summary>One KDS call that reached the global: when, which RPC, and the zone it claimed to be.</summary>
public sealed record KdsCall(DateTimeOffset Time, string Method, string Zone);

/// <summary>
/// Records every KDS call the global receives, before authentication, so a test can count a refused zone's
/// connection attempts (each attempt starts with a HealthCheck) and prove it backs off instead of looping.
/// </summary>
public sealed class KdsCallLog
{
    private const string ServicePrefix = "/federation.kds.v1.KdsSync/";
    private readonly ConcurrentQueue<KdsCall> _calls = new();

    public IReadOnlyList<KdsCall> Calls(string zone, string method = "HealthCheck") =>
        [.. _calls.Where(c => c.Zone == zone && c.Method == method)];

    /// <summary>Registers the recording middleware ahead of the global's own pipeline.</summary>
    public IStartupFilter StartupFilter() => new Filter(this);

    private sealed class Filter(KdsCallLog log) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                var path = http.Request.Path.Value ?? "";
                if (path.StartsWith(ServicePrefix, StringComparison.Ordinal))
                {
                    log._calls.Enqueue(new KdsCall(DateTimeOffset.UtcNow, path[ServicePrefix.Length..], http.Request.Headers["kds-zone"].ToString()));
                }
                return nextMiddleware(http);
            });
            next(app);
        };
    }
}
