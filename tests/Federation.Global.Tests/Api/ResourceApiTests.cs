using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Federation.Global.Tests.Api;

public sealed class ResourceApiTests(GlobalApiFixture fixture) : IClassFixture<GlobalApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Yaml(string yaml) => new(yaml, Encoding.UTF8, "application/yaml");

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response) =>
        (JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct)) as JsonObject)!;

    private async Task EnsureMeshAsync(string name)
    {
        using var r = await fixture.Admin.PutAsync($"/meshes/{name}", Json($$"""{"type":"Mesh","name":"{{name}}"}"""), Ct);
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync(Ct));
    }

    private async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (JsonNode.Parse(body) as JsonObject)!;
    }

    private async Task AssertAbsentAsync(string path)
    {
        using var r = await fixture.Admin.GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
    }

    [Fact]
    public async Task Put_NewPolicy_Returns201ThenGetReturnsItWithTimes()
    {
        await EnsureMeshAsync("put-get");
        using var put = await fixture.Admin.PutAsync("/meshes/put-get/meshtrafficpermissions/allow-web", Yaml("""
            type: MeshTrafficPermission
            mesh: put-get
            name: allow-web
            spec:
              targetRef: {kind: MeshService, name: backend}
              from: [{targetRef: {kind: MeshSubset, tags: {kuma.io/service: web}}, default: {action: Allow}}]
            """), Ct);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal("\"1\"", put.Headers.ETag?.Tag);

        using var get = await fixture.Anonymous.GetAsync("/meshes/put-get/meshtrafficpermissions/allow-web", Ct);
        var doc = await ReadJsonAsync(get);
        Assert.Equal("Allow", doc["spec"]!["from"]![0]!["default"]!["action"]!.GetValue<string>());
        Assert.NotNull(doc["creationTime"]);
        Assert.NotNull(doc["modificationTime"]);

        using var again = await fixture.Admin.PutAsync("/meshes/put-get/meshtrafficpermissions/allow-web", Yaml("""
            spec:
              targetRef: {kind: MeshService, name: backend}
              from: [{targetRef: {kind: Mesh}, default: {action: Deny}}]
            """), Ct);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("\"2\"", again.Headers.ETag?.Tag);
    }

    [Fact]
    public async Task Put_WithoutToken_Returns401AndWrongToken403()
    {
        using var anonymous = await fixture.Anonymous.PutAsync("/meshes/no-auth", Json("""{"type":"Mesh","name":"no-auth"}"""), Ct);
        await ProblemAsync(anonymous, HttpStatusCode.Unauthorized);

        using var request = new HttpRequestMessage(HttpMethod.Put, "/meshes/no-auth") { Content = Json("""{"type":"Mesh","name":"no-auth"}""") };
        request.Headers.Authorization = new("Bearer", "not-the-token");
        using var wrong = await fixture.Anonymous.SendAsync(request, Ct);
        await ProblemAsync(wrong, HttpStatusCode.Forbidden);
        await AssertAbsentAsync("/meshes/no-auth");
    }

    [Theory]
    [InlineData("type: Mesh\nname: [unclosed\n", "malformed YAML")]
    [InlineData("{\"type\": \"Mesh\", ", "malformed JSON")]
    [InlineData("type: Mesh\nname: bad-input\nmtls: {enabledBackend: nope}\n", "mtls.enabledBackend")]
    [InlineData("type: Mesh\nname: bad-input\nfrobnicate: true\n", "frobnicate")]
    [InlineData("type: MeshTrafficPermission\nname: bad-input\n", "type")]
    [InlineData("---\n---\n", "empty")]
    [InlineData("type: Mesh\nname: bad-input\n---\ntype: Mesh\nname: other\n", "2 documents")]
    public async Task Put_BadBody_Returns400AndChangesNothing(string body, string expectedInMessage)
    {
        using var r = await fixture.Admin.PutAsync("/meshes/bad-input", Yaml(body), Ct);
        var problem = await ProblemAsync(r, HttpStatusCode.BadRequest);
        Assert.Contains(expectedInMessage, problem.ToJsonString(), StringComparison.Ordinal);
        await AssertAbsentAsync("/meshes/bad-input");
    }

    [Fact]
    public async Task Put_UnknownEnumValue_ListsFieldPath()
    {
        await EnsureMeshAsync("enum");
        using var r = await fixture.Admin.PutAsync("/meshes/enum/meshtrafficpermissions/p", Yaml("""
            spec:
              targetRef: {kind: MeshService, name: backend}
              from: [{targetRef: {kind: Mesh}, default: {action: Alow}}]
            """), Ct);
        var problem = await ProblemAsync(r, HttpStatusCode.BadRequest);
        var invalid = problem["invalid_parameters"]!.AsArray();
        Assert.Contains(invalid, p => p!["field"]!.GetValue<string>() == "spec.from[0].default.action" && p["reason"]!.GetValue<string>().Contains("Alow", StringComparison.Ordinal));
        await AssertAbsentAsync("/meshes/enum/meshtrafficpermissions/p");
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("dots.in.mesh")]
    public async Task Put_InvalidMeshName_Returns400(string name)
    {
        using var r = await fixture.Admin.PutAsync($"/meshes/{name}", Json("{}"), Ct);
        var problem = await ProblemAsync(r, HttpStatusCode.BadRequest);
        Assert.Contains(problem["invalid_parameters"]!.AsArray(), p => p!["field"]!.GetValue<string>() == "name");
        await AssertAbsentAsync($"/meshes/{name}");
    }

    [Fact]
    public async Task Put_NameOf254Characters_Returns400()
    {
        await EnsureMeshAsync("long-names");
        var name = new string('a', 254);
        using var r = await fixture.Admin.PutAsync($"/meshes/long-names/meshtrafficpermissions/{name}",
            Yaml("spec: {from: [{targetRef: {kind: Mesh}, default: {action: Allow}}]}"), Ct);
        var problem = await ProblemAsync(r, HttpStatusCode.BadRequest);
        Assert.Contains("253", problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_BodyNameDiffersFromUrl_Returns400()
    {
        using var r = await fixture.Admin.PutAsync("/meshes/url-name", Json("""{"type":"Mesh","name":"body-name"}"""), Ct);
        var problem = await ProblemAsync(r, HttpStatusCode.BadRequest);
        Assert.Contains("body-name", problem.ToJsonString(), StringComparison.Ordinal);
        await AssertAbsentAsync("/meshes/url-name");
        await AssertAbsentAsync("/meshes/body-name");
    }

    [Fact]
    public async Task Put_MissingMesh_Returns400NamingTheMesh()
    {
        using var r = await fixture.Admin.PutAsync("/meshes/ghost/meshtrafficpermissions/p",
            Yaml("spec: {from: [{targetRef: {kind: Mesh}, default: {action: Allow}}]}"), Ct);
        var problem = await ProblemAsync(r, HttpStatusCode.BadRequest);
        Assert.Contains("ghost", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_StaleVersion_Returns409AndKeepsNewerContent()
    {
        using var v1 = await fixture.Admin.PutAsync("/meshes/versioned", Json("""{"type":"Mesh","name":"versioned"}"""), Ct);
        using var v2 = await fixture.Admin.PutAsync("/meshes/versioned", Json("""{"type":"Mesh","name":"versioned","routing":{"zoneEgress":true}}"""), Ct);
        Assert.Equal("\"2\"", v2.Headers.ETag?.Tag);

        using var stale = await fixture.Admin.PutAsync("/meshes/versioned", Json("""{"type":"Mesh","name":"versioned","version":1,"routing":{"zoneEgress":false}}"""), Ct);
        await ProblemAsync(stale, HttpStatusCode.Conflict);

        using var request = new HttpRequestMessage(HttpMethod.Put, "/meshes/versioned") { Content = Json("""{"routing":{"zoneEgress":false}}""") };
        request.Headers.IfMatch.Add(new System.Net.Http.Headers.EntityTagHeaderValue("\"1\""));
        using var staleHeader = await fixture.Admin.SendAsync(request, Ct);
        await ProblemAsync(staleHeader, HttpStatusCode.Conflict);

        using var get = await fixture.Admin.GetAsync("/meshes/versioned", Ct);
        Assert.True((await ReadJsonAsync(get))["routing"]!["zoneEgress"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Put_TwoMebibyteBody_Returns413()
    {
        var big = "type: Mesh\nname: big\n# " + new string('x', 2 * 1024 * 1024) + "\n";
        using var r = await fixture.Admin.PutAsync("/meshes/big", Yaml(big), Ct);
        await ProblemAsync(r, HttpStatusCode.RequestEntityTooLarge);
        await AssertAbsentAsync("/meshes/big");
    }

    [Fact]
    public async Task Put_DryRun_ValidatesWithoutWriting()
    {
        using var r = await fixture.Admin.PutAsync("/meshes/dry?dryRun=true", Json("""{"type":"Mesh","name":"dry"}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        await AssertAbsentAsync("/meshes/dry");
    }

    [Fact]
    public async Task Put_ZoneInventoryOnGlobal_Returns405()
    {
        await EnsureMeshAsync("inventory");
        using var r = await fixture.Admin.PutAsync("/meshes/inventory/dataplanes/dp-1", Yaml("""
            networking: {address: 127.0.0.1, inbound: [{port: 8080, tags: {kuma.io/service: backend}}]}
            """), Ct);
        var problem = await ProblemAsync(r, HttpStatusCode.MethodNotAllowed);
        Assert.Contains("zone", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_Paged_WalksEveryItemOnceWithNextLinks()
    {
        await EnsureMeshAsync("paging");
        for (var i = 0; i < 7; i++)
        {
            using var r = await fixture.Admin.PutAsync($"/meshes/paging/meshtrafficpermissions/p-{i}",
                Yaml("spec: {from: [{targetRef: {kind: Mesh}, default: {action: Allow}}]}"), Ct);
            r.EnsureSuccessStatusCode();
        }
        var names = new List<string>();
        string? next = "/meshes/paging/meshtrafficpermissions?size=3";
        while (next is not null)
        {
            using var page = await fixture.Anonymous.GetAsync(next, Ct);
            var body = await ReadJsonAsync(page);
            Assert.Equal(7, body["total"]!.GetValue<int>());
            names.AddRange(body["items"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()));
            next = body["next"]?.GetValue<string>();
        }
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"p-{i}"), names);
    }

    [Fact]
    public async Task DeleteMesh_RemovesItsPolicies()
    {
        await EnsureMeshAsync("doomed");
        using var p = await fixture.Admin.PutAsync("/meshes/doomed/meshtrafficpermissions/p",
            Yaml("spec: {from: [{targetRef: {kind: Mesh}, default: {action: Allow}}]}"), Ct);
        p.EnsureSuccessStatusCode();
        using var d = await fixture.Admin.DeleteAsync("/meshes/doomed", Ct);
        Assert.Equal(HttpStatusCode.OK, d.StatusCode);
        await AssertAbsentAsync("/meshes/doomed");
        await AssertAbsentAsync("/meshes/doomed/meshtrafficpermissions/p");
        using var again = await fixture.Admin.DeleteAsync("/meshes/doomed", Ct);
        await ProblemAsync(again, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Resources_ListsTheRegistry()
    {
        using var r = await fixture.Anonymous.GetAsync("/_resources", Ct);
        var body = await ReadJsonAsync(r);
        var plurals = body["resources"]!.AsArray().Select(t => t!["plural"]!.GetValue<string>()).ToList();
        Assert.Contains("meshtrafficpermissions", plurals);
        Assert.Contains("zoneingresses", plurals);
    }

    [Fact]
    public async Task DataplaneToken_RightAfterTheMeshIsApplied_IsIssued()
    {
        // The mesh's signing key is created in the background after the Mesh is written; asking at once must work.
        for (var i = 0; i < 5; i++)
        {
            var mesh = $"fresh-{i}";
            await EnsureMeshAsync(mesh);
            using var r = await fixture.Admin.PostAsync("/tokens/dataplane", Json($$"""{"mesh":"{{mesh}}","name":"backend-1","validFor":"1h"}"""), Ct);
            var body = await r.Content.ReadAsStringAsync(Ct);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"mesh {mesh}: {r.StatusCode} {body}");
            Assert.Equal(3, body.Trim().Split('.').Length);
        }
    }
}
