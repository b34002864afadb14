using Federation.Dataplane.Commands;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Logging;
using Federation.Dataplane.ZoneProxy.Proxy;
using Federation.Dataplane.ZoneProxy.Stats;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.ZoneProxy;

/// <summary><c>fed-dp run --type ingress|egress</c>: a zone's ingress or egress proxy, configured by the zone over xDS.</summary>
internal sealed class ZoneProxyType(ZoneProxyKind kind) : IDataplaneType
{
    public string Name => kind == ZoneProxyKind.Ingress ? "ingress" : "egress";

    public async Task<int> RunAsync(RunSettings settings, DataplaneEnvironment environment, ILoggerFactory loggers, CancellationToken stop)
    {
        var name = settings.Name ?? throw new DataplaneException($"--type {Name} needs --name NAME (the {(kind == ZoneProxyKind.Ingress ? "ZoneIngress" : "ZoneEgress")} to register)");
        var manifest = new ZoneProxyManifest(kind, name, settings.Address, settings.Port ?? DefaultPort(kind),
            kind == ZoneProxyKind.Ingress ? settings.AdvertisedAddress : null,
            kind == ZoneProxyKind.Ingress ? settings.AdvertisedPort : null);
        var howToGenerate = $"fedctl generate zone-token --zone <zone> --scope {Name}";
        var token = TokenFile.Read(settings.TokenFile, "zone token", howToGenerate);
        using var zone = new ZoneApiClient(settings.ControlPlane, () => TokenFile.Read(settings.TokenFile, "zone token", howToGenerate), environment.HttpHandler, environment.HttpTimeout);
        var stats = new ZoneProxyStats();
        environment.ZoneProxyStarted?.Invoke(stats);
        using var metrics = new ZoneProxyMetrics(stats, Name);
        await using var server = new ZoneProxyServer(new ZoneProxyOptions(), stats, environment.Time, loggers.CreateLogger<ZoneProxyServer>());
        var xds = new ZoneProxyXdsState();
        AdminServer? admin = null;
        try
        {
            if (settings.AdminPort is > 0 and var port)
            {
                try
                {
                    admin = await AdminServer.StartAsync(port, Name, name, stats, server, xds,
                        new LineLoggerProvider(environment.Error, environment.Time, LogLevel.Warning), stop);
                }
                catch (IOException e)
                {
                    throw new DataplaneException($"--admin-port {port}: cannot listen on 127.0.0.1:{port}: {e.Message}", e);
                }
            }
            var agent = new ZoneProxyAgent(
                new ZoneProxySettings
                {
                    Proxy = manifest,
                    Token = token,
                    XdsAddress = settings.XdsAddress,
                    RegistrationInterval = settings.RegistrationInterval,
                    StartupTimeout = settings.StartupTimeout,
                    DrainTimeout = settings.StopTimeout,
                },
                zone,
                server,
                xds,
                environment.Time,
                loggers);
            return await agent.RunAsync(stop);
        }
        finally
        {
            if (admin is not null)
            {
                await admin.DisposeAsync();
            }
        }
    }

    /// <summary>The ports DESIGN.md gives zone proxies: ingress 10001, egress 10002.</summary>
    public static int DefaultPort(ZoneProxyKind kind) => kind == ZoneProxyKind.Ingress ? 10001 : 10002;
}
