using Federation.Dataplane.Certificates;
using Federation.Dataplane.Commands;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Manifests;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.Proxyless;

/// <summary><c>fed-dp run --type proxyless</c>: a gRPC application that talks xDS itself, with fed-dp beside it.</summary>
internal sealed class ProxylessType : IDataplaneType
{
    public string Name => "proxyless";

    public async Task<int> RunAsync(RunSettings settings, DataplaneEnvironment environment, ILoggerFactory loggers, CancellationToken stop)
    {
        var bootstrap = settings.BootstrapOut ?? throw new DataplaneException("--type proxyless needs --bootstrap-out FILE (where the gRPC xDS bootstrap is written)");
        var certs = settings.CertsDir ?? throw new DataplaneException("--type proxyless needs --certs-dir DIR (where the certificate, key and CA files are written)");
        var dataplane = DataplaneManifest.Load(settings.DataplaneFile ?? throw new DataplaneException("--type proxyless needs --dataplane FILE"));
        var token = TokenFile.Read(settings.TokenFile);
        using var zone = new ZoneApiClient(settings.ControlPlane, () => TokenFile.Read(settings.TokenFile), environment.HttpHandler, environment.HttpTimeout);
        var agent = new ProxylessAgent(
            new ProxylessSettings
            {
                Dataplane = dataplane,
                Token = token,
                BootstrapPath = bootstrap,
                Certificates = new CertificateFiles(certs),
                XdsAddress = settings.XdsAddress,
                Application = settings.Application,
                RegistrationInterval = settings.RegistrationInterval,
                StartupTimeout = settings.StartupTimeout,
                StopTimeout = settings.StopTimeout,
            },
            zone,
            environment.Launcher,
            environment.Time,
            loggers.CreateLogger<ProxylessAgent>());
        return await agent.RunAsync(stop);
    }
}
