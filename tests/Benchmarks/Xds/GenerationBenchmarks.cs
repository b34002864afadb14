using BenchmarkDotNet.Attributes;
using Federation.Resources;
using Federation.Serialization;
using Federation.Stores;
using Federation.Zone;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.Proxies;
using Federation.Zone.Xds.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Federation.Benchmarks.Xds;

/// <summary>
/// One proxy's snapshot generated from a real zone state (built by the zone's own state builder over a memory
/// store): a mesh with mTLS, <see cref="Services"/> services of 10 instances, one MeshTrafficPermission.
/// </summary>
[MemoryDiagnoser]
public class GenerationBenchmarks
{
    private ZoneState _state = null!;
    private ConfigGenerator _generator = null!;
    private CertificateManager _certificates = null!;
    private Resource _dataplane = null!;
    private long _version;

    [Params(10, 100)]
    public int Services { get; set; }

    [Params(ProxyKind.Envoy, ProxyKind.Proxyless)]
    public ProxyKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var store = new MemoryStore();
        var mesh = Parse("type: Mesh\nname: default\nmtls: {enabledBackend: ca-1, backends: [{name: ca-1, type: builtin}]}");
        var spec = mesh.GetSpec<Resources.Types.MeshSpec>();
        var writes = new List<ResourceWrite> { new PutResource(mesh) };
        writes.AddRange(Security.Pki.MeshCa.ToSecrets("default", "ca-1", Security.Pki.MeshCa.Create("default", spec.EnabledBackend!, DateTimeOffset.UtcNow)).Select(s => new PutResource(s)));
        for (var i = 0; i < Services * 10; i++)
        {
            writes.Add(new PutResource(Parse($"type: Dataplane\nmesh: default\nname: dp-{i}\nnetworking: {{address: 10.0.{i / 250}.{i % 250 + 1}, inbound: [{{port: 8080, servicePort: 18080, tags: {{kuma.io/service: svc-{i % Services}, kuma.io/protocol: http}}}}]}}")));
        }
        writes.Add(new PutResource(Parse("type: MeshTrafficPermission\nmesh: default\nname: allow\nspec: {targetRef: {kind: Mesh}, from: [{targetRef: {kind: MeshService, name: svc-0}, default: {action: Allow}}]}")));
        store.CommitAsync(writes).AsTask().GetAwaiter().GetResult();
        var options = new ZoneOptions { Zone = "zone-1" };
        var builder = new ZoneStateBuilder(store, options, TimeProvider.System, NullLogger<ZoneStateBuilder>.Instance);
        builder.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        builder.Loaded.GetAwaiter().GetResult();
        _state = builder.Current;
        builder.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        _generator = new ConfigGenerator();
        _certificates = new CertificateManager(options, TimeProvider.System);
        _dataplane = _state.Mesh("default")!.Dataplanes["dp-0"];
    }

    private static Resource Parse(string yaml) => ResourceDocument.Parse(YamlJson.ParseDocuments(yaml).Single()).Resource;

    /// <summary>What the zone does per proxy when a policy changes: certificate lookup, then the snapshot.</summary>
    [Benchmark]
    public int GenerateOne()
    {
        var mesh = _state.Mesh("default")!;
        var certificate = Kind == ProxyKind.Envoy ? _certificates.Get(mesh, _dataplane) : null;
        var snapshot = _generator.Generate(_state, new ProxyContext("zone-1", _dataplane, Kind, certificate), ++_version);
        return snapshot.TypeVersions.Count;
    }
}
