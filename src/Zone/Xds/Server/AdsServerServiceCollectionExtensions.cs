using Federation.Zone.Xds.Server;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the zone's ADS server.</summary>
public static class AdsServerServiceCollectionExtensions
{
    /// <summary>
    /// Registers gRPC, the ADS service and its metrics. An <see cref="IXdsSnapshotSource"/> must be registered too.
    /// Map it on the xDS listener only, e.g. <c>app.MapGrpcService&lt;AdsService&gt;().RequireHost($"*:{xdsPort}")</c>
    /// (or a listener tag check); the listener must speak HTTP/2 (<c>HttpProtocols.Http2</c> for cleartext, as
    /// Envoy and gRPC clients use prior knowledge), and with many proxies per client process raise
    /// <c>Http2.MaxStreamsPerConnection</c> (default 100).
    /// </summary>
    public static IServiceCollection AddAdsServer(this IServiceCollection services)
    {
        services.AddGrpc();
        services.AddMetrics();
        services.TryAddSingleton<XdsServerMetrics>();
        services.TryAddSingleton(sp => new AdsWriteBudget(time: sp.GetService<TimeProvider>()));
        // Stateless: one instance serves every stream.
        services.TryAddSingleton<AdsService>();
        return services;
    }
}
