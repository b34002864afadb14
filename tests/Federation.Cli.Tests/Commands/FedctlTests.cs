using System.Net;
using Federation.Cli.Tests.Fakes;

namespace Federation.Cli.Tests.Commands;

/// <summary>Behaviour every command shares: where it connects, which token it sends, how failures read.</summary>
public sealed class FedctlTests
{
    [Fact]
    public async Task Run_ClosedPort_ReportsConnectionRefused()
    {
        using var cli = new CliHarness(configureControlPlane: false) { UseRealNetwork = true };
        var address = $"http://127.0.0.1:{ConfigCommandsTests.ClosedPort()}";

        var result = await cli.RunAsync("get", "meshes", "--api", address);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.Equal($"Error: cannot reach the control plane at {address}: connection refused (is it running? check 'fedctl config control-planes list')\n", result.Error);
    }

    [Fact]
    public async Task Run_NothingConfigured_UsesLocalDefaultAddress()
    {
        using var cli = new CliHarness(configureControlPlane: false);

        var result = await cli.RunAsync("get", "meshes");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("http://127.0.0.1:5681/meshes", cli.Server.Requests[^1].Uri.ToString());
    }

    [Fact]
    public async Task Run_ApiOption_TalksToThatAddress()
    {
        using var cli = new CliHarness();

        await cli.RunAsync("get", "dataplanes", "--api", "http://127.0.0.1:15681");

        Assert.Equal("http://127.0.0.1:15681/dataplanes", cli.Server.Requests[^1].Uri.ToString());
        Assert.Null(cli.Server.Requests[^1].Authorization);
    }

    [Fact]
    public async Task Run_WriteWithoutToken_ExplainsHowToAuthenticate()
    {
        using var cli = new CliHarness(token: null);

        var result = await cli.RunWithInputAsync(Manifests.Mesh, "apply", "-f", "-");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            "Error: authentication required: send an admin token as 'Authorization: Bearer <token>' (use --token or 'fedctl config control-planes add --token-file')\n",
            result.Error);
    }

    [Fact]
    public async Task Run_WrongToken_ExplainsHowToAuthenticate()
    {
        using var cli = new CliHarness(token: "wrong");

        var result = await cli.RunAsync("generate", "zone-token", "--zone", "z");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: the token is not a valid admin token (use --token or 'fedctl config control-planes add --token-file')\n", result.Error);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public async Task Run_ForbiddenWithoutBody_StillExplains()
    {
        using var cli = new CliHarness();
        cli.Server.Intercept = _ => new HttpResponseMessage(HttpStatusCode.Forbidden);

        var result = await cli.RunAsync("get", "meshes");

        Assert.Equal("Error: access denied (use --token or 'fedctl config control-planes add --token-file')\n", result.Error);
    }

    [Fact]
    public async Task Run_TokenOptionAndVariable_OverrideStoredToken()
    {
        using var cli = new CliHarness(token: "stored");
        cli.Server.RequireTokenForReads = true;

        var stored = await cli.RunAsync("get", "meshes");
        cli.Variables["FEDCTL_TOKEN"] = FakeControlPlane.AdminToken;
        var fromVariable = await cli.RunAsync("get", "meshes");
        var fromOption = await cli.RunAsync("get", "meshes", "--token", "from-option");

        Assert.Equal(1, stored.ExitCode);
        Assert.Equal(0, fromVariable.ExitCode);
        Assert.Equal(1, fromOption.ExitCode);
        Assert.Equal(["Bearer stored", $"Bearer {FakeControlPlane.AdminToken}", "Bearer from-option"], cli.Server.Requests.Select(r => r.Authorization));
    }

    [Fact]
    public async Task Run_ServerAnswersHtml_ReportsStatusWithoutMarkup()
    {
        using var cli = new CliHarness();
        cli.Server.Intercept = _ => new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html><body>bad gateway</body></html>") };

        var result = await cli.RunAsync("get", "meshes");

        Assert.Equal("Error: HTTP 502 Bad Gateway\n", result.Error);
    }

    [Fact]
    public async Task Run_ZoneRefusesWrite_ShowsServerReason()
    {
        using var cli = new CliHarness();
        cli.Server.Intercept = _ => FakeControlPlane.Problem(HttpStatusCode.MethodNotAllowed, "Method Not Allowed", "Mesh \"default\" is provided by the global control plane and is read-only on a zone");

        var result = await cli.RunWithInputAsync(Manifests.Mesh, "apply", "-f", "-");

        Assert.Equal("Error: Mesh \"default\" is provided by the global control plane and is read-only on a zone\n", result.Error);
    }

    [Fact]
    public async Task Run_ServerNeverAnswers_TimesOutWithOneLine()
    {
        using var cli = new CliHarness { HttpTimeout = TimeSpan.FromMilliseconds(200) };
        cli.Server.NeverAnswer = true;

        var result = await cli.RunAsync("get", "meshes");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: the control plane at http://cp.test:5681 did not answer GET /meshes within 200ms\n", result.Error);
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData("1", 2)]
    public async Task Run_UnexpectedException_OneLineUnlessDebug(string? debug, int minimumLines)
    {
        using var cli = new CliHarness();
        if (debug is not null)
        {
            cli.Variables["FEDCTL_DEBUG"] = debug;
        }
        cli.Server.Intercept = _ => throw new InvalidOperationException("boom");

        var result = await cli.RunAsync("get", "meshes");

        Assert.Equal(1, result.ExitCode);
        var lines = result.Error.TrimEnd('\n').Split('\n');
        Assert.StartsWith("Error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains("boom", lines[0], StringComparison.Ordinal);
        Assert.True(lines.Length >= minimumLines);
        Assert.Equal(debug is null, !result.Error.Contains("   at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_NoCommand_IsUsageError()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync();

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Run_Help_PrintsCommandTreeAndSucceeds()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "config", "apply", "get", "delete", "generate", "--api", "--token", "--config-file" })
        {
            Assert.Contains(command, result.Out, StringComparison.Ordinal);
        }
    }
}
