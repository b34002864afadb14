using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using System.Text.Json;

namespace Federation.Stores;

/// <summary>Labels as a flat JSON object of strings, the form the durable stores keep them in.</summary>
internal static class LabelsJson
{
    public const string Empty = "{}";

    public static string Serialize(ImmutableSortedDictionary<string, string> labels)
    {
        if (labels.Count == 0)
        {
            return Empty;
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (k, v) in labels)
            {
                writer.WriteString(k, v);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Parses what <see cref="Serialize"/> wrote, keyed with the ordinal comparer <see cref="Resources.Resource"/> hashes with.</summary>
    public static ImmutableSortedDictionary<string, string> Parse(string json)
    {
        var empty = ImmutableSortedDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        if (json.Length == 0 || json == Empty)
        {
            return empty;
        }
        var builder = empty.ToBuilder();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new FormatException($"stored labels are not a JSON object: {json}");
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                throw new FormatException($"stored label '{key}' is not a string: {json}");
            }
            builder[key] = reader.GetString()!;
        }
        return builder.ToImmutable();
    }
}
