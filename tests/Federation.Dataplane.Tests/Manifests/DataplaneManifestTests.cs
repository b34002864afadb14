using Federation.Dataplane.Manifests;

namespace Federation.Dataplane.Tests.Manifests;

public sealed class DataplaneManifestTests
{
    private const string Backend = """
        type: Dataplane
        mesh: default
        name: backend-1
        networking:
          address: 127.0.0.1
          inbound:
          - port: 18080
            tags: {kuma.io/service: backend, kuma.io/protocol: grpc}
        """;

    [Fact]
    public void Parse_Valid_GivesMeshNameAndTheDocumentToRegister()
    {
        var manifest = DataplaneManifest.Parse(Backend, "dp.yaml");

        Assert.Equal("default.backend-1", manifest.Id);
        Assert.Equal("Dataplane", manifest.Document["type"]!.GetValue<string>());
        Assert.Equal(18080, manifest.Document["networking"]!["inbound"]![0]!["port"]!.GetValue<int>());
        Assert.Equal(["backend"], manifest.Spec.Services);
    }

    [Fact]
    public void Parse_Invalid_ListsEveryProblemWithItsField()
    {
        var e = Assert.Throws<DataplaneException>(() => DataplaneManifest.Parse("""
            type: Dataplane
            mesh: default
            name: backend-1
            networking:
              address: 127.0.0.1
              inbound:
              - port: 70000
                tags: {kuma.io/protocol: grpc}
            """, "dp.yaml"));

        Assert.StartsWith("dp.yaml: invalid Dataplane: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("networking.inbound[0].port", e.Message, StringComparison.Ordinal);
        Assert.Contains("kuma.io/service", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("type: Mesh\nname: default\n", "expected type Dataplane, found Mesh")]
    [InlineData("", "expected one Dataplane document, found 0")]
    [InlineData("a: [", "malformed YAML")]
    public void Parse_NotOneDataplane_SaysWhat(string text, string expected)
    {
        var e = Assert.Throws<DataplaneException>(() => DataplaneManifest.Parse(text, "dp.yaml"));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TwoDocuments_IsRefused()
    {
        var e = Assert.Throws<DataplaneException>(() => DataplaneManifest.Parse(Backend + "\n---\n" + Backend, "dp.yaml"));

        Assert.Contains("found 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_NamesIt()
    {
        var e = Assert.Throws<DataplaneException>(() => DataplaneManifest.Load("/nonexistent/dp.yaml"));

        Assert.StartsWith("cannot read the Dataplane file /nonexistent/dp.yaml", e.Message, StringComparison.Ordinal);
    }
}
