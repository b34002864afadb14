using System.Collections.Immutable;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Security.Pki;
using Federation.Serialization;
using Federation.Zone.Xds.State;

namespace Federation.Zone.Tests.Xds.Generators;

/// <summary>
/// Builds zone states for generator tests straight from manifests, the way the state builder does, with fixed
/// stand-ins for key material so the output is deterministic.
/// </summary>
internal static class Scenario
{
    public static readonly MeshCaMaterial FakeCa = new("-----BEGIN CERTIFICATE-----\nMESH-CA\n-----END CERTIFICATE-----\n", "MESH-CA-KEY");

    public static readonly WorkloadCertificate FakeCertificate = new(
        "-----BEGIN CERTIFICATE-----\nWORKLOAD\n-----END CERTIFICATE-----\n", "WORKLOAD-KEY", FakeCa.CertificatePem,
        new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2030, 1, 2, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Mesh <c>default</c> with mTLS on (one builtin CA backend).</summary>
    public const string MtlsMesh = """
        type: Mesh
        name: default
        mtls: {enabledBackend: ca-1, backends: [{name: ca-1, type: builtin}]}
        """;

    public static Resource Parse(string yaml) => ResourceDocument.Parse(YamlJson.ParseDocuments(yaml).Single()).Resource;

    public static IReadOnlyList<Resource> ParseAll(string yaml) => [.. YamlJson.ParseDocuments(yaml).Select(d => ResourceDocument.Parse(d).Resource)];

    /// <summary>A zone state holding one mesh built from the given resources.</summary>
    public static ZoneState Build(string zone, string meshYaml, IReadOnlyList<Resource> resources, IReadOnlyList<RemoteEndpoint>? remote = null, string? remoteService = null)
    {
        var meshResource = Parse(meshYaml);
        var spec = meshResource.GetSpec<MeshSpec>();
        var dataplanes = resources.Where(r => r.Type == ResourceTypes.Dataplane.Name).ToImmutableDictionary(r => r.Name, StringComparer.Ordinal);
        var local = new Dictionary<string, List<LocalEndpoint>>(StringComparer.Ordinal);
        var protocols = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var dp in dataplanes.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            var networking = dp.GetSpec<DataplaneSpec>().Networking;
            foreach (var inbound in networking.Inbound ?? [])
            {
                var service = inbound.Tags[WellKnownLabels.Service];
                var tags = new Dictionary<string, string>(inbound.Tags, StringComparer.Ordinal) { [WellKnownLabels.Zone] = zone };
                (local.TryGetValue(service, out var l) ? l : local[service] = []).Add(new LocalEndpoint(dp.Name, inbound.Address ?? networking.Address, inbound.Port, tags, inbound.IsReady));
                if (inbound.Tags.TryGetValue(WellKnownLabels.Protocol, out var p))
                {
                    protocols.TryAdd(service, p);
                }
            }
        }
        var names = local.Keys.ToHashSet(StringComparer.Ordinal);
        if (remoteService is not null)
        {
            names.Add(remoteService);
            protocols.TryAdd(remoteService, "grpc");
        }
        var services = names.ToImmutableSortedDictionary(s => s, s => new ServiceView(s, protocols.GetValueOrDefault(s, "tcp"),
            [.. local.GetValueOrDefault(s) ?? []], s == remoteService ? [.. remote ?? []] : []), StringComparer.Ordinal);
        var mesh = new MeshView(meshResource.Name, 1, spec, spec.MtlsEnabled ? FakeCa : null, spec.EnabledBackend?.Name, services,
            [.. resources.Where(r => r.Type == ResourceTypes.MeshTrafficPermission.Name)], dataplanes);
        return new ZoneState(zone, 1, ImmutableDictionary<string, MeshView>.Empty.Add(mesh.Name, mesh))
        {
            LocalIngresses = [.. resources.Where(r => r.Type == ResourceTypes.ZoneIngress.Name)],
            LocalEgresses = [.. resources.Where(r => r.Type == ResourceTypes.ZoneEgress.Name)],
        };
    }
}
