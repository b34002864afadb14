using System.Collections.Immutable;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Federation.Resources;
using Federation.Stores;
using Microsoft.Extensions.Time.Testing;

namespace Federation.Tests.Stores;

/// <summary>
/// The behaviour every <see cref="IResourceStore"/> must have. Each store gets a sealed subclass that says
/// how to open a fresh, empty store; every test starts from one.
/// </summary>
public abstract class ResourceStoreContract : IAsyncLifetime
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // Odd sub-millisecond ticks, so a store that rounds times anywhere is caught.
    private static readonly DateTimeOffset Start = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1_234_567);

    protected FakeTimeProvider Clock { get; } = new(Start);

    protected IResourceStore Store { get; private set; } = null!;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Opens the store under test on this test's own data (a file, a key prefix), empty the first time.</summary>
    protected abstract ValueTask<IResourceStore> OpenStoreAsync();

    public virtual async ValueTask InitializeAsync() =>
        Store = await Within(OpenStoreAsync(), $"opening the {GetType().Name} store");

    public virtual async ValueTask DisposeAsync()
    {
        await CloseStoreAsync();
        GC.SuppressFinalize(this);
    }

    protected async ValueTask CloseStoreAsync()
    {
        switch (Store)
        {
            case IAsyncDisposable d:
                await Within(d.DisposeAsync(), "closing the store");
                break;
            case IDisposable d:
                d.Dispose();
                break;
            default:
                break;
        }
    }

    /// <summary>Closes the store and opens it again on the same data.</summary>
    protected async ValueTask ReopenAsync()
    {
        await CloseStoreAsync();
        Store = await Within(OpenStoreAsync(), "reopening the store");
    }

    // ---- create, read, update, delete ----

    [Fact]
    public async Task Create_NewResource_StoresVersionOneStampedWithCommitTime()
    {
        var created = await Put(Mtp("default", "allow-web", """{"n":1}""", ("kuma.io/origin", "global")), expectedVersion: 0);

        Assert.Equal(1, created.Version);
        Assert.Equal(Start, created.CreationTime);
        Assert.Equal(Start, created.ModificationTime);
        var stored = await Get(created.Key);
        AssertSame(created, stored);
    }

    [Fact]
    public async Task Get_MissingKey_ReturnsNull()
    {
        await Put(Mtp("default", "present"));

        Assert.Null(await Get(new ResourceKey("MeshTrafficPermission", "default", "absent")));
        Assert.Null(await Get(new ResourceKey("MeshTrafficPermission", "other", "present")));
        Assert.Null(await Get(new ResourceKey("Dataplane", "default", "present")));
    }

    [Fact]
    public async Task Put_ChangedContent_BumpsVersionAndModificationTimeOnly()
    {
        var created = await Put(Mtp("default", "allow-web", """{"n":1}"""), expectedVersion: 0);
        Clock.Advance(TimeSpan.FromSeconds(1.5) + TimeSpan.FromTicks(7));

        var updated = await Put(Mtp("default", "allow-web", """{"n":2}"""), expectedVersion: 1);

        Assert.Equal(2, updated.Version);
        Assert.Equal(created.CreationTime, updated.CreationTime);
        Assert.Equal(Clock.GetUtcNow(), updated.ModificationTime);
        AssertSame(updated, await Get(created.Key));
    }

    [Fact]
    public async Task Delete_ExistingResource_RemovesItAndReportsItsLastState()
    {
        var created = await Put(Mtp("default", "allow-web"));

        var result = await Commit(new DeleteResource(created.Key, ExpectedVersion: 1));

        var change = Assert.Single(result.Changes);
        Assert.Equal(ChangeKind.Deleted, change.Kind);
        AssertSame(created, change.Resource);
        Assert.Null(await Get(created.Key));
        Assert.Equal(0, (await List(new ResourceQuery("MeshTrafficPermission"))).Total);
    }

    [Fact]
    public async Task Put_StatusAndLabels_RoundTripIncludingAbsentStatus()
    {
        var withStatus = new Resource(
            new ResourceKey("Dataplane", "default", "backend-1"),
            """{"networking":{"address":"127.0.0.1"}}""",
            Labels(("kuma.io/zone", "zone-1"), ("kuma.io/display-name", "backend 1 \"quoted\""), ("app", "")),
            status: """{"online":true}""");
        AssertSame(await Put(withStatus), await Get(withStatus.Key));

        var withoutStatus = await Put(withStatus with { Status = null, Labels = Labels() });

        var stored = await Get(withStatus.Key);
        Assert.NotNull(stored);
        Assert.Null(stored.Status);
        Assert.Empty(stored.Labels);
        AssertSame(withoutStatus, stored);
    }

    // ---- optimistic concurrency and missing keys ----

    [Fact]
    public async Task Create_ExistingKey_ThrowsConflictAndKeepsWhatIsStored()
    {
        var first = await Put(Mtp("default", "allow-web", """{"n":1}"""), expectedVersion: 0);

        var e = await Assert.ThrowsAsync<ResourceConflictException>(() => Put(Mtp("default", "allow-web", """{"n":2}"""), expectedVersion: 0));

        Assert.Equal(first.Key, e.Key);
        AssertSame(first, await Get(first.Key));
    }

    [Fact]
    public async Task Put_StaleExpectedVersion_ThrowsConflict()
    {
        await Put(Mtp("default", "allow-web", """{"n":1}"""));
        var current = await Put(Mtp("default", "allow-web", """{"n":2}"""), expectedVersion: 1);

        await Assert.ThrowsAsync<ResourceConflictException>(() => Put(Mtp("default", "allow-web", """{"n":3}"""), expectedVersion: 1));

        AssertSame(current, await Get(current.Key));
    }

    [Fact]
    public async Task Put_ExpectedVersionOfMissingResource_ThrowsConflict()
    {
        await Assert.ThrowsAsync<ResourceConflictException>(() => Put(Mtp("default", "ghost"), expectedVersion: 3));

        Assert.Null(await Get(new ResourceKey("MeshTrafficPermission", "default", "ghost")));
    }

    [Fact]
    public async Task Delete_MissingResource_ThrowsNotFound()
    {
        var key = new ResourceKey("MeshTrafficPermission", "default", "ghost");

        var e = await Assert.ThrowsAsync<ResourceNotFoundException>(() => Commit(new DeleteResource(key)));

        Assert.Equal(key, e.Key);
    }

    [Fact]
    public async Task Delete_MissingResourceNotRequiredToExist_IsNoOp()
    {
        var key = new ResourceKey("MeshTrafficPermission", "default", "ghost");

        var result = await Commit(new DeleteResource(key, MustExist: false));

        Assert.Empty(result.Changes);
        Assert.False(await Within(Store.DeleteAsync(key, cancellationToken: Ct), "DeleteAsync of a missing key"));
    }

    [Fact]
    public async Task Delete_StaleExpectedVersion_ThrowsConflictAndKeepsIt()
    {
        await Put(Mtp("default", "allow-web", """{"n":1}"""));
        var current = await Put(Mtp("default", "allow-web", """{"n":2}"""));

        await Assert.ThrowsAsync<ResourceConflictException>(() => Commit(new DeleteResource(current.Key, ExpectedVersion: 1)));

        AssertSame(current, await Get(current.Key));
    }

    [Fact]
    public async Task Put_IdenticalContent_ChangesNothingAndPublishesNothing()
    {
        using var feed = Store.Subscribe();
        var created = await Put(Mtp("default", "allow-web", """{"n":1}""", ("team", "a")));
        await ReadAsync(feed.Reader, Timeout, "the Created event for allow-web");
        Clock.Advance(TimeSpan.FromMinutes(1));

        // A fresh object with the same content, as an API client would send it.
        var result = await Commit(new PutResource(Mtp("default", "allow-web", """{"n":1}""", ("team", "a")), ExpectedVersion: 1));

        Assert.Empty(result.Changes);
        AssertSame(created, await Get(created.Key));
        await AssertNextEventIsMarkerAsync(feed, "after an identical put");
    }

    // ---- lists and paging ----

    [Fact]
    public async Task List_ByType_ReturnsOnlyThatTypeAcrossMeshesInMeshThenNameOrder()
    {
        await Commit(
            Write(Mtp("b", "x")),
            Write(Mtp("a-b", "x")),
            Write(Mtp("a", "y")),
            Write(Mtp("a", "x")),
            Write(Mtp("a", "x-1")),
            Write(Dataplane("a", "x")),
            Write(MeshResource("a")),
            Write(MeshResource("b")));

        var mtps = await List(new ResourceQuery("MeshTrafficPermission"));
        var meshes = await List(new ResourceQuery("Mesh"));

        Assert.Equal(["a/x", "a/x-1", "a/y", "a-b/x", "b/x"], Names(mtps));
        Assert.Equal(5, mtps.Total);
        Assert.Null(mtps.Next);
        Assert.Equal(["/a", "/b"], Names(meshes));
        Assert.Equal(2, meshes.Total);
        Assert.Empty((await List(new ResourceQuery("ZoneIngress"))).Items);
    }

    [Fact]
    public async Task List_ByMesh_ReturnsOnlyThatMeshNotMeshesSharingItsPrefix()
    {
        await Commit(Write(Mtp("a", "x")), Write(Mtp("a", "y")), Write(Mtp("a-b", "x")), Write(Mtp("ab", "x")), Write(Mtp("b", "x")), Write(Dataplane("a", "z")));

        var a = await List(new ResourceQuery("MeshTrafficPermission") { Mesh = "a" });
        var none = await List(new ResourceQuery("MeshTrafficPermission") { Mesh = "c" });

        Assert.Equal(["a/x", "a/y"], Names(a));
        Assert.Equal(2, a.Total);
        Assert.Empty(none.Items);
        Assert.Equal(0, none.Total);
    }

    [Fact]
    public async Task List_ByLabels_ReturnsOnlyResourcesCarryingEveryLabel()
    {
        await Commit(
            Write(Dataplane("a", "dp-1", ("kuma.io/zone", "zone-1"), ("kuma.io/origin", "zone"))),
            Write(Dataplane("a", "dp-2", ("kuma.io/zone", "zone-2"), ("kuma.io/origin", "zone"))),
            Write(Dataplane("b", "dp-3", ("kuma.io/zone", "zone-1"), ("kuma.io/origin", "zone"))),
            Write(Dataplane("b", "dp-4", ("kuma.io/zone", "zone-1"))),
            Write(Dataplane("b", "dp-5")),
            Write(Mtp("a", "dp-1", "{}", ("kuma.io/zone", "zone-1"))));
        var zone1 = new Dictionary<string, string> { ["kuma.io/zone"] = "zone-1" };

        var byZone = await List(new ResourceQuery("Dataplane") { Labels = zone1 });
        var byTwo = await List(new ResourceQuery("Dataplane") { Labels = new Dictionary<string, string> { ["kuma.io/zone"] = "zone-1", ["kuma.io/origin"] = "zone" } });
        var inMesh = await List(new ResourceQuery("Dataplane") { Mesh = "b", Labels = zone1 });
        var none = await List(new ResourceQuery("Dataplane") { Labels = new Dictionary<string, string> { ["kuma.io/zone"] = "zone-9" } });

        Assert.Equal(["a/dp-1", "b/dp-3", "b/dp-4"], Names(byZone));
        Assert.Equal(3, byZone.Total);
        Assert.Equal(["a/dp-1", "b/dp-3"], Names(byTwo));
        Assert.Equal(["b/dp-3", "b/dp-4"], Names(inMesh));
        Assert.Empty(none.Items);
        Assert.Equal(0, none.Total);
    }

    [Fact]
    public async Task List_SmallPages_WalkEveryItemOnceInOrderWithTotal()
    {
        var writes = new List<ResourceWrite>();
        foreach (var mesh in new[] { "b", "a-b", "a" })
        {
            for (var i = 0; i < 9; i++)
            {
                var labels = i % 2 == 0 ? new[] { ("kuma.io/zone", "zone-1") } : [("kuma.io/zone", "zone-2")];
                writes.Add(Write(Dataplane(mesh, $"dp-{i:00}", labels)));
            }
        }
        await Commit([.. writes]);

        await AssertPagesWalkAll(new ResourceQuery("Dataplane"), expected: 27);
        await AssertPagesWalkAll(new ResourceQuery("Dataplane") { Mesh = "a-b" }, expected: 9);
        await AssertPagesWalkAll(new ResourceQuery("Dataplane") { Labels = new Dictionary<string, string> { ["kuma.io/zone"] = "zone-1" } }, expected: 15);
        await AssertPagesWalkAll(new ResourceQuery("Dataplane") { Mesh = "a", Labels = new Dictionary<string, string> { ["kuma.io/zone"] = "zone-2" } }, expected: 4);
    }

    [Fact]
    public async Task List_PageTokenNotIssuedByUs_ThrowsArgumentException()
    {
        await Put(Mtp("a", "x"));

        await Assert.ThrowsAsync<ArgumentException>(() => List(new ResourceQuery("MeshTrafficPermission") { Limit = 1, After = "not a token!" }));
    }

    // ---- batches ----

    [Fact]
    public async Task Commit_ThirdWriteConflicts_AppliesNothingAndPublishesNothing()
    {
        var existing = await Put(Mtp("default", "existing"));
        var doomed = await Put(Mtp("default", "doomed"));
        using var feed = Store.Subscribe();

        await Assert.ThrowsAsync<ResourceConflictException>(() => Commit(
            Write(Mtp("default", "first")),
            new DeleteResource(doomed.Key),
            Write(Mtp("default", "existing", """{"n":9}"""), expectedVersion: 5),
            Write(Mtp("default", "fourth"))));

        Assert.Null(await Get(new ResourceKey("MeshTrafficPermission", "default", "first")));
        Assert.Null(await Get(new ResourceKey("MeshTrafficPermission", "default", "fourth")));
        AssertSame(existing, await Get(existing.Key));
        AssertSame(doomed, await Get(doomed.Key));
        Assert.Equal(2, (await List(new ResourceQuery("MeshTrafficPermission"))).Total);
        await AssertNextEventIsMarkerAsync(feed, "after a failed batch");
    }

    [Fact]
    public async Task Commit_ThirdWriteDeletesMissingKey_ThrowsNotFoundAndAppliesNothing()
    {
        using var feed = Store.Subscribe();

        await Assert.ThrowsAsync<ResourceNotFoundException>(() => Commit(
            Write(Mtp("default", "first")),
            Write(Mtp("default", "second")),
            new DeleteResource(new ResourceKey("MeshTrafficPermission", "default", "ghost"))));

        Assert.Equal(0, (await List(new ResourceQuery("MeshTrafficPermission"))).Total);
        await AssertNextEventIsMarkerAsync(feed, "after a failed batch");
    }

    [Fact]
    public async Task Commit_HundredWrites_AppliesAllAtOneRevisionWithEventsInBatchOrder()
    {
        using var feed = Store.Subscribe();
        // Not in key order, so "in order" means batch order.
        var names = Enumerable.Range(0, 100).Select(i => $"dp-{(i * 37) % 100:000}").ToList();

        var result = await Commit([.. names.Select(n => Write(Dataplane("default", n), expectedVersion: 0))]);

        Assert.Equal(100, result.Changes.Count);
        Assert.All(result.Changes, c => Assert.Equal(result.Revision, c.Revision));
        for (var i = 0; i < 100; i++)
        {
            var change = await ReadAsync(feed.Reader, Timeout, $"event {i} of the 100-write batch ({names[i]})");
            Assert.Equal(ChangeKind.Created, change.Kind);
            Assert.Equal(names[i], change.Key.Name);
            Assert.Equal(result.Revision, change.Revision);
        }
        var all = await List(new ResourceQuery("Dataplane"));
        Assert.Equal(100, all.Total);
        Assert.Equal(names.Order(StringComparer.Ordinal), all.Items.Select(r => r.Name));
    }

    [Fact]
    public async Task Commit_HundredWritesWithLastConflicting_AppliesNone()
    {
        await Put(Dataplane("default", "taken"));
        var writes = Enumerable.Range(0, 99).Select(i => Write(Dataplane("default", $"dp-{i:000}"), expectedVersion: 0)).ToList();
        writes.Add(Write(Dataplane("default", "taken"), expectedVersion: 0));

        await Assert.ThrowsAsync<ResourceConflictException>(() => Commit([.. writes]));

        Assert.Equal(1, (await List(new ResourceQuery("Dataplane"))).Total);
    }

    [Fact]
    public async Task Commit_SeveralWritesToOneKey_StoresAndPublishesTheNetChange()
    {
        using var feed = Store.Subscribe();

        var result = await Commit(
            Write(Mtp("default", "kept", """{"n":1}""")),
            Write(Mtp("default", "kept", """{"n":2}""")),
            Write(Mtp("default", "gone")),
            new DeleteResource(new ResourceKey("MeshTrafficPermission", "default", "gone")));

        var change = Assert.Single(result.Changes);
        Assert.Equal(ChangeKind.Created, change.Kind);
        Assert.Equal("""{"n":2}""", change.Resource!.Spec);
        var stored = await Get(change.Key);
        AssertSame(change.Resource, stored);
        Assert.Null(await Get(new ResourceKey("MeshTrafficPermission", "default", "gone")));
        var published = await ReadAsync(feed.Reader, Timeout, "the net Created event for 'kept'");
        Assert.Equal(change.Key, published.Key);
        await AssertNextEventIsMarkerAsync(feed, "after the collapsed batch");
    }

    // ---- change feed ----

    [Fact]
    public async Task Subscribe_CreateUpdateDelete_DeliversEachInCommitOrderWithIncreasingRevisions()
    {
        using var feed = Store.Subscribe();
        var key = new ResourceKey("MeshTrafficPermission", "default", "allow-web");

        var results = new List<CommitResult>
        {
            await Commit(Write(Mtp("default", "allow-web", """{"n":1}"""), expectedVersion: 0)),
            await Commit(Write(Mtp("default", "other"))),
            await Commit(Write(Mtp("default", "allow-web", """{"n":2}"""), expectedVersion: 1)),
            await Commit(new DeleteResource(key, ExpectedVersion: 2)),
        };

        var expected = new[] { (ChangeKind.Created, "allow-web", 1L), (ChangeKind.Created, "other", 1L), (ChangeKind.Updated, "allow-web", 2L), (ChangeKind.Deleted, "allow-web", 2L) };
        var previous = 0L;
        for (var i = 0; i < expected.Length; i++)
        {
            var (kind, name, version) = expected[i];
            var change = await ReadAsync(feed.Reader, Timeout, $"the {kind} event for {name}");
            Assert.Equal((kind, name, version), (change.Kind, change.Key.Name, change.Resource!.Version));
            Assert.Equal(results[i].Revision, change.Revision);
            Assert.True(change.Revision > previous, $"revision {change.Revision} after {previous}");
            previous = change.Revision;
        }
    }

    [Fact]
    public async Task Subscribe_AfterACommit_ReceivesOnlyLaterChanges()
    {
        await Put(Mtp("default", "before"));

        using var feed = Store.Subscribe();
        await Put(Mtp("default", "after"));

        var change = await ReadAsync(feed.Reader, Timeout, "the Created event for 'after'");
        Assert.Equal("after", change.Key.Name);
    }

    [Fact]
    public async Task Commit_EightWritersRetryingOnConflict_LoseNoUpdate()
    {
        const int writers = 8;
        const int updatesEach = 50;
        var key = (await Put(Counter(0), expectedVersion: 0)).Key;
        using var feed = Store.Subscribe();

        await Within(Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(() => IncrementAsync(Store, key, updatesEach), Ct))), "the concurrent writers");

        var final = await Get(key);
        Assert.NotNull(final);
        Assert.Equal(1 + (writers * updatesEach), final.Version);
        Assert.Equal(writers * updatesEach, CounterValue(final));
        var previous = 0L;
        for (var version = 2; version <= final.Version; version++)
        {
            var change = await ReadAsync(feed.Reader, Timeout, $"the update to version {version}");
            Assert.Equal(version, change.Resource!.Version);
            Assert.True(change.Revision > previous, $"revision {change.Revision} after {previous}");
            previous = change.Revision;
        }
    }

    [Fact]
    public async Task Commit_TimesWithSubMillisecondTicks_RoundTripExactlyEverywhere()
    {
        using var feed = Store.Subscribe();
        var created = await Put(Mtp("default", "timed", """{"n":1}"""));
        Clock.Advance(TimeSpan.FromTicks(1));
        var updated = await Put(Mtp("default", "timed", """{"n":2}"""));

        Assert.Equal(Start.UtcTicks, created.CreationTime.UtcTicks);
        Assert.Equal(Start.UtcTicks + 1, updated.ModificationTime.UtcTicks);
        var stored = await Get(created.Key);
        var listed = Assert.Single((await List(new ResourceQuery("MeshTrafficPermission"))).Items);
        await ReadAsync(feed.Reader, Timeout, "the Created event for 'timed'");
        var published = (await ReadAsync(feed.Reader, Timeout, "the Updated event for 'timed'")).Resource;
        foreach (var r in new[] { stored, listed, published })
        {
            Assert.NotNull(r);
            Assert.Equal(Start.UtcTicks, r.CreationTime.UtcTicks);
            Assert.Equal(Start.UtcTicks + 1, r.ModificationTime.UtcTicks);
        }
    }

    // ---- helpers ----

    protected static ImmutableSortedDictionary<string, string> Labels(params (string Key, string Value)[] labels) =>
        labels.ToImmutableSortedDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);

    protected static Resource Mtp(string mesh, string name, string spec = "{}", params (string, string)[] labels) =>
        new(new ResourceKey("MeshTrafficPermission", mesh, name), spec, Labels(labels));

    protected static Resource Dataplane(string mesh, string name, params (string, string)[] labels) =>
        new(new ResourceKey("Dataplane", mesh, name), """{"networking":{"address":"127.0.0.1"}}""", Labels(labels));

    protected static Resource MeshResource(string name) => new(ResourceKey.Global("Mesh", name), "{}");

    protected static Resource Counter(int n) => new(ResourceKey.Global("Mesh", "counter"), $$"""{"n":{{n}}}""");

    protected static int CounterValue(Resource r) => JsonNode.Parse(r.Spec)!["n"]!.GetValue<int>();

    protected static PutResource Write(Resource r, long? expectedVersion = null) => new(r, expectedVersion);

    /// <summary>Read-modify-write with ExpectedVersion, retried on conflict, the way an API client does it.</summary>
    protected static async Task IncrementAsync(IResourceStore store, ResourceKey key, int times)
    {
        for (var i = 0; i < times; i++)
        {
            while (true)
            {
                var current = await store.GetAsync(key, Ct) ?? throw new InvalidOperationException($"{key} vanished");
                try
                {
                    await store.CommitAsync([new PutResource(Counter(CounterValue(current) + 1), current.Version)], Ct);
                    break;
                }
                catch (ResourceConflictException)
                {
                }
            }
        }
    }

    protected async Task<CommitResult> Commit(params ResourceWrite[] writes) =>
        await Within(Store.CommitAsync(writes, Ct), $"a commit of {writes.Length} write(s)");

    protected async Task<Resource> Put(Resource resource, long? expectedVersion = null) =>
        await Within(Store.PutAsync(resource, expectedVersion, Ct), $"a put of {resource.Key}");

    protected async Task<Resource?> Get(ResourceKey key) =>
        await Within(Store.GetAsync(key, Ct), $"a get of {key}");

    protected async Task<ResourcePage> List(ResourceQuery query) =>
        await Within(Store.ListAsync(query, Ct), $"a list of {query}");

    protected static List<string> Names(ResourcePage page) => [.. page.Items.Select(r => $"{r.Mesh}/{r.Name}")];

    /// <summary>Commits a marker resource and checks it is the next event: nothing was published in between.</summary>
    protected async Task AssertNextEventIsMarkerAsync(ChangeSubscription feed, string when)
    {
        var marker = await Put(MeshResource($"marker-{Guid.NewGuid():N}"));
        var next = await ReadAsync(feed.Reader, Timeout, $"the marker's Created event {when}");
        Assert.True(next.Key == marker.Key, $"expected no event {when}, but got {next.Kind} {next.Key} before the marker");
    }

    private async Task AssertPagesWalkAll(ResourceQuery query, int expected)
    {
        var everything = await List(query);
        Assert.Equal(expected, everything.Total);
        Assert.Equal(expected, everything.Items.Count);
        var ordered = everything.Items.OrderBy(r => r.Mesh, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal).Select(r => r.Key);
        Assert.Equal(ordered, everything.Items.Select(r => r.Key));

        var walked = new List<ResourceKey>();
        string? after = null;
        for (var page = 0; ; page++)
        {
            Assert.True(page <= expected, $"paging {query} did not end after {page} pages");
            var result = await List(query with { Limit = 4, After = after });
            Assert.Equal(expected, result.Total);
            Assert.True(result.Items.Count <= 4, $"page {page} of {query} has {result.Items.Count} items");
            walked.AddRange(result.Items.Select(r => r.Key));
            if (result.Next is null)
            {
                break;
            }
            Assert.Equal(4, result.Items.Count);
            after = result.Next;
        }
        Assert.Equal(everything.Items.Select(r => r.Key), walked);
    }

    protected static void AssertSame(Resource? expected, Resource? actual)
    {
        Assert.NotNull(expected);
        Assert.NotNull(actual);
        Assert.Equal(expected.Key, actual.Key);
        Assert.Equal(expected.Version, actual.Version);
        Assert.Equal(expected.Spec, actual.Spec);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.Labels, actual.Labels);
        Assert.Equal(expected.ContentHash, actual.ContentHash);
        Assert.Equal(expected.CreationTime.UtcTicks, actual.CreationTime.UtcTicks);
        Assert.Equal(expected.ModificationTime.UtcTicks, actual.ModificationTime.UtcTicks);
    }

    /// <summary>Waits for the next change, failing with what it waited for when none comes in time.</summary>
    protected static async Task<ResourceChange> ReadAsync(ChannelReader<ResourceChange> reader, TimeSpan timeout, string what)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(timeout);
        try
        {
            return await reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            throw new TimeoutException($"timed out after {timeout.TotalSeconds}s waiting for {what}");
        }
    }

    protected static async Task<T> Within<T>(ValueTask<T> task, string what) => await Within(task.AsTask(), what);

    protected static async Task Within(ValueTask task, string what) => await Within(task.AsTask(), what);

    protected static async Task<T> Within<T>(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(Timeout, Ct);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {Timeout.TotalSeconds}s waiting for {what}");
        }
    }

    protected static async Task Within(Task task, string what)
    {
        try
        {
            await task.WaitAsync(Timeout, Ct);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {Timeout.TotalSeconds}s waiting for {what}");
        }
    }
}

/// <summary>The contract for stores that keep their data across a restart.</summary>
public abstract class DurableResourceStoreContract : ResourceStoreContract
{
    [Fact]
    public async Task Reopen_AfterCommits_LosesNothingAndRevisionsContinue()
    {
        await Commit(
            Write(Mtp("a", "x", """{"n":1}""", ("kuma.io/zone", "zone-1"))),
            Write(Dataplane("a", "dp-1") with { Status = """{"online":true}""" }),
            Write(MeshResource("a")),
            Write(Mtp("a", "gone")));
        Clock.Advance(TimeSpan.FromTicks(12_345));
        await Put(Mtp("a", "x", """{"n":2}""", ("kuma.io/zone", "zone-1")), expectedVersion: 1);
        var last = await Commit(new DeleteResource(new ResourceKey("MeshTrafficPermission", "a", "gone")));
        var before = await SnapshotAsync();

        await ReopenAsync();

        var after = await SnapshotAsync();
        Assert.Equal(before.Count, after.Count);
        for (var i = 0; i < before.Count; i++)
        {
            AssertSame(before[i], after[i]);
        }
        using var feed = Store.Subscribe();
        var next = await Commit(Write(Mtp("a", "x", """{"n":3}""", ("kuma.io/zone", "zone-1")), expectedVersion: 2));
        Assert.True(next.Revision > last.Revision, $"revision {next.Revision} after reopen is not past {last.Revision}");
        var change = await ReadAsync(feed.Reader, Timeout, "the Updated event after reopening");
        Assert.Equal((ChangeKind.Updated, 3L, next.Revision), (change.Kind, change.Resource!.Version, change.Revision));
    }

    private async Task<List<Resource>> SnapshotAsync()
    {
        var all = new List<Resource>();
        foreach (var type in new[] { "Mesh", "MeshTrafficPermission", "Dataplane" })
        {
            all.AddRange((await List(new ResourceQuery(type))).Items);
        }
        return all;
    }
}
