using System.Text.Json.Nodes;
using Federation.Dataplane.Certificates;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Logging;
using Federation.Dataplane.Manifests;
using Federation.Dataplane.Processes;
using Federation.Dataplane.Proxyless;
using Federation.Dataplane.Tests.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Federation.Dataplane.Tests.Proxyless;

public sealed class ProxylessAgentTests : IDisposable
{
    private static readonly DataplaneManifest Backend = DataplaneManifest.Parse("""
        type: Dataplane
        mesh: default
        name: backend-1
        networking:
          address: 127.0.0.1
          inbound: [{port: 18080, tags: {kuma.io/service: backend}}]
        """, "dp.yaml");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _dir = new();
    private readonly LogWriter _log = new();
    private readonly FakeLauncher _launcher = new();
    private readonly FakeZoneApi _zone;
    private readonly ILoggerFactory _loggers;
    private readonly CancellationTokenSource _stop = new();

    public ProxylessAgentTests()
    {
        _zone = new FakeZoneApi(_time);
        _loggers = LoggerFactory.Create(b => b.AddProvider(new LineLoggerProvider(_log, _time, LogLevel.Information)));
    }

    private CertificateFiles Certificates => new(_dir.File("certs"));

    private Task<int> Run(Func<ProxylessSettings, ProxylessSettings>? adjust = null)
    {
        var settings = new ProxylessSettings
        {
            Dataplane = Backend,
            Token = "tok",
            BootstrapPath = _dir.File("bootstrap.json"),
            Certificates = Certificates,
            Application = new ApplicationCommand("node", ["app.js"]),
            RegistrationInterval = TimeSpan.FromSeconds(10),
        };
        var agent = new ProxylessAgent(adjust?.Invoke(settings) ?? settings, _zone, _launcher, _time, _loggers.CreateLogger<ProxylessAgent>());
        return Task.Run(() => agent.RunAsync(_stop.Token));
    }

    private Task StartedAsync() => _launcher.Changed.WaitUntilAsync(() => _launcher.Started is not null, "the application to start", () => _log.Text);

    [Fact]
    public async Task Run_RegistersWritesFilesStartsTheApplication_AndOnStopStopsItAndUnregisters()
    {
        var run = Run();
        await StartedAsync();

        Assert.True(_zone.Registered);
        Assert.Equal("CERT 1", File.ReadAllText(Certificates.CertificateFile));
        Assert.Equal("KEY 1", File.ReadAllText(Certificates.PrivateKeyFile));
        Assert.Equal("CA", File.ReadAllText(Certificates.CaFile));
        var bootstrap = JsonNode.Parse(File.ReadAllText(_dir.File("bootstrap.json")))!;
        // The zone reported 0.0.0.0 (it listens everywhere): the application dials the host fed-dp reached.
        Assert.Equal("zone.test:15678", bootstrap["xds_servers"]![0]!["server_uri"]!.GetValue<string>());
        Assert.Equal("default.backend-1", bootstrap["node"]!["id"]!.GetValue<string>());
        Assert.Equal("zone-1", bootstrap["node"]!["locality"]!["zone"]!.GetValue<string>());
        Assert.Equal(_dir.File("bootstrap.json"), _launcher.Environment![ProxylessAgent.BootstrapVariable]);
        Assert.Equal(new ApplicationCommand("node", ["app.js"]).FileName, _launcher.Command!.FileName);

        await _stop.CancelAsync();
        var code = await run.Within10s("the agent to stop");

        Assert.Equal(0, code);
        Assert.True(_launcher.Started!.StopRequested);
        Assert.False(_zone.Registered);
        Assert.Equal(1, _zone.Unregistrations);
    }

    [Fact]
    public async Task Run_ApplicationExits_ForwardsItsExitCodeAndUnregisters()
    {
        var run = Run();
        await StartedAsync();

        _launcher.Started!.Exit(3);
        var code = await run.Within10s("the agent to end with the application");

        Assert.Equal(3, code);
        Assert.False(_launcher.Started.StopRequested);
        Assert.False(_zone.Registered);
        await _log.WaitForAsync("the application exited with code 3");
    }

    [Fact]
    public async Task Run_AtRenewAt_WritesANewCertificate()
    {
        var run = Run();
        await StartedAsync();
        var renewAt = _zone.LastIssued!.RenewAt;

        _time.Advance(renewAt - _time.GetUtcNow() - TimeSpan.FromSeconds(1));
        await _log.WaitForAsync("wrote the certificate files", 1);
        Assert.Equal(1, _zone.CertificatesIssued);

        _time.Advance(TimeSpan.FromSeconds(1));
        await _log.WaitForAsync("wrote the certificate files", 2);

        Assert.Equal(2, _zone.CertificatesIssued);
        Assert.Equal("CERT 2", File.ReadAllText(Certificates.CertificateFile));
        await _stop.CancelAsync();
        await run.Within10s("the agent to stop");
    }

    [Fact]
    public async Task Run_RenewalFails_RetriesWithGrowingDelaysUntilItWorks()
    {
        var run = Run();
        await StartedAsync();
        var renewAt = _zone.LastIssued!.RenewAt;
        _zone.CertificateFailures.Enqueue(new ZoneApiException("cannot get the certificate: connection refused", null, transient: true));
        _zone.CertificateFailures.Enqueue(new ZoneApiException("cannot get the certificate: HTTP 503", 503, transient: true));

        _time.Advance(renewAt - _time.GetUtcNow());
        await _log.WaitForAsync("connection refused; retrying in 1s");
        _time.Advance(TimeSpan.FromSeconds(1));
        await _log.WaitForAsync("HTTP 503; retrying in 2s");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, _zone.CertificatesIssued);
        _time.Advance(TimeSpan.FromSeconds(1));
        await _log.WaitForAsync("wrote the certificate files", 2);

        Assert.Equal("CERT 2", File.ReadAllText(Certificates.CertificateFile));
        await _stop.CancelAsync();
        await run.Within10s("the agent to stop");
    }

    [Fact]
    public async Task Run_ZoneLostTheDataplane_RegistersItAgainAndRefreshesTheCertificate()
    {
        var run = Run();
        await StartedAsync();
        var registrations = _zone.Registrations;

        _zone.Registered = false;
        _time.Advance(TimeSpan.FromSeconds(10));
        await _log.WaitForAsync("the zone had lost Dataplane default.backend-1; registered it again");
        await _log.WaitForAsync("wrote the certificate files", 2);

        Assert.True(_zone.Registered);
        Assert.Equal(registrations + 1, _zone.Registrations);
        await _stop.CancelAsync();
        await run.Within10s("the agent to stop");
    }

    [Fact]
    public async Task Run_ZoneUnreachableDuringAChecks_KeepsRunningAndSaysWhenItIsBack()
    {
        var run = Run();
        await StartedAsync();

        _zone.RegisterFailures.Enqueue(new ZoneApiException("cannot register Dataplane default.backend-1: connection refused", null, transient: true));
        _time.Advance(TimeSpan.FromSeconds(10));
        await _log.WaitForAsync("connection refused; the application keeps its last config");
        _time.Advance(TimeSpan.FromSeconds(10));
        await _log.WaitForAsync("the zone at http://zone.test:5681 answers again");

        Assert.False(run.IsCompleted);
        await _stop.CancelAsync();
        Assert.Equal(0, await run.Within10s("the agent to stop"));
    }

    [Fact]
    public async Task Run_RegistrationRefused_FailsWithoutStartingTheApplication()
    {
        _zone.RegisterFailures.Enqueue(new ZoneApiException("cannot register Dataplane default.backend-1 on http://zone.test:5681: forbidden (HTTP 403 Forbidden)", 403, transient: false));

        var e = await Assert.ThrowsAsync<ZoneApiException>(() => Run().Within10s("the agent to fail"));

        Assert.Contains("HTTP 403", e.Message, StringComparison.Ordinal);
        Assert.Null(_launcher.Started);
        Assert.Equal(0, _zone.Unregistrations);
        Assert.False(File.Exists(_dir.File("bootstrap.json")));
    }

    [Fact]
    public async Task Run_ZoneStarting_RetriesStartUpUntilItAnswers()
    {
        _zone.RegisterFailures.Enqueue(new ZoneApiException("cannot register: connection refused", null, transient: true));

        var run = Run();
        await _log.WaitForAsync("connection refused; retrying in 0.2s");
        _time.Advance(TimeSpan.FromMilliseconds(200));
        await StartedAsync();

        await _stop.CancelAsync();
        await run.Within10s("the agent to stop");
    }

    [Fact]
    public async Task Run_ZoneStillDownAtTheStartupTimeout_FailsWithTheReason()
    {
        _zone.RegisterFailures.Enqueue(new ZoneApiException("cannot register: connection refused", null, transient: true));

        var e = await Assert.ThrowsAsync<ZoneApiException>(() => Run(s => s with { StartupTimeout = TimeSpan.Zero }).Within10s("the agent to fail"));

        Assert.Equal("cannot register: connection refused", e.Message);
    }

    [Fact]
    public async Task Run_CertificateFailsAfterRegistration_UnregistersBeforeFailing()
    {
        _zone.CertificateFailures.Enqueue(new ZoneApiException("cannot get the certificate: forbidden", 403, transient: false));

        await Assert.ThrowsAsync<ZoneApiException>(() => Run().Within10s("the agent to fail"));

        Assert.False(_zone.Registered);
        Assert.Equal(1, _zone.Unregistrations);
    }

    [Fact]
    public async Task Run_MeshWithoutMtls_StartsWithoutCertificateFiles()
    {
        _zone.CertificateFailures.Enqueue(new ZoneApiException("mesh 'default' has no mTLS enabled", 400, transient: false));

        var run = Run();
        await StartedAsync();

        Assert.False(File.Exists(Certificates.CertificateFile));
        Assert.True(File.Exists(_dir.File("bootstrap.json")));
        // Asked again at the next check: mTLS may be enabled later.
        _time.Advance(TimeSpan.FromSeconds(10));
        await _log.WaitForAsync("wrote the certificate files");
        await _stop.CancelAsync();
        await run.Within10s("the agent to stop");
    }

    [Fact]
    public async Task Run_WithoutApplication_RunsUntilStopped()
    {
        var run = Run(s => s with { Application = null });
        await _log.WaitForAsync("wrote the gRPC xDS bootstrap");

        Assert.False(run.IsCompleted);
        await _stop.CancelAsync();
        Assert.Equal(0, await run.Within10s("the agent to stop"));
        Assert.False(_zone.Registered);
    }

    [Theory]
    [InlineData("0.0.0.0:15678", "http://10.1.2.3:5681", "10.1.2.3:15678")]
    [InlineData("[::]:15678", "http://[fd00::1]:5681", "[fd00::1]:15678")]
    [InlineData("127.0.0.1:15678", "http://zone:5681", "127.0.0.1:15678")]
    public void Dialable_ReplacesOnlyAWildcardHost(string reported, string controlPlane, string expected) =>
        Assert.Equal(expected, ProxylessAgent.Dialable(reported, controlPlane));

    public void Dispose()
    {
        _stop.Dispose();
        _loggers.Dispose();
        _dir.Dispose();
    }
}
