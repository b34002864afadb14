using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Serialization;

namespace Federation.Cli.Output;

/// <summary>Prints server documents unchanged as YAML (a <c>---</c> separated stream that <c>fedctl apply -f -</c> reads back) or JSON.</summary>
internal static class DocumentPrinter
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        // Terminal output, not HTML: keep quotes, '+' and non-ASCII readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void WriteYaml(TextWriter writer, IEnumerable<JsonNode> documents)
    {
        var list = documents.ToList();
        if (list.Count > 0)
        {
            writer.Write(YamlJson.ToYaml(list));
        }
    }

    public static void WriteJson(TextWriter writer, JsonNode document) =>
        writer.WriteLine(document.ToJsonString(Indented));
}
