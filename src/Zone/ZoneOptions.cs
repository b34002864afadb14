using Federation.Hosting;
using Federation.Validation;

namespace Federation.Zone;

/// <summary>Settings of a zone control plane (section <c>Federation</c>; flags, environment or appsettings).</summary>
public sealed class ZoneOptions
{
    public const string Section = "Federation";

    /// <summary>The zone's name: a DNS label, unique in the federation.</summary>
    public string Zone { get; set; } = "default";

    public string BindAddress { get; set; } = "127.0.0.1";

    public int ApiPort { get; set; } = 5681;

    public int XdsPort { get; set; } = 5678;

    public int DnsPort { get; set; } = 5653;

    public string DataDir { get; set; } = Path.Combine("data", "zone");

    public string Store { get; set; } = "sqlite";

    public string? Redis { get; set; }

    /// <summary>The global's KDS address (https://host:5685); the zone runs standalone without it.</summary>
    public string? GlobalAddress { get; set; }

    public string? ZoneTokenFile { get; set; }

    /// <summary>CA certificate (PEM) that signed the global's KDS server certificate.</summary>
    public string? KdsCaFile { get; set; }

    /// <summary>Largest KDS message, in bytes.</summary>
    public int KdsMaxMessageBytes { get; set; } = Federation.Kds.Streams.KdsStreamOptions.DefaultMaxMessageBytes;

    /// <summary>First reconnect delay to the global (doubles, with jitter, up to the maximum).</summary>
    public double KdsBackoffMinSeconds { get; set; } = 1;

    public double KdsBackoffMaxSeconds { get; set; } = 30;

    /// <summary>Changes arriving within this many milliseconds are turned into one round of config generation.</summary>
    public int XdsBatchWindowMs { get; set; } = 10;

    /// <summary>
    /// Serialized xDS responses, in KiB, all streams together may have in the transport's buffers at once (see
    /// <see cref="Xds.Server.AdsWriteBudget"/>): bounds the memory of a burst such as every proxy connecting at once.
    /// </summary>
    public int XdsWriteBudgetKb { get; set; } = (int)(Xds.Server.AdsWriteBudget.DefaultBytes / 1024);

    /// <summary>How proxies authenticate to xDS: <c>dpToken</c> (default) or <c>none</c>.</summary>
    public string DpAuth { get; set; } = "dpToken";

    /// <summary>How often proxy insights (ACKs, NACKs, versions) are written.</summary>
    public int InsightFlushIntervalMs { get; set; } = 1000;

    /// <summary>An ingress with no xDS stream for this long stops advertising services (other zones stop routing to it).</summary>
    public double IngressHealthTimeoutSeconds { get; set; } = 10;

    public bool Federated => !string.IsNullOrEmpty(GlobalAddress);

    public StoreOptions ToStoreOptions() => new() { Store = Store, Redis = Redis, DataDir = DataDir };

    public static readonly IReadOnlyList<HostFlag> Flags =
    [
        new("--zone", $"{Section}:Zone", "name of this zone (a DNS label, unique in the federation)", "default"),
        new("--api-port", $"{Section}:ApiPort", "HTTP API port", "5681"),
        new("--xds-port", $"{Section}:XdsPort", "xDS gRPC port for proxies", "5678"),
        new("--dns-port", $"{Section}:DnsPort", "DNS port (UDP) for <service>.<mesh>.mesh", "5653"),
        new("--data-dir", $"{Section}:DataDir", "directory for the sqlite store, the admin token and key material", "./data/zone"),
        new("--store", $"{Section}:Store", "resource store: sqlite, memory or redis", "sqlite"),
        new("--redis", $"{Section}:Redis", "Redis connection string for --store redis"),
        new("--global-address", $"{Section}:GlobalAddress", "the global control plane's KDS address, e.g. https://127.0.0.1:5685 (standalone when omitted)"),
        new("--zone-token-file", $"{Section}:ZoneTokenFile", "file holding the zone token issued by the global"),
        new("--kds-ca-file", $"{Section}:KdsCaFile", "CA certificate (PEM) of the global's KDS server"),
        new("--bind-address", $"{Section}:BindAddress", "address to listen on", "127.0.0.1"),
        new("--dp-auth", $"{Section}:DpAuth", "proxy authentication on xDS: dpToken or none", "dpToken"),
        new("--ingress-health-timeout", $"{Section}:IngressHealthTimeoutSeconds", "seconds without an xDS stream before an ingress is withdrawn", "10"),
        new("--xds-write-budget-kb", $"{Section}:XdsWriteBudgetKb", "KiB of serialized xDS responses all streams may have in transport buffers at once", "1024"),
        new("--kds-max-message-bytes", $"{Section}:KdsMaxMessageBytes", "largest KDS message in bytes", "33554432"),
        new("--kds-backoff-min", $"{Section}:KdsBackoffMinSeconds", "first reconnect delay to the global, in seconds", "1"),
        new("--kds-backoff-max", $"{Section}:KdsBackoffMaxSeconds", "longest reconnect delay to the global, in seconds", "30"),
    ];

    public IEnumerable<string> Validate()
    {
        foreach (var problem in ToStoreOptions().Validate())
        {
            yield return problem;
        }
        if (Names.CheckDnsLabelName(Zone) is { } zoneProblem)
        {
            yield return $"--zone: {zoneProblem}";
        }
        foreach (var (name, port) in new[] { ("--api-port", ApiPort), ("--xds-port", XdsPort), ("--dns-port", DnsPort) })
        {
            if (port is < 0 or > 65535)
            {
                yield return $"{name} must be between 0 and 65535 (got {port})";
            }
        }
        if (!System.Net.IPAddress.TryParse(BindAddress, out _))
        {
            yield return $"--bind-address must be an IP address (got '{BindAddress}')";
        }
        if (DpAuth is not ("dpToken" or "none"))
        {
            yield return $"--dp-auth must be dpToken or none (got '{DpAuth}')";
        }
        if (XdsWriteBudgetKb <= 0)
        {
            yield return $"--xds-write-budget-kb must be positive (got {XdsWriteBudgetKb})";
        }
        if (KdsBackoffMinSeconds <= 0 || KdsBackoffMaxSeconds < KdsBackoffMinSeconds)
        {
            yield return $"--kds-backoff-min ({KdsBackoffMinSeconds}) must be positive and at most --kds-backoff-max ({KdsBackoffMaxSeconds})";
        }
        if (Federated)
        {
            if (!Uri.TryCreate(GlobalAddress, UriKind.Absolute, out var uri) || uri.Scheme != "https")
            {
                yield return $"--global-address must be an https:// URL such as https://127.0.0.1:5685 (got '{GlobalAddress}')";
            }
            if (string.IsNullOrEmpty(ZoneTokenFile))
            {
                yield return "--global-address needs --zone-token-file (generate one on the global: fedctl generate zone-token --zone <name>)";
            }
            else if (!File.Exists(ZoneTokenFile))
            {
                yield return $"--zone-token-file: {ZoneTokenFile} does not exist";
            }
            if (!string.IsNullOrEmpty(KdsCaFile) && !File.Exists(KdsCaFile))
            {
                yield return $"--kds-ca-file: {KdsCaFile} does not exist";
            }
        }
    }
}
