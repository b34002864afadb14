using System.Text.Json.Nodes;
using Federation.Cli.Output;

namespace Federation.Cli.Tests.Output;

public sealed class ResourceColumnsTests
{
    [Theory]
    [InlineData(null, "Mesh")]
    [InlineData("""{"kind":"Mesh"}""", "Mesh")]
    [InlineData("""{"kind":"MeshService","name":"backend"}""", "MeshService/backend")]
    [InlineData("""{"kind":"MeshSubset","tags":{"kuma.io/service":"web","version":"v1"}}""", "MeshSubset[kuma.io/service=web,version=v1]")]
    public void TargetRef_Shapes_AreCompact(string? json, string expected) =>
        Assert.Equal(expected, ResourceColumns.TargetRef(json is null ? null : JsonNode.Parse(json)));

    [Fact]
    public void TablePrinter_Columns_AlignWithoutTrailingBlanks()
    {
        using var writer = new StringWriter();

        TablePrinter.Write(writer, ["NAME", "X"], [["a-long-name", ""], ["b", "1"]]);

        Assert.Equal("NAME          X\na-long-name\nb             1\n", writer.ToString());
    }
}
