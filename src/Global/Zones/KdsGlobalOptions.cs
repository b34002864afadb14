namespace Federation.Global.Zones;

/// <summary>Timers of the global's side of KDS.</summary>
public sealed class KdsGlobalOptions
{
    /// <summary>How often zones must call HealthCheck (told to them in each answer).</summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A zone whose last health check is older than this is Offline.</summary>
    public TimeSpan OfflineTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Counters reach the stored ZoneInsight at most this often.</summary>
    public TimeSpan InsightFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many past subscriptions a ZoneInsight keeps.</summary>
    public int SubscriptionHistory { get; set; } = 5;
}
