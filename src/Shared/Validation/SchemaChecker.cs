using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Federation.Validation;

/// <summary>
/// Checks a JSON tree against the shape of a record, using System.Text.Json's own contract metadata, and
/// reports every problem at once (unknown fields, wrong JSON kinds, missing required fields, enum values
/// that do not exist) before anything is deserialized. The deserializer alone stops at the first error.
/// </summary>
public static class SchemaChecker
{
    // The contract of a type never changes once its options are read-only; look properties up once per type.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<JsonTypeInfo, (Dictionary<string, JsonPropertyInfo> Known, string KnownList, JsonPropertyInfo[] Required)> Contracts = new();

    private static (Dictionary<string, JsonPropertyInfo> Known, string KnownList, JsonPropertyInfo[] Required) ContractOf(JsonTypeInfo typeInfo) =>
        Contracts.GetOrAdd(typeInfo, static ti =>
        {
            var known = new Dictionary<string, JsonPropertyInfo>(StringComparer.Ordinal);
            foreach (var p in ti.Properties)
            {
                known[p.Name] = p;
            }
            return (known, string.Join(", ", known.Keys), [.. ti.Properties.Where(p => p.IsRequired)]);
        });

    public static void Check(JsonNode? node, JsonTypeInfo typeInfo, ValidationContext ctx)
    {
        var type = Nullable.GetUnderlyingType(typeInfo.Type);
        if (node is null)
        {
            if (typeInfo.Type.IsValueType && type is null)
            {
                ctx.Error("must not be null");
            }
            return;
        }
        if (type is not null)
        {
            typeInfo = typeInfo.Options.GetTypeInfo(type);
        }

        switch (typeInfo.Kind)
        {
            case JsonTypeInfoKind.Object:
                CheckObject(node, typeInfo, ctx);
                break;
            case JsonTypeInfoKind.Enumerable:
                if (node is not JsonArray array)
                {
                    ctx.Error($"must be a list, got {Describe(node)}");
                    return;
                }
                var elementInfo = typeInfo.Options.GetTypeInfo(typeInfo.ElementType!);
                for (var i = 0; i < array.Count; i++)
                {
                    Check(array[i], elementInfo, ctx.AtIndex(i));
                }
                break;
            case JsonTypeInfoKind.Dictionary:
                if (node is not JsonObject map)
                {
                    ctx.Error($"must be a map, got {Describe(node)}");
                    return;
                }
                var valueInfo = typeInfo.Options.GetTypeInfo(typeInfo.ElementType!);
                foreach (var (key, value) in map)
                {
                    Check(value, valueInfo, ctx.AtMapKey(key));
                }
                break;
            default:
                CheckScalar(node, typeInfo.Type, ctx);
                break;
        }
    }

    private static void CheckObject(JsonNode node, JsonTypeInfo typeInfo, ValidationContext ctx)
    {
        if (typeInfo.Type == typeof(object) || typeInfo.Type == typeof(JsonElement) || typeof(JsonNode).IsAssignableFrom(typeInfo.Type))
        {
            return;
        }
        if (node is not JsonObject obj)
        {
            ctx.Error($"must be an object, got {Describe(node)}");
            return;
        }
        var (known, knownList, required) = ContractOf(typeInfo);
        foreach (var (name, value) in obj)
        {
            if (!known.TryGetValue(name, out var property))
            {
                ctx.At(name).Error($"unknown field (known fields: {knownList})");
                continue;
            }
            Check(value, typeInfo.Options.GetTypeInfo(property.PropertyType), ctx.At(name));
        }
        foreach (var p in required)
        {
            if (!obj.TryGetPropertyValue(p.Name, out var v) || v is null)
            {
                ctx.At(p.Name).Error("is required");
            }
        }
    }

    private static void CheckScalar(JsonNode node, Type type, ValidationContext ctx)
    {
        if (type == typeof(object) || type == typeof(JsonElement) || typeof(JsonNode).IsAssignableFrom(type))
        {
            return;
        }
        if (node is not JsonValue value)
        {
            ctx.Error($"must be {Expected(type)}, got {Describe(node)}");
            return;
        }
        var kind = value.GetValueKind();
        if (type.IsEnum)
        {
            if (kind != JsonValueKind.String)
            {
                ctx.Error($"must be one of {string.Join(", ", Enum.GetNames(type))}, got {Describe(node)}");
            }
            else if (!Enum.GetNames(type).Contains(value.GetValue<string>(), StringComparer.Ordinal))
            {
                ctx.Error($"unknown value '{value.GetValue<string>()}' (expected one of {string.Join(", ", Enum.GetNames(type))})");
            }
            return;
        }
        if (type == typeof(string))
        {
            if (kind != JsonValueKind.String)
            {
                ctx.Error($"must be a string, got {Describe(node)}");
            }
            return;
        }
        if (type == typeof(bool))
        {
            if (kind is not (JsonValueKind.True or JsonValueKind.False))
            {
                ctx.Error($"must be true or false, got {Describe(node)}");
            }
            return;
        }
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime))
        {
            if (kind != JsonValueKind.String || !DateTimeOffset.TryParse(value.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                ctx.Error($"must be an RFC 3339 time, got {Describe(node)}");
            }
            return;
        }
        if (IsInteger(type, out var min, out var max))
        {
            if (kind != JsonValueKind.Number || !decimal.TryParse(value.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) || d != decimal.Truncate(d))
            {
                ctx.Error($"must be an integer, got {Describe(node)}");
            }
            else if (d < min || d > max)
            {
                ctx.Error($"must be between {min} and {max}, got {d}");
            }
            return;
        }
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            if (kind != JsonValueKind.Number)
            {
                ctx.Error($"must be a number, got {Describe(node)}");
            }
        }
    }

    private static bool IsInteger(Type type, out decimal min, out decimal max)
    {
        (min, max) = type switch
        {
            _ when type == typeof(int) => (int.MinValue, int.MaxValue),
            _ when type == typeof(uint) => (uint.MinValue, uint.MaxValue),
            _ when type == typeof(long) => (long.MinValue, long.MaxValue),
            _ when type == typeof(ulong) => (ulong.MinValue, ulong.MaxValue),
            _ when type == typeof(short) => (short.MinValue, short.MaxValue),
            _ when type == typeof(ushort) => (ushort.MinValue, ushort.MaxValue),
            _ => (0m, -1m),
        };
        return max >= min;
    }

    private static string Expected(Type type) =>
        type == typeof(string) ? "a string" : type == typeof(bool) ? "true or false" : IsInteger(type, out _, out _) ? "an integer" : "a scalar";

    /// <summary>How a JSON value reads in an error message.</summary>
    public static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the string \"{Shorten(v.GetValue<string>())}\"",
            JsonValueKind.Number => $"the number {v.ToJsonString()}",
            JsonValueKind.True or JsonValueKind.False => $"the boolean {v.ToJsonString()}",
            _ => v.ToJsonString(),
        },
        _ => node.ToJsonString(),
    };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
