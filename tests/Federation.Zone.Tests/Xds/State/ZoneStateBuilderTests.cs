using Envoy.Config.Endpoint.V3;
using Federation.Resources;
using Federation.Stores;
using Federation.Zone.Tests.Xds.Generators;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.Server;
using Federation.Zone.Xds.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Federation.Zone.Tests.Xds.State;

public sealed class ZoneStateBuilderTests : IAsyncLifetime
{
    private readonly MemoryStore _store = new();
    private readonly ZoneStateBuilder _builder;
    private readonly Pulse _changed = new();

    public ZoneStateBuilderTests()
    {
        _builder = new ZoneStateBuilder(_store, new ZoneOptions { Zone = "zone-1", XdsBatchWindowMs = 0 }, TimeProvider.System, NullLogger<ZoneStateBuilder>.Instance);
        _builder.Changed += (_, _) => _changed.Set();
    }

    public async ValueTask InitializeAsync()
    {
        foreach (var resource in Scenario.ParseAll("""
            type: Mesh
            name: default
            ---
            type: Dataplane
            mesh: default
            name: backend-1
            networking: {address: 127.0.0.1, inbound: [{port: 18080, tags: {kuma.io/service: backend, kuma.io/protocol: grpc}}]}
            ---
            type: Dataplane
            mesh: default
            name: web-1
            networking: {address: 127.0.0.2, inbound: [{port: 18081, tags: {kuma.io/service: web}}]}
            """))
        {
            await _store.PutAsync(resource, cancellationToken: TestContext.Current.CancellationToken);
        }
        await _builder.StartAsync(TestContext.Current.CancellationToken);
        await _builder.Loaded.Within10s("the zone state to load");
    }

    public async ValueTask DisposeAsync()
    {
        await _builder.StopAsync(CancellationToken.None);
        _builder.Dispose();
    }

    private async Task DeleteAsync(string type, string mesh, string name)
    {
        var key = new ResourceKey(type, mesh, name);
        var resource = await _store.GetAsync(key, TestContext.Current.CancellationToken);
        await _store.DeleteAsync(key, cancellationToken: TestContext.Current.CancellationToken);
        _builder.Enqueue(new ResourceChange(0, ChangeKind.Deleted, key, resource));
    }

    [Fact]
    public async Task Publish_ServiceWhoseLastInstanceLeft_StaysWithoutEndpoints_SoProxiesGetAnEmptyLoadAssignment()
    {
        var before = _builder.Current.Version;

        await DeleteAsync(ResourceTypes.Dataplane.Name, "default", "backend-1");

        await _changed.WaitUntilAsync(() => _builder.Current.Version > before, "the state without backend-1");
        var backend = _builder.Current.Mesh("default")!.Services["backend"];
        Assert.True(backend.IsGone);
        Assert.Equal("grpc", backend.Protocol);
        var web = _builder.Current.Mesh("default")!.Dataplanes["web-1"];
        var snapshot = new ConfigGenerator().Generate(_builder.Current, new ProxyContext("zone-1", web, ProxyKind.Proxyless, null), 1);
        var assignment = snapshot.Of(XdsTypes.ClusterLoadAssignment)[XdsNames.OutboundCluster("backend")].Resource.Unpack<ClusterLoadAssignment>();
        Assert.Empty(assignment.Endpoints);
        Assert.True(snapshot.Of(XdsTypes.Listener).ContainsKey("backend.default.mesh"), "web keeps a listener for backend, now without endpoints");
    }

    [Fact]
    public async Task Publish_MeshDeleted_ForgetsItsServices()
    {
        await DeleteAsync(ResourceTypes.Dataplane.Name, "default", "backend-1");
        await DeleteAsync(ResourceTypes.Dataplane.Name, "default", "web-1");
        var mesh = await _store.GetAsync(ResourceKey.Global(ResourceTypes.Mesh.Name, "default"), TestContext.Current.CancellationToken);
        await DeleteAsync(ResourceTypes.Mesh.Name, "", "default");
        await _changed.WaitUntilAsync(() => _builder.Current.Mesh("default") is null, "the mesh to go");

        await _store.PutAsync(mesh! with { Version = 0 }, cancellationToken: TestContext.Current.CancellationToken);
        _builder.Enqueue(new ResourceChange(0, ChangeKind.Created, mesh.Key, mesh));

        await _changed.WaitUntilAsync(() => _builder.Current.Mesh("default") is not null, "the mesh to come back");
        Assert.Empty(_builder.Current.Mesh("default")!.Services);
    }

    private async Task PutAsync(string yaml)
    {
        var resource = Scenario.Parse(yaml);
        await _store.PutAsync(resource, cancellationToken: TestContext.Current.CancellationToken);
        _builder.Enqueue(new ResourceChange(0, ChangeKind.Created, resource.Key, resource));
    }

    [Fact]
    public async Task Publish_OnlyPermissionsChanged_KeepsTheRestOfTheMeshAndTheSharedOutboundResources()
    {
        var before = _builder.Current;
        var web = before.Mesh("default")!.Dataplanes["web-1"];
        var generator = new ConfigGenerator();
        var first = generator.Generate(before, new ProxyContext("zone-1", web, ProxyKind.Proxyless, null), 1);

        await PutAsync("""
            type: MeshTrafficPermission
            mesh: default
            name: allow-web
            spec: {targetRef: {kind: MeshService, name: backend}, from: [{targetRef: {kind: MeshService, name: web}, default: {action: Allow}}]}
            """);

        await _changed.WaitUntilAsync(() => _builder.Current.Version > before.Version, "the state with the policy");
        var (old, now) = (before.Mesh("default")!, _builder.Current.Mesh("default")!);
        Assert.Equal("allow-web", Assert.Single(now.Permissions).Name);
        Assert.True(now.Version > old.Version);
        Assert.Same(old.Services, now.Services);
        Assert.Same(old.Dataplanes, now.Dataplanes);
        var second = generator.Generate(_builder.Current, new ProxyContext("zone-1", web, ProxyKind.Proxyless, null), 2);
        Assert.Same(first.Of(XdsTypes.Cluster), second.Of(XdsTypes.Cluster));
        Assert.Equal(first.VersionOf(XdsTypes.Cluster), second.VersionOf(XdsTypes.Cluster));
    }

    [Fact]
    public async Task Publish_DataplaneChanged_RebuildsTheMesh()
    {
        var before = _builder.Current;

        await PutAsync("""
            type: Dataplane
            mesh: default
            name: web-2
            networking: {address: 127.0.0.3, inbound: [{port: 18081, tags: {kuma.io/service: web}}]}
            """);

        await _changed.WaitUntilAsync(() => _builder.Current.Version > before.Version, "the state with web-2");
        Assert.Equal(2, _builder.Current.Mesh("default")!.Services["web"].Local.Length);
    }

    [Fact]
    public async Task Publish_VipTableChanged_MeshViewHoldsItsServicesVips()
    {
        await PutAsync("""
            type: VirtualIps
            name: zone
            vips: {backend.default: 240.0.0.1, web.default: 240.0.0.2, gone.default: 240.0.0.3, backend.other: 240.0.0.4}
            """);

        await _changed.WaitUntilAsync(() => _builder.Current.Mesh("default")!.Vips.Count > 0, "the mesh to take the VIP table");
        // Only this mesh's services that exist here; another mesh's entry and a service nobody runs are left out.
        Assert.Equal(new Dictionary<string, string> { ["backend"] = "240.0.0.1", ["web"] = "240.0.0.2" }, _builder.Current.Mesh("default")!.Vips);
    }
}
