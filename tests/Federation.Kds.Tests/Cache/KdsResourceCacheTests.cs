using Federation.Kds.Cache;
using Federation.Resources;
using Federation.Stores;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Federation.Kds.Tests.Fakes.TestResources;

namespace Federation.Kds.Tests.Cache;

public sealed class KdsResourceCacheTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly MemoryStore _store = new();
    private readonly FakeTimeProvider _time = new();
    private KdsResourceCache _cache = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _store.CommitAsync([new PutResource(Policy("a")), new PutResource(Dataplane("dp.zone-1", labels: FromZone("zone-1")))], Ct);
        _cache = new KdsResourceCache(_store, KdsExport.GlobalToZones(), new KdsCacheOptions { BatchWindow = TimeSpan.Zero }, _time, NullLogger<KdsResourceCache>.Instance);
        await _cache.StartAsync(Ct);
        await _cache.Loaded.WaitAsync(Timeout, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _cache.StopAsync(CancellationToken.None);
        _cache.Dispose();
    }

    /// <summary>Commits through the store and hands the changes to the cache, as the change feed does.</summary>
    private async Task<KdsSnapshot> CommitAsync(params ResourceWrite[] writes)
    {
        var before = _cache.Current.Version;
        var result = await _store.CommitAsync(writes, Ct);
        foreach (var change in result.Changes)
        {
            await _cache.Enqueue(change);
        }
        await _cache.WaitForNewerAsync(before, Ct).WaitAsync(Timeout, Ct);
        return _cache.Current;
    }

    [Fact]
    public void Start_ExportedResources_LoadedAndInventoryLeftOut()
    {
        var snapshot = _cache.Current;

        Assert.Equal(["a.default"], snapshot.View(ResourceTypes.MeshTrafficPermission.Name).Items.Keys);
        Assert.Empty(snapshot.View(ResourceTypes.Dataplane.Name).Items);
        Assert.Contains(ResourceTypes.MeshTrafficPermission.Name, _cache.ExportedTypes);
        Assert.DoesNotContain(ResourceTypes.Zone.Name, _cache.ExportedTypes);
    }

    [Fact]
    public async Task Enqueue_PolicyChange_NewSnapshotBumpsOnlyThatType()
    {
        var before = _cache.Current;

        var after = await CommitAsync(new PutResource(Policy("b")));

        Assert.True(after.Version > before.Version);
        var policies = after.View(ResourceTypes.MeshTrafficPermission.Name);
        Assert.Equal(["a.default", "b.default"], policies.Items.Keys);
        Assert.Equal(after.Version, policies.Version);
        Assert.Equal(before.View(ResourceTypes.Mesh.Name).Version, after.View(ResourceTypes.Mesh.Name).Version);
    }

    [Fact]
    public async Task Enqueue_Deletion_RemovedFromTheView()
    {
        var after = await CommitAsync(new DeleteResource(Policy("a").Key));

        Assert.Empty(after.View(ResourceTypes.MeshTrafficPermission.Name).Items);
    }

    [Fact]
    public async Task Enqueue_ZoneChange_BumpsTheIngressViewSoPeerFiltersAreReapplied()
    {
        var before = _cache.Current.View(ResourceTypes.ZoneIngress.Name).Version;

        var after = await CommitAsync(new PutResource(Zone("zone-1", enabled: false)));

        Assert.True(after.View(ResourceTypes.ZoneIngress.Name).Version > before);
        Assert.True(after.View(ResourceTypes.Zone.Name).Items.ContainsKey("zone-1"));
    }
}
