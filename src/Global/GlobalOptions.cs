using Federation.Hosting;

namespace Federation.Global;

/// <summary>Settings of the global control plane (section <c>Federation</c>; flags, environment or appsettings).</summary>
public sealed class GlobalOptions
{
    public const string Section = "Federation";

    /// <summary>Address every listener binds to.</summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    public int ApiPort { get; set; } = 5681;

    public int KdsPort { get; set; } = 5685;

    public string DataDir { get; set; } = Path.Combine("data", "global");

    public string Store { get; set; } = "sqlite";

    public string? Redis { get; set; }

    /// <summary>KDS server certificate (PEM); generated into the data directory when not given.</summary>
    public string? KdsTlsCert { get; set; }

    public string? KdsTlsKey { get; set; }

    /// <summary>Extra names (DNS or IP, comma-separated) for the generated KDS certificate.</summary>
    public string? KdsTlsSans { get; set; }

    /// <summary>Largest KDS message, in bytes.</summary>
    public int KdsMaxMessageBytes { get; set; } = Federation.Kds.Streams.KdsStreamOptions.DefaultMaxMessageBytes;

    public double HealthCheckIntervalSeconds { get; set; } = 5;

    public double OfflineTimeoutSeconds { get; set; } = 15;

    public StoreOptions ToStoreOptions() => new() { Store = Store, Redis = Redis, DataDir = DataDir };

    public static readonly IReadOnlyList<HostFlag> Flags =
    [
        new("--api-port", $"{Section}:ApiPort", "HTTP API port (REST, /metrics)", "5681"),
        new("--kds-port", $"{Section}:KdsPort", "KDS gRPC port (TLS) that zones dial", "5685"),
        new("--data-dir", $"{Section}:DataDir", "directory for the sqlite store, the admin token and key material", "./data/global"),
        new("--store", $"{Section}:Store", "resource store: sqlite, memory or redis", "sqlite"),
        new("--redis", $"{Section}:Redis", "Redis connection string for --store redis, e.g. 127.0.0.1:6379"),
        new("--bind-address", $"{Section}:BindAddress", "address to listen on", "127.0.0.1"),
        new("--kds-tls-cert", $"{Section}:KdsTlsCert", "KDS server certificate (PEM); generated with a CA in the data directory when omitted"),
        new("--kds-tls-key", $"{Section}:KdsTlsKey", "private key (PEM) of --kds-tls-cert"),
        new("--kds-tls-sans", $"{Section}:KdsTlsSans", "extra DNS names/IPs (comma-separated) for the generated KDS certificate"),
        new("--kds-max-message-bytes", $"{Section}:KdsMaxMessageBytes", "largest KDS message in bytes", "33554432"),
        new("--health-check-interval", $"{Section}:HealthCheckIntervalSeconds", "seconds between zone health checks", "5"),
        new("--offline-timeout", $"{Section}:OfflineTimeoutSeconds", "seconds without a health check before a zone is Offline", "15"),
    ];

    public IEnumerable<string> Validate()
    {
        foreach (var problem in ToStoreOptions().Validate())
        {
            yield return problem;
        }
        if (ApiPort is < 0 or > 65535)
        {
            yield return $"--api-port must be between 0 and 65535 (got {ApiPort})";
        }
        if (KdsPort is < 0 or > 65535)
        {
            yield return $"--kds-port must be between 0 and 65535 (got {KdsPort})";
        }
        if (ApiPort == KdsPort && ApiPort != 0)
        {
            yield return $"--api-port and --kds-port must differ (both {ApiPort})";
        }
        if (string.IsNullOrEmpty(KdsTlsCert) != string.IsNullOrEmpty(KdsTlsKey))
        {
            yield return "--kds-tls-cert and --kds-tls-key go together";
        }
        if (KdsMaxMessageBytes < 1024)
        {
            yield return $"--kds-max-message-bytes must be at least 1024 (got {KdsMaxMessageBytes})";
        }
        if (HealthCheckIntervalSeconds <= 0 || OfflineTimeoutSeconds <= HealthCheckIntervalSeconds)
        {
            yield return $"--offline-timeout ({OfflineTimeoutSeconds}s) must be longer than --health-check-interval ({HealthCheckIntervalSeconds}s), which must be positive";
        }
        if (!System.Net.IPAddress.TryParse(BindAddress, out _))
        {
            yield return $"--bind-address must be an IP address (got '{BindAddress}')";
        }
    }
}
