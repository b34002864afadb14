using System.Net;
using Federation.Api;
using Federation.Hosting;
using Federation.Kds.Cache;
using Federation.Zone.Api;
using Federation.Zone.Dns;
using Federation.Zone.Kds;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.Proxies;
using Federation.Zone.Xds.Server;
using Federation.Zone.Xds.State;
using Microsoft.Extensions.Options;

namespace Federation.Zone;

/// <summary>Builds a zone control plane: one place for the executable and the in-process test hosts.</summary>
public static class ZoneHost
{
    /// <summary>The port a listener really bound (differs from the option when the option is 0).</summary>
    public static int ActualPort(WebApplication app, int configured)
    {
        if (configured != 0)
        {
            return configured;
        }
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
        return addresses.Select(a => new Uri(a).Port).LastOrDefault();
    }

    public static WebApplication Build(IReadOnlyDictionary<string, string?> overrides, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(overrides);
        var options = builder.Configuration.GetSection(ZoneOptions.Section).Get<ZoneOptions>() ?? new ZoneOptions();
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(ZoneOptions.Section, typeof(ZoneOptions), problems);
        }
        builder.Services.AddSingleton(options);
        builder.Services.AddControlPlaneCore(new ControlPlaneIdentity(ControlPlaneMode.Zone, options.Zone, options.Federated), options.ToStoreOptions());
        builder.Services.AddMediator(o => o.ServiceLifetime = ServiceLifetime.Singleton);
        builder.Services.AddSingleton(new KdsCacheOptions());
        builder.Services.AddSingleton(KdsExport.ZoneToGlobal());
        builder.Services.AddSingleton<KdsResourceCache>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<KdsResourceCache>());
        builder.Services.AddSingleton<KdsClientState>();
        builder.Services.AddSingleton<Federation.Kds.Streams.KdsMetrics>();
        builder.Services.AddSingleton<ZoneStateBuilder>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ZoneStateBuilder>());
        builder.Services.AddSingleton<ConfigGenerator>();
        builder.Services.AddSingleton<CertificateManager>();
        builder.Services.AddSingleton<ProxyRegistry>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProxyRegistry>());
        builder.Services.AddSingleton<IXdsSnapshotSource, ZoneXdsSource>();
        builder.Services.AddSingleton(sp => new AdsWriteBudget(options.XdsWriteBudgetKb * 1024L, time: sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddAdsServer();
        builder.Services.AddSingleton<VipAllocator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<VipAllocator>());
        builder.Services.AddHostedService<MeshDnsServer>();
        builder.Services.AddSingleton<IngressServicesReconciler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IngressServicesReconciler>());
        if (options.Federated)
        {
            builder.Services.AddSingleton<KdsClient>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<KdsClient>());
        }
        var bind = IPAddress.Parse(options.BindAddress);
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Many proxies share few connections (HTTP/2 multiplexing); the default of 100 streams is too low.
            k.Limits.Http2.MaxStreamsPerConnection = 10_000;
            k.Listen(bind, options.ApiPort, l => l.Tag(ListenerTagging.Api));
            k.Listen(bind, options.XdsPort, l =>
            {
                // Plaintext HTTP/2: proxyless gRPC clients cannot use TLS to the control plane (grpc-js-xds).
                l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2;
                l.Tag(ListenerTagging.Grpc);
            });
        });
        configure?.Invoke(builder);
        var app = builder.Build();
        app.Use((http, next) => ListenerTagging.EnforceAsync(http, () => next(http)));
        app.MapGet("/status/kds", (ZoneOptions o, KdsClientState state) => TypedResults.Json(new
        {
            federated = o.Federated,
            globalAddress = o.GlobalAddress,
            connected = state.Connected,
            connections = state.Connections,
            lastError = state.LastError,
        }));
        app.MapGet("/status/xds", (ZoneOptions o, ProxyRegistry proxies) => TypedResults.Json(new
        {
            address = $"{o.BindAddress}:{ActualPort(app, o.XdsPort)}",
            zone = o.Zone,
            dpAuth = o.DpAuth,
            connectedProxies = proxies.Count,
        }));
        app.MapGrpcService<AdsService>();
        app.MapCertificateEndpoints();
        app.MapControlPlaneApi();
        return app;
    }
}
