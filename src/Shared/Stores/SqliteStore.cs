using System.Collections.Concurrent;
using System.Text;
using Federation.Resources;
using Microsoft.Data.Sqlite;

namespace Federation.Stores;

/// <summary>
/// The default durable store: one SQLite file in WAL mode. One writer at a time (a semaphore around a
/// dedicated connection, one SQL transaction per batch); readers use their own pooled connections and read
/// a WAL snapshot, so they never wait for a writer.
/// </summary>
/// <remarks>
/// Durability is <c>synchronous=FULL</c>: every commit fsyncs the WAL before <see cref="CommitAsync"/>
/// returns, so a write the API acknowledged (and KDS may already have sent to zones) survives a power cut,
/// not only a process crash. Control-plane writes are few; an fsync per batch is a price worth paying.
/// One process owns a file at a time (a lock file beside it), since the change feed is in-process.
/// </remarks>
public sealed class SqliteStore : IResourceStore, IDisposable, IAsyncDisposable
{
    /// <summary>The schema this build writes; files with a newer one are refused rather than misread.</summary>
    internal const int SchemaVersion = 1;

    // Index i upgrades a file from user_version i to i + 1.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE resources (
            type   TEXT    NOT NULL,
            mesh   TEXT    NOT NULL,
            name   TEXT    NOT NULL,
            labels TEXT    NOT NULL,
            spec   TEXT    NOT NULL,
            status TEXT,
            version INTEGER NOT NULL,
            ctime  INTEGER NOT NULL,
            mtime  INTEGER NOT NULL,
            PRIMARY KEY (type, mesh, name)
        ) WITHOUT ROWID;
        CREATE TABLE store_revision (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            revision INTEGER NOT NULL
        );
        INSERT INTO store_revision (id, revision) VALUES (1, 0);
        """,
    ];

    private const string Columns = "labels, spec, status, version, ctime, mtime";

    private readonly TimeProvider _timeProvider;
    private readonly string _connectionString;
    private readonly FileStream _ownerLock;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ChangeFeedHub _feed = new();
    private readonly ConcurrentBag<ReadConnection> _readers = [];
    private readonly SqliteConnection _writer;
    private readonly SqliteCommand _selectForWrite;
    private readonly SqliteCommand _upsert;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _setRevision;
    private long _revision;
    private volatile bool _disposed;

    /// <param name="path">The database file; its directory is created when missing.</param>
    /// <param name="timeProvider">The clock that stamps creation and modification times.</param>
    public SqliteStore(string path, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _timeProvider = timeProvider;
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _ownerLock = AcquireOwnerLock(Path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        try
        {
            _writer = Open(readOnly: false);
            Migrate(_writer, Path);
            _revision = (long)Scalar(_writer, "SELECT revision FROM store_revision WHERE id = 1")!;
            _selectForWrite = Prepare(_writer, $"SELECT {Columns} FROM resources WHERE type = $type AND mesh = $mesh AND name = $name", "$type", "$mesh", "$name");
            _upsert = Prepare(
                _writer,
                """
                INSERT INTO resources (type, mesh, name, labels, spec, status, version, ctime, mtime)
                VALUES ($type, $mesh, $name, $labels, $spec, $status, $version, $ctime, $mtime)
                ON CONFLICT (type, mesh, name) DO UPDATE SET
                    labels = excluded.labels, spec = excluded.spec, status = excluded.status,
                    version = excluded.version, ctime = excluded.ctime, mtime = excluded.mtime
                """,
                "$type", "$mesh", "$name", "$labels", "$spec", "$status", "$version", "$ctime", "$mtime");
            _delete = Prepare(_writer, "DELETE FROM resources WHERE type = $type AND mesh = $mesh AND name = $name", "$type", "$mesh", "$name");
            _setRevision = Prepare(_writer, "UPDATE store_revision SET revision = $revision WHERE id = 1", "$revision");
        }
        catch
        {
            _writer?.Dispose();
            _ownerLock.Dispose();
            throw;
        }
    }

    public SqliteStore(string path)
        : this(path, TimeProvider.System)
    {
    }

    public string Kind => "sqlite";

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    public ValueTask<Resource?> GetAsync(ResourceKey key, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reader = RentReader();
        try
        {
            return ValueTask.FromResult(reader.Get(key));
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    public ValueTask<ResourcePage> ListAsync(ResourceQuery query, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var after = PageToken.Parse(query.After);
        var reader = RentReader();
        try
        {
            return ValueTask.FromResult(reader.List(query, after));
        }
        finally
        {
            ReturnReader(reader);
        }
    }

    public async ValueTask<CommitResult> CommitAsync(IReadOnlyList<ResourceWrite> writes, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // BEGIN IMMEDIATE: the write lock is taken up front, so what we read is what we overwrite.
            using var tx = _writer.BeginTransaction(deferred: false);
            var current = new Dictionary<ResourceKey, Resource?>();
            foreach (var write in writes)
            {
                if (!current.ContainsKey(write.Key))
                {
                    current[write.Key] = ReadForWrite(tx, write.Key);
                }
            }
            var revision = _revision + 1;
            var changes = CommitPlanner.Plan(writes, current, _timeProvider.GetUtcNow(), revision);
            if (changes.Count == 0)
            {
                tx.Rollback();
                return new CommitResult(_revision, []);
            }
            foreach (var change in changes)
            {
                if (change.Kind == ChangeKind.Deleted)
                {
                    Execute(_delete, tx, change.Key.Type, change.Key.Mesh, change.Key.Name);
                }
                else
                {
                    var r = change.Resource!;
                    Execute(
                        _upsert,
                        tx,
                        r.Type,
                        r.Mesh,
                        r.Name,
                        LabelsJson.Serialize(r.Labels),
                        r.Spec,
                        r.Status,
                        r.Version,
                        r.CreationTime.UtcTicks,
                        r.ModificationTime.UtcTicks);
                }
            }
            Execute(_setRevision, tx, revision);
            tx.Commit();
            _revision = revision;
            // Still under the writer lock: subscribers see commits in commit order.
            _feed.Publish(changes);
            return new CommitResult(revision, changes);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ChangeSubscription Subscribe() => _feed.Subscribe();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _writeLock.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            while (_readers.TryTake(out var reader))
            {
                reader.Dispose();
            }
            _selectForWrite.Dispose();
            _upsert.Dispose();
            _delete.Dispose();
            _setRevision.Dispose();
            // Closing the last connection checkpoints the WAL into the main file.
            _writer.Dispose();
            _ownerLock.Dispose();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static FileStream AcquireOwnerLock(string path)
    {
        try
        {
            return new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e)
        {
            throw new IOException($"the store file {path} is in use by another process or store instance ({e.Message})", e);
        }
    }

    private SqliteConnection Open(bool readOnly)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            NonQuery(connection, readOnly
                ? "PRAGMA query_only = ON;"
                : "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void Migrate(SqliteConnection connection, string path)
    {
        var version = (int)(long)Scalar(connection, "PRAGMA user_version")!;
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"{path} has schema version {version}, but this build only knows up to {SchemaVersion}: it was written by a newer Federation");
        }
        for (; version < SchemaVersion; version++)
        {
            using var tx = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = $"{Migrations[version]}\nPRAGMA user_version = {version + 1};";
            command.ExecuteNonQuery();
            tx.Commit();
        }
    }

    private Resource? ReadForWrite(SqliteTransaction tx, ResourceKey key)
    {
        _selectForWrite.Transaction = tx;
        _selectForWrite.Parameters[0].Value = key.Type;
        _selectForWrite.Parameters[1].Value = key.Mesh;
        _selectForWrite.Parameters[2].Value = key.Name;
        using var reader = _selectForWrite.ExecuteReader();
        return reader.Read() ? ReadResource(reader, key, 0) : null;
    }

    /// <summary>Reads the <see cref="Columns"/> starting at <paramref name="first"/>.</summary>
    private static Resource ReadResource(SqliteDataReader reader, ResourceKey key, int first) =>
        new(key, reader.GetString(first + 1), LabelsJson.Parse(reader.GetString(first)), reader.IsDBNull(first + 2) ? null : reader.GetString(first + 2))
        {
            Version = reader.GetInt64(first + 3),
            CreationTime = new DateTimeOffset(reader.GetInt64(first + 4), TimeSpan.Zero),
            ModificationTime = new DateTimeOffset(reader.GetInt64(first + 5), TimeSpan.Zero),
        };

    private ReadConnection RentReader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _readers.TryTake(out var reader) ? reader : new ReadConnection(Open(readOnly: true));
    }

    private void ReturnReader(ReadConnection reader)
    {
        _readers.Add(reader);
        // Dispose may have drained the pool while this reader was out.
        if (_disposed && _readers.TryTake(out var late))
        {
            late.Dispose();
        }
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = p });
        }
        return command;
    }

    private static void Execute(SqliteCommand command, SqliteTransaction tx, params object?[] values)
    {
        command.Transaction = tx;
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void NonQuery(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A pooled read-only connection with its point-read statement kept prepared.</summary>
    private sealed class ReadConnection(SqliteConnection connection) : IDisposable
    {
        private SqliteCommand? _get;

        public Resource? Get(ResourceKey key)
        {
            _get ??= Prepare(connection, $"SELECT {Columns} FROM resources WHERE type = $type AND mesh = $mesh AND name = $name", "$type", "$mesh", "$name");
            _get.Parameters[0].Value = key.Type;
            _get.Parameters[1].Value = key.Mesh;
            _get.Parameters[2].Value = key.Name;
            using var reader = _get.ExecuteReader();
            return reader.Read() ? ReadResource(reader, key, 0) : null;
        }

        public ResourcePage List(ResourceQuery query, (string Mesh, string Name)? after)
        {
            using var command = connection.CreateCommand();
            var where = new StringBuilder("FROM resources WHERE type = $type");
            command.Parameters.AddWithValue("$type", query.Type);
            if (query.Mesh is not null)
            {
                where.Append(" AND mesh = $mesh");
                command.Parameters.AddWithValue("$mesh", query.Mesh);
            }
            if (query.Labels is not null)
            {
                var i = 0;
                foreach (var (k, v) in query.Labels)
                {
                    // json_each rather than a json path: any label key works, quotes and all.
                    where.Append(System.Globalization.CultureInfo.InvariantCulture, $" AND EXISTS (SELECT 1 FROM json_each(resources.labels) WHERE key = $lk{i} AND value = $lv{i})");
                    command.Parameters.AddWithValue($"$lk{i}", k);
                    command.Parameters.AddWithValue($"$lv{i}", v);
                    i++;
                }
            }
            var filter = where.ToString();
            var select = new StringBuilder($"SELECT mesh, name, {Columns} ").Append(filter);
            if (after is { } a)
            {
                select.Append(" AND (mesh, name) > ($afterMesh, $afterName)");
                command.Parameters.AddWithValue("$afterMesh", a.Mesh);
                command.Parameters.AddWithValue("$afterName", a.Name);
            }
            select.Append(" ORDER BY mesh, name");
            if (query.Limit > 0)
            {
                // One extra row tells whether another page follows.
                select.Append(" LIMIT $limit");
                command.Parameters.AddWithValue("$limit", (long)query.Limit + 1);
            }

            // Count and page in one read transaction: both see the same snapshot.
            using var tx = connection.BeginTransaction(deferred: true);
            command.Transaction = tx;
            command.CommandText = select.ToString();
            var items = new List<Resource>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    items.Add(ReadResource(reader, new ResourceKey(query.Type, reader.GetString(0), reader.GetString(1)), 2));
                }
            }
            string? next = null;
            if (query.Limit > 0 && items.Count > query.Limit)
            {
                items.RemoveAt(items.Count - 1);
                next = PageToken.Encode(items[^1].Mesh, items[^1].Name);
            }
            int total;
            if (after is null && next is null)
            {
                total = items.Count;
            }
            else
            {
                command.CommandText = "SELECT count(*) " + filter;
                total = (int)(long)command.ExecuteScalar()!;
            }
            tx.Commit();
            return new ResourcePage(items, total, next);
        }

        public void Dispose()
        {
            _get?.Dispose();
            connection.Dispose();
        }
    }
}
