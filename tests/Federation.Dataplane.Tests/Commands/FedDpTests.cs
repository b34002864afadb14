using System.Text.Json.Nodes;
using Federation.Dataplane.Commands;
using Federation.Dataplane.Tests.Testing;

namespace Federation.Dataplane.Tests.Commands;

/// <summary>The real command tree, in-process, against a small zone API on a loopback port.</summary>
public sealed class FedDpTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly LogWriter _error = new();
    private readonly StringWriter _out = new();
    private readonly FakeLauncher _launcher = new();
    private FakeZone _zone = null!;

    public async ValueTask InitializeAsync()
    {
        _zone = await FakeZone.StartAsync();
        File.WriteAllText(_dir.File("dp.yaml"), """
            type: Dataplane
            mesh: default
            name: backend-1
            networking:
              address: 127.0.0.1
              inbound: [{port: 18080, tags: {kuma.io/service: backend, kuma.io/protocol: grpc}}]
            """);
        File.WriteAllText(_dir.File("dp.token"), FakeZone.Token + "\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _zone.DisposeAsync();
        _dir.Dispose();
    }

    private Task<int> RunAsync(CancellationToken cancellationToken, params string[] args) =>
        FedDp.RunAsync(args, new DataplaneEnvironment { Out = _out, Error = _error, Launcher = _launcher }, cancellationToken);

    private string[] Proxyless(params string[] more) =>
    [
        "run", "--type", "proxyless", "--cp", _zone.Address.ToString(), "--dataplane", _dir.File("dp.yaml"), "--token-file", _dir.File("dp.token"),
        "--bootstrap-out", _dir.File("out/bootstrap.json"), "--certs-dir", _dir.File("out/certs"), .. more,
    ];

    [Fact]
    public async Task Run_Proxyless_RunsTheApplicationWithTheBootstrap_ForwardsItsExitCode_AndUnregisters()
    {
        var run = RunAsync(TestContext.Current.CancellationToken, Proxyless("--", "node", "app.js", "--flag"));
        await _launcher.Changed.WaitUntilAsync(() => _launcher.Started is not null, "the application to start", () => _error.Text);

        Assert.Equal("node", _launcher.Command!.FileName);
        Assert.Equal(["app.js", "--flag"], _launcher.Command.Arguments);
        Assert.Equal(_dir.File("out/bootstrap.json"), _launcher.Environment!["GRPC_XDS_BOOTSTRAP"]);
        var bootstrap = JsonNode.Parse(File.ReadAllText(_dir.File("out/bootstrap.json")))!;
        Assert.Equal(FakeZone.XdsAddress, bootstrap["xds_servers"]![0]!["server_uri"]!.GetValue<string>());
        Assert.Equal(FakeZone.Token, bootstrap["node"]!["metadata"]!["dataplane.token"]!.GetValue<string>());
        Assert.Equal("CERT backend-1", File.ReadAllText(_dir.File("out/certs/cert.pem")));
        Assert.True(_zone.Dataplanes.ContainsKey("default/backend-1"));

        _launcher.Started!.Exit(7);

        Assert.Equal(7, await run.Within10s("fed-dp to exit with the application"));
        Assert.Empty(_zone.Dataplanes);
        Assert.Contains(_zone.Requests, r => r.StartsWith("DELETE /meshes/default/dataplanes/backend-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_Stopped_StopsTheApplicationAndUnregisters()
    {
        using var stop = new CancellationTokenSource();
        var run = RunAsync(stop.Token, Proxyless("--", "node", "app.js"));
        await _launcher.Changed.WaitUntilAsync(() => _launcher.Started is not null, "the application to start", () => _error.Text);

        await stop.CancelAsync();

        Assert.Equal(0, await run.Within10s("fed-dp to stop"));
        Assert.True(_launcher.Started!.StopRequested);
        Assert.Empty(_zone.Dataplanes);
    }

    [Fact]
    public async Task Run_RegistrationRefused_PrintsOneLineNamingDataplaneZoneAndReason()
    {
        File.WriteAllText(_dir.File("dp.token"), "not-the-token");

        var code = await RunAsync(TestContext.Current.CancellationToken, Proxyless("--", "node", "app.js")).Within10s("fed-dp to fail");

        Assert.Equal(1, code);
        Assert.Equal(
            $"fed-dp: cannot register Dataplane default.backend-1 on {_zone.Address.ToString().TrimEnd('/')}: the bearer token is neither the admin token nor a valid dataplane token for this Dataplane: the token is not a JWT (HTTP 403 Forbidden)",
            _error.Lines[^1]);
        Assert.Null(_launcher.Started);
    }

    [Fact]
    public async Task Run_MissingRequiredOptions_IsAUsageError()
    {
        var code = await RunAsync(TestContext.Current.CancellationToken, "run", "--type", "proxyless");
        var withDataplane = await RunAsync(TestContext.Current.CancellationToken, "run", "--type", "proxyless", "--dataplane", "dp.yaml");

        Assert.Equal((2, 2), (code, withDataplane));
        Assert.Equal(
            ["fed-dp: --type proxyless needs --dataplane FILE (the Dataplane to register) (see 'fed-dp run --help')", "fed-dp: Option '--token-file' is required (see 'fed-dp run --help')"],
            _error.Lines);
    }

    [Theory]
    [InlineData("ingress", new[] { "--dataplane", "dp.yaml" }, "--type ingress needs --name NAME (the ZoneIngress to register); --dataplane is for --type proxyless, not ingress")]
    [InlineData("egress", new[] { "--name", "egress-1", "--advertised-address", "127.0.0.1" }, "--advertised-address is for --type ingress, not egress")]
    [InlineData("ingress", new[] { "--name", "ingress-1", "--", "node", "app.js" }, "--type ingress runs no application: remove what follows '--'")]
    [InlineData("ingress", new[] { "--name", "ingress-1", "--address", "localhost" }, "--address: 'localhost' is not an IP address (e.g. 127.0.0.1)")]
    [InlineData("ingress", new[] { "--name", "ingress-1", "--port", "70000" }, "--port: 70000 is not a port (1 to 65535)")]
    [InlineData("egress", new[] { "--name", "egress-1", "--admin-port", "-1" }, "--admin-port: -1 is not a port (0: off, or 1 to 65535)")]
    [InlineData("proxyless", new[] { "--dataplane", "dp.yaml", "--name", "x", "--admin-port", "9901" }, "--name is for --type ingress|egress, not proxyless; --admin-port is for --type ingress|egress, not proxyless")]
    public async Task Run_OptionsThatDoNotFitTheType_AreOneUsageLine(string type, string[] options, string expected)
    {
        var code = await RunAsync(TestContext.Current.CancellationToken, ["run", "--type", type, "--token-file", _dir.File("dp.token"), .. options]);

        Assert.Equal(2, code);
        Assert.Equal($"fed-dp: {expected} (see 'fed-dp run --help')", _error.Text.Trim());
        Assert.Empty(_zone.Requests);
    }

    [Fact]
    public async Task Run_ProxylessWithoutBootstrapOut_SaysWhatIsMissing()
    {
        var code = await RunAsync(TestContext.Current.CancellationToken, "run", "--type", "proxyless", "--cp", _zone.Address.ToString(), "--dataplane", _dir.File("dp.yaml"), "--token-file", _dir.File("dp.token"));

        Assert.Equal(1, code);
        Assert.Equal("fed-dp: --type proxyless needs --bootstrap-out FILE (where the gRPC xDS bootstrap is written)", _error.Text.Trim());
    }

    [Theory]
    [InlineData("--registration-interval", "soon", "--registration-interval: 'soon' is not a positive duration (examples: 500ms, 10s, 1m)")]
    [InlineData("--cp", "127.0.0.1:5681", "--cp: '127.0.0.1:5681' is not an http:// or https:// URL (e.g. http://127.0.0.1:5681)")]
    [InlineData("--xds-address", "127.0.0.1", "--xds-address: '127.0.0.1' is not HOST:PORT (e.g. 127.0.0.1:5678)")]
    public async Task Run_BadOptionValue_IsOneLine(string option, string value, string expected)
    {
        var args = Proxyless().Where((a, i) => a != option && (i == 0 || Proxyless()[i - 1] != option)).Concat([option, value]).ToArray();

        var code = await RunAsync(TestContext.Current.CancellationToken, args);

        Assert.Equal(1, code);
        Assert.Equal($"fed-dp: {expected}", _error.Text.Trim());
    }

    [Fact]
    public async Task Run_EmptyTokenFile_SaysHowToGetOne()
    {
        File.WriteAllText(_dir.File("dp.token"), "\n");

        var code = await RunAsync(TestContext.Current.CancellationToken, Proxyless());

        Assert.Equal(1, code);
        Assert.StartsWith($"fed-dp: the dataplane token file {_dir.File("dp.token")} is empty (generate a token: fedctl generate dataplane-token", _error.Text.Trim(), StringComparison.Ordinal);
    }
}
