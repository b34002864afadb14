using Federation.Resources;
using Federation.Stores;
using Microsoft.Data.Sqlite;

namespace Federation.Tests.Stores;

public sealed class SqliteStoreContractTests : DurableResourceStoreContract
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("federation-sqlite-");

    private string FilePath => Path.Combine(_directory.FullName, "data", "federation.db");

    protected override ValueTask<IResourceStore> OpenStoreAsync() => ValueTask.FromResult<IResourceStore>(new SqliteStore(FilePath, Clock));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public void Open_NewFile_UsesWalWithFullSync()
    {
        using var connection = Raw();
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        Assert.Equal((long)SqliteStore.SchemaVersion, Scalar(connection, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Get_WhileAnotherConnectionHoldsAnOpenWrite_DoesNotBlockOrSeeIt()
    {
        var stored = await Put(Mtp("default", "stored"));
        using var writer = Raw();
        using var tx = writer.BeginTransaction(deferred: false);
        using (var insert = writer.CreateCommand())
        {
            insert.Transaction = tx;
            insert.CommandText = "INSERT INTO resources VALUES ('MeshTrafficPermission', 'default', 'uncommitted', '{}', '{}', NULL, 1, 0, 0)";
            insert.ExecuteNonQuery();
        }

        // Off the test thread, so a blocked read shows up as a timeout rather than a hang.
        var read = await Within(Task.Run(async () => await Store.GetAsync(stored.Key, Ct), Ct), "a read while a write transaction is open");
        var listed = await Within(Task.Run(async () => await Store.ListAsync(new ResourceQuery("MeshTrafficPermission"), Ct), Ct), "a list while a write transaction is open");

        AssertSame(stored, read);
        Assert.Equal(["default/stored"], Names(listed));
        tx.Rollback();
    }

    [Fact]
    public async Task Open_FileWithNewerSchema_ThrowsNamingBothVersions()
    {
        await CloseStoreAsync();
        using (var connection = Raw())
        {
            Execute(connection, "PRAGMA user_version = 99");
        }

        var e = Assert.Throws<InvalidOperationException>(() => new SqliteStore(FilePath, Clock));

        Assert.Contains("schema version 99", e.Message, StringComparison.Ordinal);
        Assert.Contains($"up to {SqliteStore.SchemaVersion}", e.Message, StringComparison.Ordinal);
        await ReopenAfterRestoringSchemaAsync();
    }

    [Fact]
    public void Open_FileAlreadyOpenByAnotherStore_ThrowsInUse()
    {
        var e = Assert.Throws<IOException>(() => new SqliteStore(FilePath, Clock));

        Assert.Contains("in use", e.Message, StringComparison.Ordinal);
    }

    private async Task ReopenAfterRestoringSchemaAsync()
    {
        using (var connection = Raw())
        {
            Execute(connection, $"PRAGMA user_version = {SqliteStore.SchemaVersion}");
        }
        await ReopenAsync();
        Assert.Null(await Get(new ResourceKey("Mesh", "", "anything")));
    }

    private SqliteConnection Raw()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = FilePath, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
