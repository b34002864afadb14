using Federation.Cli.Tests.Fakes;

namespace Federation.Cli.Tests.Commands;

public sealed class DeleteCommandTests
{
    [Fact]
    public async Task Delete_MeshScopedWithoutMesh_DeletesFromDefaultMesh()
    {
        using var cli = new CliHarness();
        cli.Server.Seed(Manifests.Mesh);
        cli.Server.Seed(Manifests.Dataplane);

        var result = await cli.RunAsync("delete", "dataplane", "backend-1");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("deleted Dataplane \"backend-1\" (mesh default)\n", result.Out);
        Assert.Equal("DELETE /meshes/default/dataplanes/backend-1", cli.Server.Requests[^1].ToString());
        Assert.Null(cli.Server.Find("Dataplane", "default", "backend-1"));
    }

    [Fact]
    public async Task Delete_GlobalScoped_NamesNoMesh()
    {
        using var cli = new CliHarness();
        cli.Server.Seed(Manifests.Ingress);

        var result = await cli.RunAsync("delete", "ZoneIngress", "ingress-1");

        Assert.Equal("deleted ZoneIngress \"ingress-1\"\n", result.Out);
        Assert.Equal(0, cli.Server.Count);
    }

    [Fact]
    public async Task Delete_Missing_ReportsNotFound()
    {
        using var cli = new CliHarness();
        cli.Server.Seed(Manifests.Mesh);

        var result = await cli.RunAsync("delete", "mtp", "nope", "-m", "default");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: MeshTrafficPermission \"nope\" (mesh default) not found\n", result.Error);
    }

    [Fact]
    public async Task Delete_WithoutName_IsUsageError()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("delete", "meshes");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: ", result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Server.Requests);
    }
}
