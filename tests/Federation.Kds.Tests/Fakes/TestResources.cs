using System.Collections.Immutable;
using Federation.Resources;

namespace Federation.Kds.Tests.Fakes;

/// <summary>Valid resources to build snapshots and responses from.</summary>
public static class TestResources
{
    public static Resource Policy(string name, string fromService = "web", string mesh = "default", string action = "Allow", params (string Key, string Value)[] labels) =>
        new(new ResourceKey(ResourceTypes.MeshTrafficPermission.Name, mesh, name),
            $$$"""{"targetRef":{"kind":"MeshService","name":"backend"},"from":[{"targetRef":{"kind":"MeshSubset","tags":{"kuma.io/service":"{{{fromService}}}"}},"default":{"action":"{{{action}}}"}}]}""",
            Labels(labels));

    public static Resource Mesh(string name, params (string Key, string Value)[] labels) =>
        new(ResourceKey.Global(ResourceTypes.Mesh.Name, name), "{}", Labels(labels));

    public static Resource Dataplane(string name, string mesh = "default", int port = 18080, params (string Key, string Value)[] labels) =>
        new(new ResourceKey(ResourceTypes.Dataplane.Name, mesh, name),
            $$$"""{"networking":{"address":"127.0.0.1","inbound":[{"port":{{{port}}},"tags":{"kuma.io/service":"backend"}}]}}""",
            Labels(labels));

    public static Resource Ingress(string name, params (string Key, string Value)[] labels) =>
        new(ResourceKey.Global(ResourceTypes.ZoneIngress.Name, name),
            """{"networking":{"address":"127.0.0.1","port":10001,"advertisedAddress":"127.0.0.1","advertisedPort":10001}}""",
            Labels(labels));

    public static Resource Zone(string name, bool enabled) =>
        new(ResourceKey.Global(ResourceTypes.Zone.Name, name), enabled ? """{"enabled":true}""" : """{"enabled":false}""");

    public static (string, string) FromGlobal => (WellKnownLabels.Origin, WellKnownLabels.OriginGlobal);

    public static (string, string)[] FromZone(string zone) => [(WellKnownLabels.Origin, WellKnownLabels.OriginZone), (WellKnownLabels.Zone, zone)];

    private static ImmutableSortedDictionary<string, string> Labels((string Key, string Value)[] labels) =>
        labels.ToImmutableSortedDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
}
