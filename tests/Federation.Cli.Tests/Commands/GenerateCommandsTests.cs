using System.Text.Json.Nodes;
using Federation.Cli.Tests.Fakes;

namespace Federation.Cli.Tests.Commands;

public sealed class GenerateCommandsTests
{
    [Fact]
    public async Task GenerateZoneToken_PrintsOnlyTheToken()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("generate", "zone-token", "--zone", "zone-1", "--valid-for", "720h", "--scope", "cp", "--scope", "ingress");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        var line = Assert.Single(result.OutLines);
        Assert.Equal(line + "\n", result.Out);
        Assert.Matches("^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$", line);
        var request = cli.Server.Requests[^1];
        Assert.Equal("POST /tokens/zone", request.ToString());
        Assert.Equal($"Bearer {FakeControlPlane.AdminToken}", request.Authorization);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"zone":"zone-1","validFor":"720h","scope":["cp","ingress"]}"""), JsonNode.Parse(request.Body!)), request.Body);
    }

    [Fact]
    public async Task GenerateZoneToken_DefaultValidity_Is24Hours()
    {
        using var cli = new CliHarness();

        await cli.RunAsync("generate", "zone-token", "--zone", "zone-1");

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"zone":"zone-1","validFor":"24h"}"""), JsonNode.Parse(cli.Server.Requests[^1].Body!)));
    }

    [Fact]
    public async Task GenerateDataplaneToken_PostsMeshAndName()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("generate", "dataplane-token", "--mesh", "demo", "--name", "backend-1");

        Assert.Equal(0, result.ExitCode);
        Assert.Single(result.OutLines);
        Assert.Equal("POST /tokens/dataplane", cli.Server.Requests[^1].ToString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"mesh":"demo","name":"backend-1","validFor":"24h"}"""), JsonNode.Parse(cli.Server.Requests[^1].Body!)));
    }

    [Theory]
    [InlineData("--valid-for", "forever")]
    [InlineData("--scope", "everything")]
    public async Task GenerateZoneToken_BadOption_IsUsageErrorAndSendsNothing(string option, string value)
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("generate", "zone-token", "--zone", "z", option, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(value, result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Server.Requests);
        Assert.Equal("", result.Out);
    }
}
