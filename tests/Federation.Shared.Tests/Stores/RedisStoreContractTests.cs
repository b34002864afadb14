using Federation.Resources;
using Federation.Stores;

namespace Federation.Tests.Stores;

/// <summary>The Redis store with its default, optimistic lists.</summary>
[Collection(RedisServerCollection.Name)]
public sealed class RedisStoreContractTests(RedisServerFixture redis) : RedisStoreContract(redis, listReadAttempts: 3);

/// <summary>The Redis store with every list served by the atomic Lua script, its fallback under write contention.</summary>
[Collection(RedisServerCollection.Name)]
public sealed class RedisStoreScriptedListContractTests(RedisServerFixture redis) : RedisStoreContract(redis, listReadAttempts: 0);

/// <summary>The contract plus what only a shared Redis has: replicas, and a server that can be missing.</summary>
public abstract class RedisStoreContract(RedisServerFixture redis, int listReadAttempts) : DurableResourceStoreContract
{
    // Every test has its own keys on the shared server.
    private readonly string _prefix = $"fed-test:{Guid.NewGuid():N}:";
    private readonly List<RedisStore> _replicas = [];

    protected override async ValueTask<IResourceStore> OpenStoreAsync() => await OpenReplicaAsync();

    public override async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await Within(replica.DisposeAsync(), "closing the second replica");
        }
        await base.DisposeAsync();
    }

    /// <summary>Another instance on the same server and prefix, as a second global replica would be; closed after the test.</summary>
    private async Task<RedisStore> OpenOtherReplicaAsync()
    {
        var replica = await Within(OpenReplicaAsync(), "connecting the second replica");
        _replicas.Add(replica);
        return replica;
    }

    private async Task<RedisStore> OpenReplicaAsync() =>
        await RedisStore.ConnectAsync(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = _prefix, ListReadAttempts = listReadAttempts }, Clock, cancellationToken: Ct);

    [Fact]
    public async Task Commit_ThroughOneReplica_ReachesSubscribersOfTheOther()
    {
        var other = await OpenOtherReplicaAsync();
        using var otherFeed = other.Subscribe();
        using var feed = Store.Subscribe();

        var created = await Commit(Write(Mtp("default", "allow-web", """{"n":1}"""), expectedVersion: 0));
        var seenByOther = await ReadAsync(otherFeed.Reader, Timeout, "replica B's Created event for a write through replica A");
        var updated = await Within(other.CommitAsync([Write(Mtp("default", "allow-web", """{"n":2}"""), expectedVersion: 1)], Ct), "a write through replica B");
        await ReadAsync(feed.Reader, Timeout, "replica A's own Created event");
        var seenByFirst = await ReadAsync(feed.Reader, Timeout, "replica A's Updated event for a write through replica B");

        Assert.Equal((ChangeKind.Created, created.Revision), (seenByOther.Kind, seenByOther.Revision));
        AssertSame(created.Changes[0].Resource, seenByOther.Resource);
        Assert.Equal((ChangeKind.Updated, updated.Revision), (seenByFirst.Kind, seenByFirst.Revision));
        AssertSame(updated.Changes[0].Resource, await Get(seenByFirst.Key));
    }

    [Fact]
    public async Task Commit_WritersOnTwoReplicas_LoseNoUpdateAndBothFeedsAgree()
    {
        var other = await OpenOtherReplicaAsync();
        // Subscribe first: "now" on another replica is when its reader gets there, not when A committed.
        using var feed = Store.Subscribe();
        using var otherFeed = other.Subscribe();
        var key = (await Put(Counter(0), expectedVersion: 0)).Key;
        await ReadAsync(feed.Reader, Timeout, "replica A's Created event for the counter");
        await ReadAsync(otherFeed.Reader, Timeout, "replica B's Created event for the counter");

        var writers = Enumerable.Range(0, 6).Select(i => Task.Run(() => IncrementAsync(i % 2 == 0 ? Store : other, key, 25), Ct));
        await Within(Task.WhenAll(writers), "writers on two replicas");

        var final = await Get(key);
        Assert.NotNull(final);
        Assert.Equal((151L, 150), (final.Version, CounterValue(final)));
        for (var version = 2; version <= 151; version++)
        {
            var a = await ReadAsync(feed.Reader, Timeout, $"replica A's event for version {version}");
            var b = await ReadAsync(otherFeed.Reader, Timeout, $"replica B's event for version {version}");
            Assert.Equal((version, a.Revision), (a.Resource!.Version, b.Revision));
            Assert.Equal(version, b.Resource!.Version);
        }
    }

    [Fact]
    public async Task ConnectAsync_NothingListening_ThrowsNamingTheEndpoint()
    {
        var port = RedisServerProcess.FreeLoopbackPort();

        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => Within(
            RedisStore.ConnectAsync(new RedisStoreOptions { Configuration = $"127.0.0.1:{port},connectTimeout=2000" }, Clock, cancellationToken: Ct),
            "a connect to a closed port"));

        Assert.Contains($"127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_AfterRedisKeysRemovedBehindTheStore_ReturnsNull()
    {
        // Guards the key layout: the resource lives in the hash the docs name.
        var stored = await Put(Mtp("default", "allow-web"));
        using var admin = await Within(StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration), "an admin connection");
        var db = admin.GetDatabase();
        var hash = $"{_prefix}r:MeshTrafficPermission:default:allow-web";
        Assert.Equal("1", (string?)await Within(db.HashGetAsync(hash, "version"), "HGET version"));

        await Within(db.KeyDeleteAsync(hash), "DEL of the resource hash");

        Assert.Null(await Get(stored.Key));
    }

    [Fact]
    public async Task Subscribe_RevisionGapInTheStream_PublishesResetBeforeTheNextChange()
    {
        // What a replica sees when the stream was trimmed past it: entries resume at a later revision.
        var last = await Commit(Write(MeshResource("before")));
        using var feed = Store.Subscribe();
        using var admin = await Within(StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration), "an admin connection");
        var skipped = last.Revision + 5;

        await Within(admin.GetDatabase().StreamAddAsync($"{_prefix}feed", [
            new("rev", skipped), new("kind", "Created"), new("type", "Mesh"), new("mesh", ""), new("name", "after-gap"),
            new("version", 1), new("ctime", 0), new("mtime", 0), new("labels", "{}"), new("spec", "{}"),
        ]), "XADD of an entry past a gap");

        var reset = await ReadAsync(feed.Reader, Timeout, "the Reset for the revision gap");
        var change = await ReadAsync(feed.Reader, Timeout, "the change after the gap");
        Assert.Equal((ChangeKind.Reset, skipped), (reset.Kind, reset.Revision));
        Assert.Equal(("after-gap", skipped), (change.Key.Name, change.Revision));
    }

    [Fact]
    public async Task Subscribe_MalformedStreamEntry_PublishesResetAndKeepsFollowing()
    {
        using var feed = Store.Subscribe();
        using var admin = await Within(StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Configuration), "an admin connection");

        await Within(admin.GetDatabase().StreamAddAsync($"{_prefix}feed", "junk", "1"), "XADD of a foreign entry");
        var marker = await Put(MeshResource("marker"));

        var reset = await ReadAsync(feed.Reader, Timeout, "the Reset for the malformed entry");
        var change = await ReadAsync(feed.Reader, Timeout, "the marker's Created event after the malformed entry");
        Assert.Equal(ChangeKind.Reset, reset.Kind);
        Assert.Equal(marker.Key, change.Key);
    }

    [Fact]
    public async Task Get_RedisGoneAfterConnecting_ThrowsUnavailableNamingTheEndpoint()
    {
        var server = await Within(RedisServerProcess.StartAsync(Timeout, Ct), "a second redis-server");
        var configuration = $"{server.Configuration},asyncTimeout=500,syncTimeout=500,connectRetry=0";
        var store = await Within(RedisStore.ConnectAsync(new RedisStoreOptions { Configuration = configuration }, Clock, cancellationToken: Ct), "connecting to the second redis-server");
        try
        {
            await Within(server.DisposeAsync(), "stopping the second redis-server");

            var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => Within(store.GetAsync(ResourceKey.Global("Mesh", "default"), Ct), "a get with Redis gone"));

            Assert.Contains(server.Configuration, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            await Within(store.DisposeAsync(), "closing the store of the stopped server");
        }
    }
}
