using Federation.Stores;

namespace Federation.Hosting;

/// <summary>Where a control plane keeps its resources.</summary>
public sealed class StoreOptions
{
    /// <summary>sqlite (default, durable, embedded), memory (throwaway) or redis (shared by replicas).</summary>
    public string Store { get; set; } = "sqlite";

    /// <summary>StackExchange.Redis connection string, for <c>--store redis</c>.</summary>
    public string? Redis { get; set; }

    /// <summary>Where the sqlite file, the admin token and key material live.</summary>
    public string DataDir { get; set; } = "data";

    public IEnumerable<string> Validate()
    {
        if (Store is not ("sqlite" or "memory" or "redis"))
        {
            yield return $"--store must be sqlite, memory or redis (got '{Store}')";
        }
        if (Store == "redis" && string.IsNullOrWhiteSpace(Redis))
        {
            yield return "--store redis needs --redis <connection string>, e.g. --redis 127.0.0.1:6379";
        }
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            yield return "--data-dir must not be empty";
        }
    }
}

/// <summary>Creates the configured store.</summary>
public static class StoreFactory
{
    public const string SqliteFileName = "federation.db";

    public static IResourceStore Create(StoreOptions options, TimeProvider timeProvider, Microsoft.Extensions.Logging.ILoggerFactory? loggers = null)
    {
        switch (options.Store)
        {
            case "memory":
                return new MemoryStore(timeProvider);
            case "sqlite":
                Directory.CreateDirectory(options.DataDir);
                return new SqliteStore(Path.Combine(options.DataDir, SqliteFileName), timeProvider);
            case "redis":
                // Start-up only: the process cannot serve anything before its store is there.
                return RedisStore.ConnectAsync(
                    new RedisStoreOptions { Configuration = options.Redis! },
                    timeProvider,
                    loggers is null ? null : Microsoft.Extensions.Logging.LoggerFactoryExtensions.CreateLogger<RedisStore>(loggers)).GetAwaiter().GetResult();
            default:
                throw new InvalidOperationException($"unknown store '{options.Store}'");
        }
    }
}
