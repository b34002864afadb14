namespace Federation.IntegrationTests.Kds;

/// <summary>The YAML a user applies, and the API paths it lives at.</summary>
internal static class Manifests
{
    public static string Mesh(string name) => $"""
        type: Mesh
        name: {name}
        """;

    public static string AllowFrom(string mesh, string name, string fromService, string action = "Allow") => $"""
        type: MeshTrafficPermission
        mesh: {mesh}
        name: {name}
        spec:
          targetRef: {"{"}kind: MeshService, name: backend{"}"}
          from: [{"{"}targetRef: {"{"}kind: MeshSubset, tags: {"{"}kuma.io/service: {fromService}{"}"}{"}"}, default: {"{"}action: {action}{"}"}{"}"}]
        """;

    public static string Dataplane(string mesh, string name, int port = 18080) => $"""
        type: Dataplane
        mesh: {mesh}
        name: {name}
        networking:
          address: 127.0.0.1
          inbound: [{"{"}port: {port}, tags: {"{"}kuma.io/service: backend, kuma.io/protocol: grpc{"}"}{"}"}]
        """;

    public static string ZoneIngress(string name, string mesh) => $"""
        type: ZoneIngress
        name: {name}
        networking: {"{"}address: 127.0.0.1, port: 10001, advertisedAddress: 127.0.0.1, advertisedPort: 10001{"}"}
        availableServices: [{"{"}mesh: {mesh}, instances: 2, tags: {"{"}kuma.io/service: backend{"}"}{"}"}]
        """;

    public static string MeshPath(string mesh) => $"/meshes/{mesh}";

    public static string PolicyPath(string mesh, string name) => $"/meshes/{mesh}/meshtrafficpermissions/{name}";

    public static string PoliciesPath(string mesh) => $"/meshes/{mesh}/meshtrafficpermissions";

    public static string DataplanePath(string mesh, string name) => $"/meshes/{mesh}/dataplanes/{name}";

    public static string DataplanesPath(string mesh) => $"/meshes/{mesh}/dataplanes";

    public static string IngressPath(string name) => $"/zoneingresses/{name}";

    public const string IngressesPath = "/zoneingresses";
}
