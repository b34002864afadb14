using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Federation.Hosting;

/// <summary>
/// OpenTelemetry for every control plane: the <c>Federation</c> meter (KDS, xDS, store, changes) plus ASP.NET Core
/// metrics, scraped by Prometheus at <c>/metrics</c> on the API port; traces of API requests and of the work they
/// cause, exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class Telemetry
{
    public const string Name = "Federation";

    public static readonly ActivitySource Source = new(Name);

    public static IServiceCollection AddFederationTelemetry(this IServiceCollection services, string serviceName)
    {
        var otlp = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceVersion: ControlPlaneIdentity.Version))
            .WithMetrics(m => m.AddMeter(Name).AddAspNetCoreInstrumentation().AddPrometheusExporter());
        if (otlp)
        {
            builder.WithTracing(t => t.AddSource(Name).AddAspNetCoreInstrumentation().AddOtlpExporter());
        }
        return services;
    }

    /// <summary>Serves the Prometheus scrape endpoint (readable without the admin token).</summary>
    public static WebApplication MapFederationMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
