using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Cli.Client;
using Federation.Resources;

namespace Federation.Cli.Output;

/// <summary>One table column: a header and how to read its cell from a resource document.</summary>
internal sealed record Column(string Header, Func<JsonObject, string> Cell);

/// <summary>
/// Which columns <c>fedctl get</c> shows for each type. Every table is MESH (when listing a mesh-scoped type
/// across meshes), NAME, the type's own columns from <see cref="ByType"/>, then AGE.
/// </summary>
internal static class ResourceColumns
{
    private const string None = "-";

    private static readonly Dictionary<string, Column[]> ByType = new(StringComparer.Ordinal)
    {
        [ResourceTypes.Mesh.Name] = [new("MTLS", MeshMtls)],
        [ResourceTypes.Dataplane.Name] =
        [
            new("ADDRESS", d => Str(d, "networking", "address")),
            new("SERVICES", DataplaneServices),
            new("ZONE", d => Str(d, "labels", WellKnownLabels.Zone)),
        ],
        [ResourceTypes.ZoneIngress.Name] =
        [
            new("ADDRESS:PORT", d => HostPort(d, "address", "port")),
            new("ADVERTISED", d => HostPort(d, "advertisedAddress", "advertisedPort")),
            new("SERVICES", d => (d["availableServices"] as JsonArray)?.Count.ToString(CultureInfo.InvariantCulture) ?? "0"),
            new("ZONE", ProxyZone),
        ],
        [ResourceTypes.ZoneEgress.Name] =
        [
            new("ADDRESS:PORT", d => HostPort(d, "address", "port")),
            new("ZONE", ProxyZone),
        ],
        [ResourceTypes.Zone.Name] = [new("ENABLED", d => d["enabled"] is JsonValue v && v.GetValueKind() == JsonValueKind.False ? "false" : "true")],
        [ResourceTypes.MeshTrafficPermission.Name] = [new("TARGETREF", d => TargetRef(d["spec"]?["targetRef"]))],
    };

    public static IReadOnlyList<Column> For(ApiResourceType type, bool withMesh, DateTimeOffset now)
    {
        var columns = new List<Column>();
        if (withMesh)
        {
            columns.Add(new Column("MESH", d => Str(d, "mesh")));
        }
        columns.Add(new Column("NAME", d => Str(d, "name")));
        columns.AddRange(ByType.GetValueOrDefault(type.Name, []));
        columns.Add(new Column("AGE", d => Age.Since(Text(d["creationTime"]), now)));
        return columns;
    }

    private static string MeshMtls(JsonObject mesh) =>
        Text(mesh["mtls"]?["enabledBackend"]) is { Length: > 0 } backend ? backend : "off";

    private static string DataplaneServices(JsonObject dataplane)
    {
        var inbound = dataplane["networking"]?["inbound"] as JsonArray ?? [];
        var services = inbound.Select(i => Text(i?["tags"]?[WellKnownLabels.Service])).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (Text(dataplane["networking"]?["gateway"]?["tags"]?[WellKnownLabels.Service]) is { } gateway)
        {
            services.Add(gateway);
        }
        return services.Count == 0 ? None : string.Join(",", services);
    }

    private static string ProxyZone(JsonObject proxy) =>
        Text(proxy["zone"]) ?? Text(proxy["labels"]?[WellKnownLabels.Zone]) ?? None;

    private static string HostPort(JsonObject proxy, string addressField, string portField)
    {
        var networking = proxy["networking"];
        var address = Text(networking?[addressField]);
        var port = networking?[portField] is JsonValue p && p.GetValueKind() == JsonValueKind.Number ? p.ToJsonString() : null;
        return address is null ? None : port is null ? address : $"{address}:{port}";
    }

    /// <summary><c>Mesh</c>, <c>MeshService/backend</c>, <c>MeshSubset[kuma.io/service=web]</c>; no targetRef means the whole mesh.</summary>
    internal static string TargetRef(JsonNode? targetRef)
    {
        if (targetRef is not JsonObject target || Text(target["kind"]) is not { } kind)
        {
            return "Mesh";
        }
        var text = Text(target["name"]) is { } name ? $"{kind}/{name}" : kind;
        if (target["tags"] is JsonObject { Count: > 0 } tags)
        {
            text += $"[{string.Join(",", tags.Select(t => $"{t.Key}={Text(t.Value)}"))}]";
        }
        return text;
    }

    private static string Str(JsonObject document, params string[] path)
    {
        JsonNode? node = document;
        foreach (var step in path)
        {
            node = node is JsonObject obj ? obj[step] : null;
        }
        return Text(node) ?? None;
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
