using System.Net;
using System.Text.Json.Nodes;
using Federation.Cli.Tests.Fakes;
using Federation.Validation;

namespace Federation.Cli.Tests.Commands;

public sealed class ApplyCommandTests
{
    [Fact]
    public async Task Apply_MeshAfterItsPolicies_PutsMeshFirstAndReportsCreated()
    {
        using var cli = new CliHarness();
        var file = cli.WriteFile("all.yaml", $"{Manifests.Permission}\n---\n{Manifests.Dataplane}\n---\n{Manifests.Mesh}\n---\n{Manifests.Ingress}\n");

        var result = await cli.RunAsync("apply", "-f", file);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Equal(
            [
                "Mesh \"default\" created",
                "MeshTrafficPermission \"allow-web\" (mesh default) created",
                "Dataplane \"backend-1\" (mesh default) created",
                "ZoneIngress \"ingress-1\" created",
            ],
            result.OutLines);
        Assert.Equal(
            [
                "PUT /meshes/default",
                "PUT /meshes/default/meshtrafficpermissions/allow-web",
                "PUT /meshes/default/dataplanes/backend-1",
                "PUT /zoneingresses/ingress-1",
            ],
            cli.Server.Requests.Select(r => r.ToString()));
        Assert.All(cli.Server.Requests, r => Assert.Equal("application/json", r.ContentType));
        Assert.All(cli.Server.Requests, r => Assert.StartsWith("fedctl/", r.UserAgent, StringComparison.Ordinal));
        Assert.Equal(4, cli.Server.Count);
    }

    [Fact]
    public async Task Apply_Twice_ReportsUpdated()
    {
        using var cli = new CliHarness();
        var file = cli.WriteFile("mesh.yaml", Manifests.Mesh);

        await cli.RunAsync("apply", "-f", file);
        var again = await cli.RunAsync("apply", "-f", file);

        Assert.Equal(0, again.ExitCode);
        Assert.Equal("Mesh \"default\" updated\n", again.Out);
    }

    [Fact]
    public async Task Apply_SeveralFilesAndJson_AppliesAll()
    {
        using var cli = new CliHarness();
        var mesh = cli.WriteFile("mesh.json", """{"type":"Mesh","name":"default"}""");
        var dataplane = cli.WriteFile("dp.yaml", Manifests.Dataplane);

        var result = await cli.RunAsync("apply", "-f", dataplane, "-f", mesh);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["Mesh \"default\" created", "Dataplane \"backend-1\" (mesh default) created"], result.OutLines);
    }

    [Fact]
    public async Task Apply_LocalValidationErrors_SendsNothingAndListsEveryErrorOnOneLine()
    {
        using var cli = new CliHarness();
        var file = cli.WriteFile("bad.yaml", $$$"""
            {{{Manifests.Mesh}}}
            ---
            type: MeshTrafficPermission
            mesh: default
            name: x
            spec:
              targetRef: {kind: MeshService, name: backend}
              from: [{targetRef: {kind: Mesh}, default: {action: Alow}}]
            ---
            type: Dataplane
            mesh: default
            name: Bad_Name
            colour: red
            networking: {address: 127.0.0.1, inbound: [{port: 8080, tags: {kuma.io/service: b}}]}
            """);

        var result = await cli.RunAsync("apply", "-f", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(cli.Server.Requests);
        Assert.Equal("", result.Out);
        Assert.Single(result.Error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"Error: nothing applied, invalid manifests: {file} document 2 (MeshTrafficPermission \"x\"): spec.from[0].default.action: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("Alow", result.Error, StringComparison.Ordinal);
        Assert.Contains($"; {file} document 3 (Dataplane \"Bad_Name\"): name: ", result.Error, StringComparison.Ordinal);
        Assert.Contains($"; {file} document 3 (Dataplane \"Bad_Name\"): colour: ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_ServerRejectsWithProblem_PrintsDetailAndEveryFieldOnOneLine()
    {
        using var cli = new CliHarness();
        cli.Server.Seed(Manifests.Mesh);
        cli.Server.Intercept = request => request.Method == HttpMethod.Put
            ? FakeControlPlane.Problem(HttpStatusCode.BadRequest, "Bad Request", "MeshTrafficPermission \"allow-web\" (mesh default) is invalid",
                [
                    new ValidationError("spec.from[0].default.action", "unknown value 'Alow' (expected one of Allow, Deny, AllowWithShadowDeny)"),
                    new ValidationError("spec.targetRef.name", "is required"),
                ])
            : null;
        var file = cli.WriteFile("mtp.yaml", Manifests.Permission);

        var result = await cli.RunAsync("apply", "-f", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            "Error: MeshTrafficPermission \"allow-web\" (mesh default) is invalid: spec.from[0].default.action: unknown value 'Alow' (expected one of Allow, Deny, AllowWithShadowDeny); spec.targetRef.name: is required\n",
            result.Error);
    }

    [Fact]
    public async Task Apply_UnknownMeshOnServer_ReportsFieldFromServer()
    {
        using var cli = new CliHarness();
        var file = cli.WriteFile("mtp.yaml", Manifests.Permission);

        var result = await cli.RunAsync("apply", "-f", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: MeshTrafficPermission \"allow-web\" (mesh default) is invalid: mesh: mesh \"default\" does not exist\n", result.Error);
    }

    [Fact]
    public async Task Apply_ServerMessageWithoutResourceName_IsPrefixedWithIt()
    {
        using var cli = new CliHarness();
        cli.Server.Intercept = _ => FakeControlPlane.Problem(HttpStatusCode.RequestEntityTooLarge, "Payload Too Large", "request body exceeds 1 MiB");
        var file = cli.WriteFile("mesh.yaml", Manifests.Mesh);

        var result = await cli.RunAsync("apply", "-f", file);

        Assert.Equal("Error: Mesh \"default\": request body exceeds 1 MiB\n", result.Error);
    }

    [Fact]
    public async Task Apply_DryRun_AsksServerToValidateAndWritesNothing()
    {
        using var cli = new CliHarness();
        var file = cli.WriteFile("mesh.yaml", Manifests.Mesh);

        var result = await cli.RunAsync("apply", "-f", file, "--dry-run");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Mesh \"default\" valid (dry run)\n", result.Out);
        Assert.Equal(["PUT /meshes/default?dryRun=true"], cli.Server.Requests.Select(r => r.ToString()));
        Assert.Equal(0, cli.Server.Count);
    }

    [Fact]
    public async Task Apply_FromStdin_SendsDocumentAsJson()
    {
        using var cli = new CliHarness();

        var result = await cli.RunWithInputAsync(Manifests.Mesh, "apply", "-f", "-");

        Assert.Equal(0, result.ExitCode);
        var sent = JsonNode.Parse(cli.Server.Requests[0].Body!)!;
        Assert.Equal("ca-1", (string?)sent["mtls"]!["enabledBackend"]);
    }

    [Theory]
    [InlineData("", "Error: no resources found in stdin\n")]
    [InlineData("type: Mesh\nname: [oops", "Error: stdin: malformed YAML at line")]
    public async Task Apply_EmptyOrMalformedInput_Fails(string input, string expectedStart)
    {
        using var cli = new CliHarness();

        var result = await cli.RunWithInputAsync(input, "apply", "-f", "-");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith(expectedStart, result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Server.Requests);
    }

    [Fact]
    public async Task Apply_MissingFile_ReportsUnreadableFile()
    {
        using var cli = new CliHarness();
        var missing = Path.Combine(cli.Directory, "missing.yaml");

        var result = await cli.RunAsync("apply", "-f", missing);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"Error: cannot read {missing}: no such file\n", result.Error);
    }

    [Fact]
    public async Task Apply_Directory_SaysItIsADirectory()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("apply", "-f", cli.Directory);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"Error: cannot read {cli.Directory}: it is a directory (give files, one -f each)\n", result.Error);
    }

    [Fact]
    public async Task Apply_WithoutFile_IsUsageError()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("apply");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: Option '--file' is required", result.Error, StringComparison.Ordinal);
        Assert.EndsWith("(see 'fedctl apply --help')\n", result.Error, StringComparison.Ordinal);
    }
}
