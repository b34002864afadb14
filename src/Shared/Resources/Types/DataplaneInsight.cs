namespace Federation.Resources.Types;

/// <summary>What the zone knows of a proxy's xDS connections (written by the zone, synced to the global).</summary>
public sealed record DataplaneInsightSpec
{
    public IReadOnlyList<XdsSubscription>? Subscriptions { get; init; }

    /// <summary>The workload certificate currently served, when the mesh has mTLS.</summary>
    public DataplaneCertificateInfo? MTls { get; init; }
}

/// <summary>One xDS stream of a proxy.</summary>
public sealed record XdsSubscription
{
    public required string Id { get; init; }

    public string? ControlPlaneInstanceId { get; init; }

    public DateTimeOffset ConnectTime { get; init; }

    public DateTimeOffset? DisconnectTime { get; init; }

    /// <summary>sotw or delta.</summary>
    public string? Protocol { get; init; }

    /// <summary>envoy or proxyless.</summary>
    public string? ProxyType { get; init; }

    public string? ProxyVersion { get; init; }

    /// <summary>Version of the last config generated for the proxy.</summary>
    public string? ConfigVersion { get; init; }

    public XdsSubscriptionStatus? Status { get; init; }
}

public sealed record XdsSubscriptionStatus
{
    public DateTimeOffset? LastUpdateTime { get; init; }

    public XdsCounters? Total { get; init; }

    public IReadOnlyDictionary<string, XdsCounters>? Stat { get; init; }
}

public sealed record XdsCounters
{
    public long ResponsesSent { get; init; }

    public long ResponsesAcknowledged { get; init; }

    public long ResponsesRejected { get; init; }

    public string? LastNackReason { get; init; }

    /// <summary>Version of the type the proxy last ACKed.</summary>
    public string? AckedVersion { get; init; }
}

public sealed record DataplaneCertificateInfo
{
    public DateTimeOffset? CertificateExpirationTime { get; init; }

    public DateTimeOffset? LastCertificateRegeneration { get; init; }

    public long CertificateRegenerations { get; init; }

    public string? IssuedBackend { get; init; }
}
