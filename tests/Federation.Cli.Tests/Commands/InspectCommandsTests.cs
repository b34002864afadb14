using System.Net;
using System.Text;
using Federation.Cli.Tests.Fakes;

namespace Federation.Cli.Tests.Commands;

public sealed class InspectCommandsTests
{
    // Two proxies as GET /meshes/default/dataplanes/_overview shows them: one online (an older stream ended with a
    // NACK, the live one is clean), one that never connected. The harness clock reads 2025-06-01T12:00:00Z.
    private const string Overview = """
        {"total":2,"next":null,"items":[
          {"type":"DataplaneOverview","mesh":"default","name":"backend-1","status":"Online",
           "networking":{"address":"127.0.0.1","inbound":[{"port":18080,"tags":{"kuma.io/service":"backend"}}]},
           "dataplaneInsight":{
             "subscriptions":[
               {"id":"b","connectTime":"2025-06-01T11:58:00Z","configVersion":"7",
                "status":{"lastUpdateTime":"2025-06-01T11:59:30Z","total":{"responsesSent":9,"responsesAcknowledged":9,"responsesRejected":0}}},
               {"id":"a","connectTime":"2025-06-01T10:00:00Z","disconnectTime":"2025-06-01T11:57:00Z","configVersion":"3",
                "status":{"lastUpdateTime":"2025-06-01T10:01:00Z","total":{"responsesSent":4,"responsesAcknowledged":2,"responsesRejected":2,"lastNackReason":"Listener message validation failed"}}}],
             "mTls":{"certificateExpirationTime":"2025-06-02T10:00:00Z"}}},
          {"type":"DataplaneOverview","mesh":"default","name":"web-1","status":"Offline",
           "networking":{"address":"127.0.0.1","inbound":[{"port":18090,"tags":{"kuma.io/service":"web"}}]},
           "dataplaneInsight":{}}]}
        """;

    [Fact]
    public async Task InspectDataplanes_Table_ShowsTheLatestStreamOfEachProxy()
    {
        using var cli = new CliHarness();
        cli.Server.Intercept = request => request.RequestUri!.AbsolutePath == "/meshes/default/dataplanes/_overview"
            ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Overview, Encoding.UTF8, "application/json") }
            : null;

        var result = await cli.RunAsync("inspect", "dataplanes", "-m", "default");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            [
                "MESH      NAME        STATUS    LAST CONNECTED   LAST UPDATED   TOTAL UPDATES   NACKS   CONFIG VERSION   CERT EXPIRES   LAST NACK",
                "default   backend-1   Online    2m ago           30s ago        9               0       7                in 22h",
                "default   web-1       Offline   never            never          0               0                        -",
            ],
            result.OutLines);
    }

    [Fact]
    public async Task InspectDataplanes_WithoutMesh_AsksForEveryMesh()
    {
        using var cli = new CliHarness();
        cli.Server.Intercept = request => request.RequestUri!.AbsolutePath == "/dataplanes/_overview"
            ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Overview, Encoding.UTF8, "application/json") }
            : null;

        var result = await cli.RunAsync("inspect", "dataplanes", "-o", "json");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("\"backend-1\"", result.Out, StringComparison.Ordinal);
        Assert.Equal("GET /dataplanes/_overview", cli.Server.Requests[^1].ToString());
    }

    [Fact]
    public async Task InspectDataplanes_UnknownMesh_IsOneLine()
    {
        using var cli = new CliHarness();
        cli.Server.Intercept = _ => FakeControlPlane.Problem(HttpStatusCode.NotFound, "Not Found", "mesh 'nope' does not exist");

        var result = await cli.RunAsync("inspect", "dataplanes", "-m", "nope");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: mesh 'nope' does not exist\n", result.Error);
    }
}
