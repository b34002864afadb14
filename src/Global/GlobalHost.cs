using System.Net;
using Federation.Api;
using Federation.Global.Kds;
using Federation.Global.Tokens;
using Federation.Global.Zones;
using Federation.Hosting;
using Federation.Kds.Cache;
using Federation.Kds.Streams;
using Microsoft.Extensions.Options;

namespace Federation.Global;

/// <summary>Builds the global control plane: one place for the executable and the in-process test hosts.</summary>
public static class GlobalHost
{
    public static WebApplication Build(IReadOnlyDictionary<string, string?> overrides, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(overrides);
        var options = builder.Configuration.GetSection(GlobalOptions.Section).Get<GlobalOptions>() ?? new GlobalOptions();
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(GlobalOptions.Section, typeof(GlobalOptions), problems);
        }
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddControlPlaneCore(new ControlPlaneIdentity(ControlPlaneMode.Global, null, false), options.ToStoreOptions());
        services.AddMediator(o => o.ServiceLifetime = ServiceLifetime.Singleton);

        var streamOptions = new KdsStreamOptions { MaxMessageBytes = options.KdsMaxMessageBytes };
        var globalOptions = new KdsGlobalOptions
        {
            HealthCheckInterval = TimeSpan.FromSeconds(options.HealthCheckIntervalSeconds),
            OfflineTimeout = TimeSpan.FromSeconds(options.OfflineTimeoutSeconds),
            // Online/Offline is computed from the stored health check, which is up to one flush plus one health-check
            // interval old: keep that below the offline timeout, or a healthy zone flaps to Offline between flushes.
            InsightFlushInterval = TimeSpan.FromSeconds(Math.Min(1, (options.OfflineTimeoutSeconds - options.HealthCheckIntervalSeconds) / 2)),
        };
        services.AddSingleton(streamOptions);
        services.AddSingleton(globalOptions);
        services.AddSingleton(new KdsCacheOptions());
        services.AddSingleton(KdsExport.GlobalToZones());
        services.AddSingleton<KdsResourceCache>();
        services.AddHostedService(sp => sp.GetRequiredService<KdsResourceCache>());
        services.AddSingleton<ZoneRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<ZoneRegistry>());
        services.AddSingleton<ZoneTokenService>();
        services.AddSingleton<KdsMetrics>();
        services.AddSingleton<ZoneAuthenticator>();
        services.AddSingleton<IDeleteHook, ZoneDeleteHook>();
        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = options.KdsMaxMessageBytes;
            o.MaxSendMessageSize = options.KdsMaxMessageBytes;
            o.ResponseCompressionAlgorithm = "gzip";
            o.ResponseCompressionLevel = System.IO.Compression.CompressionLevel.Fastest;
        });

        var bind = IPAddress.Parse(options.BindAddress);
        var kdsCertificate = KdsTls.LoadOrCreate(options.DataDir, options.KdsTlsCert, options.KdsTlsKey,
            (options.KdsTlsSans ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), TimeProvider.System);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(bind, options.ApiPort, l => l.Tag(ListenerTagging.Api));
            k.Listen(bind, options.KdsPort, l =>
            {
                l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2;
                l.UseHttps(kdsCertificate);
                l.Tag(ListenerTagging.Grpc);
            });
        });
        configure?.Invoke(builder);
        var app = builder.Build();
        app.Use((http, next) => ListenerTagging.EnforceAsync(http, () => next(http)));
        app.MapGrpcService<KdsSyncService>();
        app.MapTokenEndpoints();
        app.MapZoneEndpoints();
        app.MapControlPlaneApi();
        return app;
    }

    /// <summary>Creates what the global needs before it serves: the store is reachable, token signing keys exist.</summary>
    public static async Task PrepareAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await services.OpenStoreAsync(cancellationToken);
        await services.GetRequiredService<ZoneTokenService>().EnsureKeysAsync(cancellationToken);
    }
}
