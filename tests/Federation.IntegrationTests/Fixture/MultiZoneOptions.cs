namespace Federation.IntegrationTests.Fixture;

/// <summary>How a <see cref="MultiZoneFixture"/> is built. Timers are short so failures and recoveries show within a second or two.</summary>
public sealed record MultiZoneOptions
{
    /// <summary>The store every control plane uses: memory unless <c>FEDERATION_TEST_STORE</c> says otherwise.</summary>
    public static string DefaultStoreKind { get; } = Environment.GetEnvironmentVariable("FEDERATION_TEST_STORE") is { Length: > 0 } kind ? kind : "memory";

    /// <summary>Zones started (and waited Online) with the fixture.</summary>
    public IReadOnlyList<string> Zones { get; init; } = ["zone-1", "zone-2"];

    public string StoreKind { get; init; } = DefaultStoreKind;

    public TimeSpan HealthCheckInterval { get; init; } = TimeSpan.FromSeconds(0.2);

    public TimeSpan OfflineTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan BackoffMin { get; init; } = TimeSpan.FromSeconds(0.05);

    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(0.5);

    /// <summary>The global's KDS message limit; null keeps the default.</summary>
    public int? GlobalMaxMessageBytes { get; init; }

    /// <summary>Every zone's KDS message limit; null keeps the default.</summary>
    public int? ZoneMaxMessageBytes { get; init; }

    /// <summary>How long a convergence wait may take before it fails (generous: two shared cores).</summary>
    public TimeSpan ConvergenceTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a wait polls the APIs.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(20);
}
