namespace Federation.Tests.Stores;

/// <summary>One redis-server for every Redis test, started once and killed at the end.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServerProcess? _server;
    private string? _error;

    /// <summary>The running server's configuration string; fails the calling test when none could be started.</summary>
    public string Configuration =>
        _server?.Configuration ?? throw new InvalidOperationException(_error ?? "redis-server was not started");

    public async ValueTask InitializeAsync()
    {
        try
        {
            _server = await RedisServerProcess.StartAsync(TimeSpan.FromSeconds(20));
        }
        catch (Exception e)
        {
            // Every Redis test then fails with this message: missing Redis is an error, never a skip.
            _error = e.Message;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisServerCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis-server";
}
