using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Federation.Serialization;

/// <summary>Thrown for input that is not well-formed YAML or JSON; the message says where.</summary>
public sealed class DocumentFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// YAML in and out as JSON trees. Plain scalars resolve by the YAML 1.2 core schema (so <c>port: 8080</c> is a
/// number and <c>"8080"</c> a string); output quotes any string that would otherwise read back as another type.
/// </summary>
public static partial class YamlJson
{
    /// <summary>Upper bound on nodes produced from one input, so alias expansion cannot blow up memory.</summary>
    private const int MaxNodes = 200_000;

    private static readonly System.Buffers.SearchValues<char> OctalDigits = System.Buffers.SearchValues.Create("01234567");

    /// <summary>Parses one or more YAML documents (separated by <c>---</c>); empty documents are skipped.</summary>
    public static IReadOnlyList<JsonNode?> ParseDocuments(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new DocumentFormatException($"malformed YAML at line {e.Start.Line}, column {e.Start.Column}: {Clean(e)}", e);
        }
        var budget = new int[] { MaxNodes };
        var result = new List<JsonNode?>();
        foreach (var doc in stream.Documents)
        {
            if (doc.RootNode is YamlScalarNode { Value: null or "" } && doc.RootNode.Tag.IsEmpty)
            {
                continue;
            }
            result.Add(Convert(doc.RootNode, budget));
        }
        return result;
    }

    /// <summary>Parses text that is either JSON or YAML (JSON is tried first when it looks like JSON).</summary>
    public static IReadOnlyList<JsonNode?> ParseJsonOrYaml(string text)
    {
        var trimmed = text.AsSpan().TrimStart();
        if (trimmed.Length > 0 && (trimmed[0] == '{' || trimmed[0] == '['))
        {
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
            }
            catch (JsonException e)
            {
                throw new DocumentFormatException($"malformed JSON at line {e.LineNumber + 1}, position {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}", e);
            }
            return node is JsonArray array ? [.. array.Select(n => n?.DeepClone())] : [node];
        }
        return ParseDocuments(text);
    }

    private static string FirstSentence(string message)
    {
        var i = message.IndexOf(" Path:", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }

    private static string Clean(YamlException e)
    {
        // YamlDotNet prefixes its messages with the position we already print.
        var m = e.InnerException?.Message ?? e.Message;
        var i = m.IndexOf("): ", StringComparison.Ordinal);
        return i > 0 && m.StartsWith("(Line", StringComparison.Ordinal) ? m[(i + 3)..] : m;
    }

    private static JsonNode? Convert(YamlNode node, int[] budget)
    {
        if (--budget[0] < 0)
        {
            throw new DocumentFormatException($"document too large: more than {MaxNodes} nodes (after expanding aliases)");
        }
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    if (keyNode is not YamlScalarNode { Value: not null } keyScalar)
                    {
                        throw new DocumentFormatException($"line {keyNode.Start.Line}: mapping keys must be plain strings");
                    }
                    if (obj.ContainsKey(keyScalar.Value))
                    {
                        throw new DocumentFormatException($"line {keyNode.Start.Line}: duplicate key '{keyScalar.Value}'");
                    }
                    obj[keyScalar.Value] = Convert(valueNode, budget);
                }
                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var child in sequence.Children)
                {
                    array.Add(Convert(child, budget));
                }
                return array;
            case YamlScalarNode scalar:
                return ConvertScalar(scalar);
            default:
                throw new DocumentFormatException($"line {node.Start.Line}: unsupported YAML node");
        }
    }

    private static JsonNode? ConvertScalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        var tag = scalar.Tag.IsEmpty ? "" : scalar.Tag.Value;
        if (tag is "tag:yaml.org,2002:str" or "!")
        {
            return JsonValue.Create(text);
        }
        if (scalar.Style is not ScalarStyle.Plain && tag.Length == 0)
        {
            return JsonValue.Create(text);
        }
        var resolved = ResolvePlain(text, out var isString);
        if (tag.Length > 0 && tag != "?" && isString && tag != "tag:yaml.org,2002:str")
        {
            throw new DocumentFormatException($"line {scalar.Start.Line}: '{text}' is not a valid {tag}");
        }
        return resolved;
    }

    /// <summary>What a plain (unquoted) scalar means under the YAML 1.2 core schema.</summary>
    internal static JsonNode? ResolvePlain(string text, out bool isString)
    {
        isString = false;
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }
        if (IntegerPattern().IsMatch(text))
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            {
                return JsonValue.Create(l);
            }
            if (decimal.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big))
            {
                return JsonValue.Create(big);
            }
        }
        if (text.StartsWith("0x", StringComparison.Ordinal) && text.Length > 2 &&
            long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return JsonValue.Create(hex);
        }
        if (text.StartsWith("0o", StringComparison.Ordinal) && text.Length > 2 && text.AsSpan(2).IndexOfAnyExcept(OctalDigits) < 0)
        {
            try
            {
                return JsonValue.Create(System.Convert.ToInt64(text[2..], 8));
            }
            catch (OverflowException)
            {
            }
        }
        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
        {
            return JsonValue.Create(d);
        }
        isString = true;
        return JsonValue.Create(text);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    /// <summary>Writes JSON trees as a YAML stream, one document each, separated by <c>---</c>.</summary>
    public static string ToYaml(IEnumerable<JsonNode?> documents)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        var emitter = new Emitter(writer, new EmitterSettings(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: 1024));
        emitter.Emit(new StreamStart());
        var first = true;
        foreach (var doc in documents)
        {
            emitter.Emit(new DocumentStart(null, null, isImplicit: first));
            Emit(emitter, doc);
            emitter.Emit(new DocumentEnd(isImplicit: true));
            first = false;
        }
        emitter.Emit(new StreamEnd());
        return writer.ToString();
    }

    public static string ToYaml(JsonNode? document) => ToYaml([document]);

    private static void Emit(IEmitter emitter, JsonNode? node)
    {
        switch (node)
        {
            case null:
                emitter.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
            case JsonObject obj:
                emitter.Emit(new MappingStart(null, null, true, obj.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, value) in obj)
                {
                    EmitString(emitter, key);
                    Emit(emitter, value);
                }
                emitter.Emit(new MappingEnd());
                break;
            case JsonArray array:
                emitter.Emit(new SequenceStart(null, null, true, array.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in array)
                {
                    Emit(emitter, item);
                }
                emitter.Emit(new SequenceEnd());
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        EmitString(emitter, value.GetValue<string>());
                        break;
                    default:
                        emitter.Emit(new Scalar(null, null, value.ToJsonString(), ScalarStyle.Plain, true, false));
                        break;
                }
                break;
        }
    }

    private static void EmitString(IEmitter emitter, string s)
    {
        ResolvePlain(s, out var isString);
        var needsQuotes = !isString || s.Length == 0 || s != s.Trim() || s.Contains('\n', StringComparison.Ordinal);
        emitter.Emit(new Scalar(null, null, s, needsQuotes ? ScalarStyle.DoubleQuoted : ScalarStyle.Any, !needsQuotes, true));
    }
}
