using System.Collections.Immutable;
using System.Globalization;
using Federation.Resources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Federation.Stores;

/// <summary>Where a <see cref="RedisStore"/> keeps its data and how it follows the change stream.</summary>
public sealed record RedisStoreOptions
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379,password=...</c>.</summary>
    public required string Configuration { get; init; }

    /// <summary>Prefix of every key. Use a hash tag (<c>{fed}:</c>) on Redis Cluster so all keys share one slot.</summary>
    public string KeyPrefix { get; init; } = "fed:";

    /// <summary>Approximate number of change-stream entries kept; a replica further behind than this resets.</summary>
    public int FeedMaxLength { get; init; } = 100_000;

    /// <summary>How long one blocking stream read waits on the server before it is reissued.</summary>
    public TimeSpan FeedBlockTime { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Tries at a lock-free list (plain reads checked against the revision) before falling back to one Lua
    /// script, which is atomic but holds Redis for its whole run. 0 always uses the script.
    /// </summary>
    public int ListReadAttempts { get; init; } = 3;

    /// <summary>How long the feed reader waits before reconnecting after an error.</summary>
    public TimeSpan FeedRetryDelay { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// A store shared by several global replicas through one Redis. Each resource is a hash, each type a
/// lexically ordered sorted set (<c>mesh\nname</c>) for keyset paging, and every commit runs as one Lua
/// script that re-checks the versions the planner saw, applies the writes, bumps the revision and appends
/// the changes to a Redis Stream (a lost race re-plans on fresh state). Each instance follows that stream
/// with a blocking XREAD on a dedicated connection and republishes it to local subscribers, so every replica
/// sees every change in one order; a local commit returns once its own events are out. Lists are pipelined
/// reads validated by the revision counter, with an atomic script as the fallback.
/// </summary>
/// <remarks>
/// Keys under <see cref="RedisStoreOptions.KeyPrefix"/> (P): <c>P r:{type}:{mesh}:{name}</c> (hash: version,
/// ctime, mtime as UTC ticks, labels as JSON, spec, status), <c>P i:{type}</c> (sorted set of <c>mesh\nname</c>,
/// score 0; names are RFC 1123, so neither ':' nor '\n' is ambiguous),
/// <c>P rev</c> (revision counter) and <c>P feed</c> (stream, trimmed with <c>MAXLEN ~</c>).
/// </remarks>
public sealed partial class RedisStore : IResourceStore, IDisposable, IAsyncDisposable
{
    private const int MaxCommitAttempts = 100;
    private const int FeedBatch = 512;

    // How long a commit waits for its own change to come back through the stream before returning anyway.
    private static readonly TimeSpan FeedCatchUpLimit = TimeSpan.FromSeconds(5);

    private static readonly RedisValue[] Fields = ["version", "ctime", "mtime", "labels", "spec", "status"];

    // KEYS: revision, stream, then the hash of every key the batch touches, then the type indexes.
    // ARGV: n touched keys, stream max length, the n versions the planner saw ("0" = absent), then one
    // 14-field op per change. Nothing is written unless every observed version still holds.
    private const string CommitScript = """
        local n = tonumber(ARGV[1])
        for i = 1, n do
          local stored = redis.call('HGET', KEYS[2 + i], 'version')
          local observed = ARGV[2 + i]
          if observed == '0' then
            if stored then return {0, i} end
          elseif stored ~= observed then
            return {0, i}
          end
        end
        local first = 3 + n
        if #ARGV < first then
          return {1, tonumber(redis.call('GET', KEYS[1]) or '0')}
        end
        local rev = redis.call('INCR', KEYS[1])
        for a = first, #ARGV, 14 do
          local kind, hash, index, member = ARGV[a], KEYS[tonumber(ARGV[a + 1])], KEYS[tonumber(ARGV[a + 2])], ARGV[a + 3]
          if kind == 'Deleted' then
            redis.call('DEL', hash)
            redis.call('ZREM', index, member)
          else
            redis.call('HSET', hash, 'version', ARGV[a + 7], 'ctime', ARGV[a + 8], 'mtime', ARGV[a + 9], 'labels', ARGV[a + 10], 'spec', ARGV[a + 11])
            if ARGV[a + 12] == '1' then
              redis.call('HSET', hash, 'status', ARGV[a + 13])
            else
              redis.call('HDEL', hash, 'status')
            end
            redis.call('ZADD', index, 0, member)
          end
          local entry = {'rev', rev, 'kind', kind, 'type', ARGV[a + 4], 'mesh', ARGV[a + 5], 'name', ARGV[a + 6],
            'version', ARGV[a + 7], 'ctime', ARGV[a + 8], 'mtime', ARGV[a + 9], 'labels', ARGV[a + 10], 'spec', ARGV[a + 11]}
          if ARGV[a + 12] == '1' then
            entry[#entry + 1] = 'status'
            entry[#entry + 1] = ARGV[a + 13]
          end
          redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(entry))
        end
        return {1, rev}
        """;

    // KEYS: the type index. ARGV: hash key prefix for the type, lower bound (after the page token), upper
    // bound, lower bound of the mesh range, the token as an inclusive bound ('' for none), limit (0 = all),
    // then label key/value pairs. Returns {total, member, fields, member, fields, ...}, limit + 1 items at most.
    // The fallback when optimistic reads keep losing to writers: atomic, but Redis serves nobody else meanwhile.
    private const string ListScript = """
        local prefix, low, high, meshLow, skipTo, limit = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
        local function fetch(member)
          local nl = string.find(member, '\n', 1, true)
          return redis.call('HMGET', prefix .. string.sub(member, 1, nl - 1) .. ':' .. string.sub(member, nl + 1),
            'version', 'ctime', 'mtime', 'labels', 'spec', 'status')
        end
        local out = {0}
        if #ARGV == 6 then
          out[1] = redis.call('ZLEXCOUNT', KEYS[1], meshLow, high)
          local members
          if limit > 0 then
            members = redis.call('ZRANGEBYLEX', KEYS[1], low, high, 'LIMIT', 0, limit + 1)
          else
            members = redis.call('ZRANGEBYLEX', KEYS[1], low, high)
          end
          for _, m in ipairs(members) do
            out[#out + 1] = m
            out[#out + 1] = fetch(m)
          end
          return out
        end
        local skip = 0
        if skipTo ~= '' then
          skip = redis.call('ZLEXCOUNT', KEYS[1], meshLow, skipTo)
        end
        local taken = 0
        for i, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], meshLow, high)) do
          local f = fetch(m)
          local labels = cjson.decode(f[4])
          local match = true
          for j = 7, #ARGV, 2 do
            if labels[ARGV[j]] ~= ARGV[j + 1] then
              match = false
              break
            end
          end
          if match then
            out[1] = out[1] + 1
            if i > skip and (limit == 0 or taken <= limit) then
              out[#out + 1] = m
              out[#out + 1] = f
              taken = taken + 1
            end
          end
        end
        return out
        """;

    // Where a new reader starts: the newest stream entry and the revision, read together.
    private const string FeedStartScript = """
        local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        local id = '0-0'
        if last[1] then id = last[1][1] end
        return {id, redis.call('GET', KEYS[1]) or '0'}
        """;

    private readonly RedisStoreOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ConnectionMultiplexer _connection;
    private readonly ConnectionMultiplexer _feedConnection;
    private readonly IDatabase _db;
    private readonly string _prefix;
    private readonly RedisKey _revisionKey;
    private readonly RedisKey _streamKey;
    private readonly ChangeFeedHub _feed = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private long _published;
    private TaskCompletionSource _publishedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private RedisStore(RedisStoreOptions options, TimeProvider timeProvider, ILogger logger, string endpoint, ConnectionMultiplexer connection, ConnectionMultiplexer feedConnection)
    {
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        Endpoint = endpoint;
        _connection = connection;
        _feedConnection = feedConnection;
        _db = connection.GetDatabase();
        _prefix = options.KeyPrefix;
        _revisionKey = _prefix + "rev";
        _streamKey = _prefix + "feed";
    }

    public string Kind => "redis";

    /// <summary>The Redis endpoint(s) this store talks to, as named in errors.</summary>
    public string Endpoint { get; }

    /// <summary>
    /// Connects (two connections: commands, and the blocking feed reader) and starts following the change
    /// stream. Throws <see cref="StoreUnavailableException"/> naming the endpoint when Redis cannot be reached.
    /// </summary>
    public static async Task<RedisStore> ConnectAsync(RedisStoreOptions options, TimeProvider timeProvider, ILogger<RedisStore>? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(options.Configuration);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.FeedMaxLength);
        var config = ConfigurationOptions.Parse(options.Configuration);
        // Fail now, with the endpoint in the message, rather than on the first command; reconnects after
        // a successful start are automatic.
        config.AbortOnConnectFail = true;
        var endpoint = string.Join(",", config.EndPoints.Select(EndPointCollection.ToString));
        ConnectionMultiplexer? connection = null;
        ConnectionMultiplexer? feedConnection = null;
        try
        {
            connection = await ConnectionMultiplexer.ConnectAsync(config);
            var feedConfig = config.Clone();
            // A blocking XREAD holds this connection for up to FeedBlockTime: nothing else uses it, and its
            // timeout must outlast the block.
            feedConfig.AsyncTimeout = (int)(options.FeedBlockTime + TimeSpan.FromSeconds(10)).TotalMilliseconds;
            feedConfig.ClientName = (config.ClientName ?? "federation") + "-feed";
            feedConnection = await ConnectionMultiplexer.ConnectAsync(feedConfig);
            var store = new RedisStore(options, timeProvider, logger ?? (ILogger)NullLogger<RedisStore>.Instance, endpoint, connection, feedConnection);
            await store.StartFeedAsync(cancellationToken);
            return store;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            feedConnection?.Dispose();
            connection?.Dispose();
            throw new StoreUnavailableException($"cannot connect to Redis at {endpoint}: {e.Message}", e);
        }
        catch
        {
            feedConnection?.Dispose();
            connection?.Dispose();
            throw;
        }
    }

    public async ValueTask<Resource?> GetAsync(ResourceKey key, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var values = await Guard(_db.HashGetAsync(HashKey(key), Fields), cancellationToken);
        return ToResource(key, values);
    }

    public async ValueTask<ResourcePage> ListAsync(ResourceQuery query, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var after = PageToken.Parse(query.After);
        var afterMember = after is { } a ? Member(a.Mesh, a.Name) : null;
        // Optimistic first: plain pipelined reads, accepted when the revision did not move while they ran.
        // They keep Redis free for other clients, where one script over thousands of items would stall it.
        for (var attempt = 0; attempt < _options.ListReadAttempts; attempt++)
        {
            try
            {
                if (await TryListAsync(query, afterMember).WaitAsync(cancellationToken) is { } page)
                {
                    return page;
                }
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                throw Unavailable(e);
            }
        }
        // Writers kept moving the revision: read atomically inside Redis instead.
        return await ListInScriptAsync(query, afterMember, cancellationToken);
    }

    public async ValueTask<CommitResult> CommitAsync(IReadOnlyList<ResourceWrite> writes, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var touched = writes.Select(w => w.Key).Distinct().ToList();
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var reads = touched.Select(k => _db.HashGetAsync(HashKey(k), Fields)).ToList();
            var current = new Dictionary<ResourceKey, Resource?>(touched.Count);
            for (var i = 0; i < touched.Count; i++)
            {
                current[touched[i]] = ToResource(touched[i], await Guard(reads[i], cancellationToken));
            }
            // The revision is allocated inside the script; the planner's is a placeholder.
            var changes = CommitPlanner.Plan(writes, current, _timeProvider.GetUtcNow(), 0);
            var (keys, args) = BuildCommit(touched, current, changes);
            RedisResult[] outcome;
            try
            {
                // Not cancellable once sent: the script may run whether or not we wait for its answer.
                outcome = (RedisResult[])(await _db.ScriptEvaluateAsync(CommitScript, keys, args))!;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                throw new StoreUnavailableException($"Redis at {Endpoint} is unavailable; whether this commit was applied is unknown: {e.Message}", e);
            }
            if ((int)outcome[0] == 1)
            {
                var revision = (long)outcome[1];
                if (changes.Count > 0)
                {
                    await WaitPublishedAsync(revision);
                }
                return new CommitResult(revision, [.. changes.Select(c => c with { Revision = revision })]);
            }
            // Another writer changed a key between our read and the script: plan again on fresh state. A
            // caller's stale ExpectedVersion then fails in the planner as a conflict.
            var raced = touched[(int)outcome[1] - 1];
            if (attempt == MaxCommitAttempts)
            {
                throw new ResourceConflictException(raced, $"{raced} kept changing under concurrent writers; gave up after {attempt} attempts");
            }
            Log.CommitRaced(_logger, raced, attempt);
        }
    }

    public ChangeSubscription Subscribe() => _feed.Subscribe();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync();
        // Closing the feed connection fails the pending blocking read at once instead of waiting it out.
        await _feedConnection.CloseAsync(allowCommandsToComplete: false);
        try
        {
            await _reader;
        }
        catch (OperationCanceledException)
        {
        }
        await _feedConnection.DisposeAsync();
        await _connection.CloseAsync();
        await _connection.DisposeAsync();
        _stop.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task StartFeedAsync(CancellationToken cancellationToken)
    {
        var start = (RedisResult[])(await Guard(_db.ScriptEvaluateAsync(FeedStartScript, [_revisionKey, _streamKey]), cancellationToken))!;
        var lastId = (string)start[0]!;
        var lastRevision = long.Parse((string)start[1]!, CultureInfo.InvariantCulture);
        _published = lastRevision;
        _reader = Task.Run(() => FollowFeedAsync(lastId, lastRevision, _stop.Token), CancellationToken.None);
    }

    /// <summary>Turns stream entries into local change events, in stream order, until the store is disposed.</summary>
    private async Task FollowFeedAsync(string lastId, long lastRevision, CancellationToken cancellationToken)
    {
        var db = _feedConnection.GetDatabase();
        var blockMs = (long)_options.FeedBlockTime.TotalMilliseconds;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var result = await db.ExecuteAsync("XREAD", new object[] { "COUNT", FeedBatch, "BLOCK", blockMs, "STREAMS", _streamKey, lastId });
                if (result.IsNull)
                {
                    continue;
                }
                var streams = (RedisResult[])result!;
                // RESP3 answers with a map {key: entries}; RESP2 with [[key, entries]].
                var entries = result.Resp3Type == ResultType.Map
                    ? (RedisResult[])streams[1]!
                    : (RedisResult[])((RedisResult[])streams[0]!)[1]!;
                var changes = new List<ResourceChange>(entries.Length + 1);
                foreach (var entry in entries)
                {
                    var parts = (RedisResult[])entry!;
                    lastId = (string)parts[0]!;
                    ResourceChange change;
                    try
                    {
                        change = ToChange((RedisResult[])parts[1]!);
                    }
                    catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException or ArgumentException)
                    {
                        // Not ours, or damaged: say something was missed rather than drop it silently.
                        Log.FeedEntryInvalid(_logger, Endpoint, lastId, e.Message);
                        changes.Add(ResourceChange.Reset(lastRevision));
                        continue;
                    }
                    // Revisions step by one per commit. Anything else means entries were trimmed before we
                    // read them (or the data was replaced): subscribers must rebuild from a fresh read.
                    if (change.Revision != lastRevision && change.Revision != lastRevision + 1)
                    {
                        Log.FeedGap(_logger, Endpoint, lastRevision, change.Revision);
                        changes.Add(ResourceChange.Reset(change.Revision));
                    }
                    lastRevision = change.Revision;
                    changes.Add(change);
                }
                _feed.Publish(changes);
                if (lastRevision > Volatile.Read(ref _published))
                {
                    Volatile.Write(ref _published, lastRevision);
                    Interlocked.Exchange(ref _publishedSignal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                }
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.FeedReadFailed(_logger, Endpoint, e.Message, e);
                try
                {
                    await Task.Delay(_options.FeedRetryDelay, _timeProvider, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Waits until this instance's feed reader has published <paramref name="revision"/>, so that, as with
    /// the other stores, a local commit's events are out before it returns and a later Subscribe() does not
    /// see them. The commit is already durable: on a stalled reader this gives up quietly after a bound, and
    /// it ignores the caller's cancellation so a cancelled caller is not told a committed write failed.
    /// </summary>
    private async Task WaitPublishedAsync(long revision)
    {
        using var limit = new CancellationTokenSource(FeedCatchUpLimit, _timeProvider);
        while (Volatile.Read(ref _published) < revision)
        {
            var signal = Volatile.Read(ref _publishedSignal);
            if (Volatile.Read(ref _published) >= revision)
            {
                return;
            }
            try
            {
                await signal.Task.WaitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                Log.FeedLagging(_logger, Endpoint, revision);
                return;
            }
        }
    }

    /// <summary>
    /// Reads a page with ordinary commands between two reads of the revision counter; every commit bumps it
    /// in the same script that writes, so equal readings mean nothing was committed in between and the page
    /// is a consistent snapshot. Returns null when a commit got in the way.
    /// </summary>
    private async Task<ResourcePage?> TryListAsync(ResourceQuery query, string? afterMember)
    {
        var index = IndexKey(query.Type);
        RedisValue meshLow = query.Mesh is null ? RedisValue.Null : query.Mesh + "\n";
        // '\v' is the byte after '\n': the exclusive end of every member of this mesh.
        RedisValue high = query.Mesh is null ? RedisValue.Null : query.Mesh + "\v";
        var highExclude = query.Mesh is null ? Exclude.None : Exclude.Stop;
        var before = _db.StringGetAsync(_revisionKey);
        Task<long>? totalTask = null;
        Task<RedisValue[]> membersTask;
        var filtered = query.Labels is { Count: > 0 };
        if (filtered)
        {
            // A label filter needs every resource of the range to count the matches.
            membersTask = _db.SortedSetRangeByValueAsync(index, meshLow, high, highExclude);
        }
        else
        {
            totalTask = _db.SortedSetLengthByValueAsync(index, meshLow, high, highExclude);
            var low = meshLow;
            var lowExclude = Exclude.None;
            if (afterMember is not null && (query.Mesh is null || string.CompareOrdinal(afterMember, query.Mesh + "\n") >= 0))
            {
                low = afterMember;
                lowExclude = Exclude.Start;
            }
            membersTask = _db.SortedSetRangeByValueAsync(index, low, high, lowExclude | highExclude, Order.Ascending, 0, query.Limit > 0 ? (long)query.Limit + 1 : -1);
        }
        var members = await membersTask;
        var reads = new Task<RedisValue[]>[members.Length];
        for (var i = 0; i < members.Length; i++)
        {
            reads[i] = _db.HashGetAsync(HashKeyOfMember(query.Type, members[i]!), Fields);
        }
        // Sent after the reads on the same connection, so Redis runs it after them.
        var afterRead = _db.StringGetAsync(_revisionKey);
        await Task.WhenAll(reads);
        if (await before != await afterRead)
        {
            return null;
        }
        var items = new List<Resource>(members.Length);
        for (var i = 0; i < members.Length; i++)
        {
            var (mesh, name) = SplitMember(members[i]!);
            // An index entry without its hash only happens when keys are edited behind the store: skip it,
            // as the script does.
            if (ToResource(new ResourceKey(query.Type, mesh, name), reads[i].Result) is { } r)
            {
                items.Add(r);
            }
        }
        return filtered ? PageToken.Page(items, query) : ToPage(items, (int)await totalTask!, query.Limit);
    }

    private async Task<ResourcePage> ListInScriptAsync(ResourceQuery query, string? afterMember, CancellationToken cancellationToken)
    {
        var meshLow = query.Mesh is null ? "-" : $"[{query.Mesh}\n";
        var high = query.Mesh is null ? "+" : $"({query.Mesh}\v";
        var low = meshLow;
        var skipTo = "";
        if (afterMember is not null)
        {
            skipTo = "[" + afterMember;
            if (query.Mesh is null || string.CompareOrdinal(afterMember, query.Mesh + "\n") >= 0)
            {
                low = "(" + afterMember;
            }
        }
        var args = new List<RedisValue> { $"{_prefix}r:{query.Type}:", low, high, meshLow, skipTo, Math.Max(0, query.Limit) };
        foreach (var (k, v) in query.Labels ?? ImmutableDictionary<string, string>.Empty)
        {
            args.Add(k);
            args.Add(v);
        }
        var result = await Guard(_db.ScriptEvaluateAsync(ListScript, [IndexKey(query.Type)], [.. args]), cancellationToken);
        var parts = (RedisResult[])result!;
        var items = new List<Resource>((parts.Length - 1) / 2);
        for (var i = 1; i + 1 < parts.Length; i += 2)
        {
            var (mesh, name) = SplitMember((string)parts[i]!);
            if (ToResource(new ResourceKey(query.Type, mesh, name), (RedisValue[])parts[i + 1]!) is { } r)
            {
                items.Add(r);
            }
        }
        return ToPage(items, (int)parts[0], query.Limit);
    }

    /// <summary>Items holds up to limit + 1 resources: the extra one only says that another page follows.</summary>
    private static ResourcePage ToPage(List<Resource> items, int total, int limit)
    {
        string? next = null;
        if (limit > 0 && items.Count > limit)
        {
            items.RemoveAt(items.Count - 1);
            next = PageToken.Encode(items[^1].Mesh, items[^1].Name);
        }
        return new ResourcePage(items, total, next);
    }

    private (RedisKey[] Keys, RedisValue[] Args) BuildCommit(List<ResourceKey> touched, Dictionary<ResourceKey, Resource?> current, IReadOnlyList<ResourceChange> changes)
    {
        var keys = new List<RedisKey>(touched.Count + 4) { _revisionKey, _streamKey };
        var keyIndex = new Dictionary<ResourceKey, int>(touched.Count);
        var args = new List<RedisValue>(2 + touched.Count + (changes.Count * 14)) { touched.Count, _options.FeedMaxLength };
        foreach (var key in touched)
        {
            keys.Add(HashKey(key));
            keyIndex[key] = keys.Count; // Lua is 1-based
            args.Add(current[key]?.Version ?? 0);
        }
        var indexKeys = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var change in changes)
        {
            if (!indexKeys.TryGetValue(change.Key.Type, out var index))
            {
                keys.Add(IndexKey(change.Key.Type));
                index = indexKeys[change.Key.Type] = keys.Count;
            }
            var r = change.Resource!;
            args.Add(change.Kind.ToString());
            args.Add(keyIndex[change.Key]);
            args.Add(index);
            args.Add(Member(r.Mesh, r.Name));
            args.Add(r.Type);
            args.Add(r.Mesh);
            args.Add(r.Name);
            args.Add(r.Version);
            args.Add(r.CreationTime.UtcTicks);
            args.Add(r.ModificationTime.UtcTicks);
            args.Add(LabelsJson.Serialize(r.Labels));
            args.Add(r.Spec);
            args.Add(r.Status is null ? 0 : 1);
            args.Add(r.Status ?? "");
        }
        return ([.. keys], [.. args]);
    }

    private static ResourceChange ToChange(RedisResult[] fieldsAndValues)
    {
        string? type = null, mesh = null, name = null, kind = null, labels = null, spec = null, status = null;
        long revision = 0, version = 0, ctime = 0, mtime = 0;
        for (var i = 0; i + 1 < fieldsAndValues.Length; i += 2)
        {
            var value = (string)fieldsAndValues[i + 1]!;
            switch ((string)fieldsAndValues[i]!)
            {
                case "rev": revision = long.Parse(value!, CultureInfo.InvariantCulture); break;
                case "kind": kind = value; break;
                case "type": type = value; break;
                case "mesh": mesh = value; break;
                case "name": name = value; break;
                case "version": version = long.Parse(value!, CultureInfo.InvariantCulture); break;
                case "ctime": ctime = long.Parse(value!, CultureInfo.InvariantCulture); break;
                case "mtime": mtime = long.Parse(value!, CultureInfo.InvariantCulture); break;
                case "labels": labels = value; break;
                case "spec": spec = value; break;
                case "status": status = value; break;
                default: break;
            }
        }
        var key = new ResourceKey(
            type ?? throw new FormatException("change stream entry without a type"),
            mesh ?? "",
            name ?? throw new FormatException("change stream entry without a name"));
        var resource = new Resource(key, spec ?? "{}", LabelsJson.Parse(labels ?? LabelsJson.Empty), status)
        {
            Version = version,
            CreationTime = new DateTimeOffset(ctime, TimeSpan.Zero),
            ModificationTime = new DateTimeOffset(mtime, TimeSpan.Zero),
        };
        return new ResourceChange(revision, Enum.Parse<ChangeKind>(kind ?? throw new FormatException("change stream entry without a kind")), key, resource);
    }

    /// <summary>Reads the <see cref="Fields"/> of one hash; null when the resource does not exist.</summary>
    private static Resource? ToResource(ResourceKey key, RedisValue[] values)
    {
        if (values[0].IsNull)
        {
            return null;
        }
        return new Resource(key, (string)values[4]!, LabelsJson.Parse((string)values[3]!), values[5].IsNull ? null : (string)values[5]!)
        {
            Version = (long)values[0],
            CreationTime = new DateTimeOffset((long)values[1], TimeSpan.Zero),
            ModificationTime = new DateTimeOffset((long)values[2], TimeSpan.Zero),
        };
    }

    private RedisKey HashKey(ResourceKey key) => $"{_prefix}r:{key.Type}:{key.Mesh}:{key.Name}";

    private RedisKey IndexKey(string type) => $"{_prefix}i:{type}";

    private RedisKey HashKeyOfMember(string type, string member)
    {
        var (mesh, name) = SplitMember(member);
        return $"{_prefix}r:{type}:{mesh}:{name}";
    }

    // '\n' sorts below every character a mesh name may hold, so the byte order of members is (mesh, name) order.
    private static string Member(string mesh, string name) => $"{mesh}\n{name}";

    private static (string Mesh, string Name) SplitMember(string member)
    {
        var nl = member.IndexOf('\n', StringComparison.Ordinal);
        return (member[..nl], member[(nl + 1)..]);
    }

    /// <summary>Awaits a Redis call, turning connection failures into errors that name the endpoint.</summary>
    private async Task<T> Guard<T>(Task<T> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            throw Unavailable(e);
        }
    }

    private StoreUnavailableException Unavailable(Exception e) => new($"Redis at {Endpoint} is unavailable: {e.Message}", e);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "RedisFeedReadFailed", Level = LogLevel.Warning, Message = "Reading the change stream from Redis at {Endpoint} failed: {Reason}; retrying")]
        public static partial void FeedReadFailed(ILogger logger, string endpoint, string reason, Exception exception);

        [LoggerMessage(EventId = 2, EventName = "RedisFeedGap", Level = LogLevel.Warning, Message = "Change stream from Redis at {Endpoint} skipped from revision {Last} to {Next}; subscribers reset")]
        public static partial void FeedGap(ILogger logger, string endpoint, long last, long next);

        [LoggerMessage(EventId = 3, EventName = "RedisCommitRaced", Level = LogLevel.Debug, Message = "Commit raced another writer on {Key} (attempt {Attempt}); replanning")]
        public static partial void CommitRaced(ILogger logger, ResourceKey key, int attempt);

        [LoggerMessage(EventId = 4, EventName = "RedisFeedLagging", Level = LogLevel.Warning, Message = "Commit of revision {Revision} has not come back through the change stream from Redis at {Endpoint} yet; returning without waiting further")]
        public static partial void FeedLagging(ILogger logger, string endpoint, long revision);

        [LoggerMessage(EventId = 5, EventName = "RedisFeedEntryInvalid", Level = LogLevel.Error, Message = "Change stream entry {Id} from Redis at {Endpoint} is not a change this store wrote ({Reason}); subscribers reset")]
        public static partial void FeedEntryInvalid(ILogger logger, string endpoint, string id, string reason);
    }
}
