using System.Net;
using System.Net.Sockets;
using Federation.Cli.Tests.Fakes;

namespace Federation.Cli.Tests.Commands;

public sealed class ConfigCommandsTests
{
    [Fact]
    public async Task Add_VerifiedControlPlanes_StoresTokenContentsOwnerOnlyAndNewestBecomesCurrent()
    {
        using var cli = new CliHarness(configureControlPlane: false);
        var tokenFile = cli.WriteFile("admin.token", FakeControlPlane.AdminToken + "\n");

        var first = await cli.RunAsync("config", "control-planes", "add", "--name", "global", "--address", "http://global.test:5681", "--token-file", tokenFile);
        var second = await cli.RunAsync("config", "control-planes", "add", "--name", "zone-1", "--address", "http://zone.test:15681/");
        var list = await cli.RunAsync("config", "control-planes", "list");

        Assert.Equal(0, first.ExitCode);
        Assert.Equal("added control plane \"global\" at http://global.test:5681 (global, version 0.1.0); it is now the current one\n", first.Out);
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(["GET http://global.test:5681/", "GET http://zone.test:15681/"], cli.Server.Requests.Select(r => $"{r.Method} {r.Uri}"));
        Assert.Equal(
            [
                "NAME     ADDRESS                   ACTIVE",
                "global   http://global.test:5681",
                "zone-1   http://zone.test:15681    *",
            ],
            list.OutLines);
        var saved = await File.ReadAllTextAsync(cli.ConfigPath, TestContext.Current.CancellationToken);
        Assert.Contains($"token: {FakeControlPlane.AdminToken}\n", saved, StringComparison.Ordinal);
        Assert.DoesNotContain("admin.token", saved, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cli.ConfigPath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(cli.ConfigPath)!));
        }
    }

    [Fact]
    public async Task Add_StoredToken_IsSentOnWrites()
    {
        using var cli = new CliHarness(configureControlPlane: false);
        await cli.RunAsync("config", "control-planes", "add", "--name", "g", "--address", CliHarness.Address, "--token", FakeControlPlane.AdminToken);
        var manifest = cli.WriteFile("mesh.yaml", Manifests.Mesh);

        var apply = await cli.RunAsync("apply", "-f", manifest);

        Assert.Equal(0, apply.ExitCode);
        Assert.Equal($"Bearer {FakeControlPlane.AdminToken}", cli.Server.Requests[^1].Authorization);
    }

    [Fact]
    public async Task Add_AddressDoesNotAnswer_FailsAndSavesNothing()
    {
        using var cli = new CliHarness(configureControlPlane: false) { UseRealNetwork = true };
        var address = $"http://127.0.0.1:{ClosedPort()}";

        var result = await cli.RunAsync("config", "control-planes", "add", "--name", "g", "--address", address);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"Error: cannot reach the control plane at {address}: connection refused (is it running? check 'fedctl config control-planes list')\n", result.Error);
        Assert.False(File.Exists(cli.ConfigPath));
    }

    [Fact]
    public async Task Add_SkipVerify_SavesWithoutAsking()
    {
        using var cli = new CliHarness(configureControlPlane: false);

        var result = await cli.RunAsync("config", "control-planes", "add", "--name", "g", "--address", "http://nowhere.test:5681", "--skip-verify");

        Assert.Equal(0, result.ExitCode);
        Assert.Empty(cli.Server.Requests);
        Assert.Contains("http://nowhere.test:5681", await File.ReadAllTextAsync(cli.ConfigPath, TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_ExistingNameWithoutOverwrite_FailsAndOverwriteReplaces()
    {
        using var cli = new CliHarness();

        var refused = await cli.RunAsync("config", "control-planes", "add", "--name", "test", "--address", "http://other.test:5681");
        var replaced = await cli.RunAsync("config", "control-planes", "add", "--name", "test", "--address", "http://other.test:5681", "--overwrite");
        var list = await cli.RunAsync("config", "control-planes", "list");

        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"Error: control plane \"test\" already exists in {cli.ConfigPath}; use --overwrite to replace it\n", refused.Error);
        Assert.Equal(0, replaced.ExitCode);
        Assert.Equal(["NAME   ADDRESS                  ACTIVE", "test   http://other.test:5681   *"], list.OutLines);
    }

    [Fact]
    public async Task Add_NotAFederationControlPlane_Fails()
    {
        using var cli = new CliHarness(configureControlPlane: false);
        cli.Server.Intercept = _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("""{"product":"something else"}""") };

        var result = await cli.RunAsync("config", "control-planes", "add", "--name", "g", "--address", "http://other.test");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("Error: http://other.test answered, but not as a Federation control plane", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_TokenAndTokenFile_IsRejected()
    {
        using var cli = new CliHarness(configureControlPlane: false);
        var tokenFile = cli.WriteFile("t", "x");

        var result = await cli.RunAsync("config", "control-planes", "add", "--name", "g", "--address", CliHarness.Address, "--token", "a", "--token-file", tokenFile);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: give either --token or --token-file, not both\n", result.Error);
    }

    [Fact]
    public async Task UseAndRemove_SwitchCurrentControlPlane()
    {
        using var cli = new CliHarness();
        await cli.RunAsync("config", "control-planes", "add", "--name", "zone", "--address", "http://zone.test:15681");

        var use = await cli.RunAsync("config", "control-planes", "use", "test");
        var afterUse = await cli.RunAsync("get", "meshes");
        var remove = await cli.RunAsync("config", "control-planes", "remove", "test");
        var afterRemove = await cli.RunAsync("get", "meshes");
        var unknown = await cli.RunAsync("config", "control-planes", "use", "nope");

        Assert.Equal("switched to control plane \"test\" (http://cp.test:5681)\n", use.Out);
        Assert.Equal(0, afterUse.ExitCode);
        Assert.Equal("removed control plane \"test\"; the current one is now \"zone\"\n", remove.Out);
        Assert.Equal(0, afterRemove.ExitCode);
        Assert.Equal(
            ["http://cp.test:5681/meshes", "http://zone.test:15681/meshes"],
            cli.Server.Requests.Where(r => r.Uri.AbsolutePath == "/meshes").Select(r => r.Uri.ToString()));
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("Error: no control plane named \"nope\"; known: zone\n", unknown.Error);
    }

    [Fact]
    public async Task View_RedactsTokensUnlessRaw()
    {
        using var cli = new CliHarness();

        var view = await cli.RunAsync("config", "view");
        var raw = await cli.RunAsync("config", "view", "--raw");

        Assert.Equal("currentControlPlane: test\ncontrolPlanes:\n- name: test\n  address: http://cp.test:5681\n  token: REDACTED\n", view.Out);
        Assert.Contains($"token: {FakeControlPlane.AdminToken}", raw.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigFileOption_OverridesEnvironment()
    {
        using var cli = new CliHarness();
        var other = Path.Combine(cli.Directory, "other.yaml");

        var add = await cli.RunAsync("--config-file", other, "config", "control-planes", "add", "--name", "o", "--address", CliHarness.Address);
        var list = await cli.RunAsync("config", "control-planes", "list", "--config-file", other);

        Assert.Equal(0, add.ExitCode);
        Assert.Equal(["NAME   ADDRESS               ACTIVE", "o      http://cp.test:5681   *"], list.OutLines);
    }

    [Fact]
    public async Task Load_MalformedConfig_ReportsFile()
    {
        using var cli = new CliHarness();
        await File.WriteAllTextAsync(cli.ConfigPath, "controlPlanes: [oops", TestContext.Current.CancellationToken);

        var result = await cli.RunAsync("get", "meshes");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"Error: the config file {cli.ConfigPath} is not valid: malformed YAML", result.Error, StringComparison.Ordinal);
    }

    internal static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
