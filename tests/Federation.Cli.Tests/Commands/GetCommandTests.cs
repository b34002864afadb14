using System.Text.Json.Nodes;
using Federation.Cli.Tests.Fakes;
using Federation.Serialization;

namespace Federation.Cli.Tests.Commands;

public sealed class GetCommandTests
{
    private static CliHarness Seeded()
    {
        var cli = new CliHarness();
        cli.Server.Seed(Manifests.Mesh);
        cli.Server.Seed("type: Mesh\nname: other");
        cli.Time.Advance(TimeSpan.FromMinutes(3));
        cli.Server.Seed(Manifests.Permission);
        cli.Server.Seed(Manifests.Dataplane);
        cli.Server.Seed("""
            type: Dataplane
            mesh: other
            name: web-1
            networking:
              address: 10.0.0.7
              inbound:
              - {port: 8080, tags: {kuma.io/service: web}}
              - {port: 8081, tags: {kuma.io/service: web-admin}}
            """);
        cli.Server.Seed(Manifests.Ingress);
        cli.Time.Advance(TimeSpan.FromHours(2));
        return cli;
    }

    [Fact]
    public async Task Get_Meshes_PrintsTableWithMtlsAndAge()
    {
        using var cli = Seeded();

        var result = await cli.RunAsync("get", "meshes");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["NAME      MTLS   AGE", "default   ca-1   2h", "other     off    2h"], result.OutLines);
    }

    [Fact]
    public async Task Get_DataplanesAcrossMeshes_ShowsMeshAddressServicesAndZone()
    {
        using var cli = Seeded();

        var result = await cli.RunAsync("get", "dataplanes");

        Assert.Equal(
            [
                "MESH      NAME        ADDRESS     SERVICES        ZONE     AGE",
                "default   backend-1   127.0.0.1   backend         zone-1   2h",
                "other     web-1       10.0.0.7    web,web-admin   -        2h",
            ],
            result.OutLines);
        Assert.Equal("/dataplanes", cli.Server.Requests[^1].Uri.AbsolutePath);
    }

    [Fact]
    public async Task Get_DataplanesInOneMesh_UsesMeshPathWithoutMeshColumn()
    {
        using var cli = Seeded();

        var result = await cli.RunAsync("get", "dp", "-m", "other");

        Assert.Equal(["NAME    ADDRESS    SERVICES        ZONE   AGE", "web-1   10.0.0.7   web,web-admin   -      2h"], result.OutLines);
        Assert.Equal("/meshes/other/dataplanes", cli.Server.Requests[^1].Uri.AbsolutePath);
    }

    [Fact]
    public async Task Get_ZoneIngresses_ShowsAddressesAndServiceCount()
    {
        using var cli = Seeded();

        var result = await cli.RunAsync("get", "zoneingresses");

        Assert.Equal(
            [
                "NAME        ADDRESS:PORT      ADVERTISED         SERVICES   ZONE   AGE",
                "ingress-1   127.0.0.1:10001   192.0.2.10:10001   1          -      2h",
            ],
            result.OutLines);
    }

    [Theory]
    [InlineData("mtp")]
    [InlineData("MTP")]
    [InlineData("MeshTrafficPermission")]
    [InlineData("meshtrafficpermissions")]
    [InlineData("meshtrafficpermission")]
    public async Task Get_TypeAliases_ResolveToTheSameType(string typeName)
    {
        using var cli = Seeded();

        var list = await cli.RunAsync("get", typeName);
        var one = await cli.RunAsync("get", typeName, "allow-web");

        Assert.Equal(["MESH      NAME        TARGETREF             AGE", "default   allow-web   MeshService/backend   2h"], list.OutLines);
        Assert.Equal(["NAME        TARGETREF             AGE", "allow-web   MeshService/backend   2h"], one.OutLines);
        Assert.Equal(["GET /meshtrafficpermissions", "GET /meshes/default/meshtrafficpermissions/allow-web"], cli.Server.Requests.Select(r => r.ToString()));
    }

    [Fact]
    public async Task Get_OneAsYaml_PrintsServerDocument()
    {
        using var cli = Seeded();

        var result = await cli.RunAsync("get", "mesh", "default", "-o", "yaml");

        Assert.Equal(0, result.ExitCode);
        var document = Assert.Single(YamlJson.ParseDocuments(result.Out));
        Assert.True(JsonNode.DeepEquals(cli.Server.Find("Mesh", "", "default"), document), result.Out);
        Assert.StartsWith("type: Mesh\nname: default\ncreationTime: ", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_ListAsYaml_SeparatesDocuments()
    {
        using var cli = Seeded();

        var result = await cli.RunAsync("get", "meshes", "-o", "yaml");

        Assert.Equal(2, YamlJson.ParseDocuments(result.Out).Count);
        Assert.Contains("\n---\ntype: Mesh\nname: other\n", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_Json_PrintsObjectForOneAndListObjectForMany()
    {
        using var cli = Seeded();

        var one = await cli.RunAsync("get", "dataplane", "backend-1", "-o", "json");
        var many = await cli.RunAsync("get", "dataplanes", "--output", "json");

        Assert.True(JsonNode.DeepEquals(cli.Server.Find("Dataplane", "default", "backend-1"), JsonNode.Parse(one.Out)), one.Out);
        var list = JsonNode.Parse(many.Out)!.AsObject();
        Assert.Equal(2, (int)list["total"]!);
        Assert.Equal(["backend-1", "web-1"], list["items"]!.AsArray().Select(i => (string?)i!["name"]));
        Assert.Null(list["next"]);
        Assert.Contains("\"kuma.io/service\": \"backend\"", one.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_SmallPages_FollowsNextUntilTheEnd()
    {
        using var cli = new CliHarness();
        for (var i = 0; i < 5; i++)
        {
            cli.Server.Seed($"type: Mesh\nname: m{i}");
        }

        var result = await cli.RunAsync("get", "meshes", "--size", "2");

        Assert.Equal(["NAME", "m0", "m1", "m2", "m3", "m4"], result.OutLines.Select(l => l.Split(' ')[0]));
        Assert.Equal(
            ["GET /meshes?size=2", "GET /meshes?size=2&offset=2", "GET /meshes?size=2&offset=4"],
            cli.Server.Requests.Select(r => r.ToString()));
    }

    [Fact]
    public async Task Get_NextLinkNamesAnotherOrigin_StaysOnConfiguredAddressWithToken()
    {
        using var cli = new CliHarness();
        cli.Server.RequireTokenForReads = true;
        cli.Server.AdvertisedOrigin = "http://internal-name:9999";
        for (var i = 0; i < 3; i++)
        {
            cli.Server.Seed($"type: Mesh\nname: m{i}");
        }

        var result = await cli.RunAsync("get", "meshes", "--size", "2");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(4, result.OutLines.Count);
        Assert.Equal(
            ["http://cp.test:5681/meshes?size=2", "http://cp.test:5681/meshes?size=2&offset=2"],
            cli.Server.Requests.Select(r => r.Uri.ToString()));
        Assert.All(cli.Server.Requests, r => Assert.Equal($"Bearer {FakeControlPlane.AdminToken}", r.Authorization));
    }

    [Fact]
    public async Task Get_EmptyList_PrintsHeaderOnly()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("get", "zones");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("NAME   ENABLED   AGE\n", result.Out);
    }

    [Fact]
    public async Task Get_MissingResource_ReportsNotFound()
    {
        using var cli = Seeded();

        var result = await cli.RunAsync("get", "dataplane", "nope");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: Dataplane \"nope\" (mesh default) not found\n", result.Error);
    }

    [Fact]
    public async Task Get_UnknownType_ListsKnownTypes()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("get", "foo");

        Assert.Equal(1, result.ExitCode);
        var known = string.Join(", ", Federation.Resources.ResourceTypes.All.Select(t => t.Plural));
        Assert.Equal($"Error: unknown resource type \"foo\"; known types: {known}\n", result.Error);
    }

    [Fact]
    public async Task Get_TypeOnlyTheServerKnows_IsListedFromServerRegistry()
    {
        using var cli = new CliHarness();
        cli.Server.Intercept = request => request.RequestUri!.AbsolutePath switch
        {
            "/_resources" => Json("""{"resources":[{"name":"MeshTimeout","plural":"meshtimeouts","singular":"meshtimeout","aliases":["mt"],"scope":"Mesh","hasSpec":true,"readOnly":false}]}"""),
            "/meshtimeouts" => Json("""{"total":1,"items":[{"type":"MeshTimeout","mesh":"default","name":"t1","spec":{}}],"next":null}"""),
            _ => null,
        };

        var result = await cli.RunAsync("get", "mt");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["MESH      NAME   AGE", "default   t1     -"], result.OutLines);
    }

    [Fact]
    public async Task Get_MeshForGlobalType_IsRejected()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("get", "zones", "-m", "default");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("Error: Zone is not mesh-scoped; drop --mesh\n", result.Error);
    }

    [Fact]
    public async Task Get_BadOutputFormat_IsUsageError()
    {
        using var cli = new CliHarness();

        var result = await cli.RunAsync("get", "meshes", "-o", "xml");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("Error: Argument 'xml' not recognized", result.Error, StringComparison.Ordinal);
        Assert.Empty(cli.Server.Requests);
    }

    [Fact]
    public async Task GetYamlThenApply_RoundTripsEveryResource()
    {
        using var source = Seeded();
        using var target = new CliHarness();
        var exported = new List<string>();
        foreach (var type in new[] { "meshes", "mtp", "dataplanes", "zoneingresses" })
        {
            var get = await source.RunAsync("get", type, "-o", "yaml");
            Assert.Equal(0, get.ExitCode);
            exported.Add(get.Out);
        }
        var yaml = string.Join("---\n", exported);

        var apply = await target.RunWithInputAsync(yaml, "apply", "-f", "-");
        var reapply = await source.RunWithInputAsync(yaml, "apply", "-f", "-");

        Assert.Equal(0, apply.ExitCode);
        Assert.Equal(6, apply.OutLines.Count);
        Assert.All(apply.OutLines, line => Assert.EndsWith(" created", line, StringComparison.Ordinal));
        Assert.All(reapply.OutLines, line => Assert.EndsWith(" updated", line, StringComparison.Ordinal));
        foreach (var (type, mesh, name) in new[] { ("Mesh", "", "default"), ("MeshTrafficPermission", "default", "allow-web"), ("Dataplane", "other", "web-1"), ("ZoneIngress", "", "ingress-1") })
        {
            Assert.True(JsonNode.DeepEquals(WithoutTimes(source.Server.Find(type, mesh, name)), WithoutTimes(target.Server.Find(type, mesh, name))), $"{type} {name}");
        }
    }

    private static JsonObject WithoutTimes(JsonObject? document)
    {
        var copy = (JsonObject)document!.DeepClone();
        copy.Remove("creationTime");
        copy.Remove("modificationTime");
        return copy;
    }

    private static HttpResponseMessage Json(string body) =>
        new(System.Net.HttpStatusCode.OK) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
}
