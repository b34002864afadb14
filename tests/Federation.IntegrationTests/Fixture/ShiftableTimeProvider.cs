namespace Federation.IntegrationTests.Fixture;

/// <summary>
/// The system clock plus an offset a test can move (e.g. past a token's expiry). Timers and delays stay real,
/// so a control plane keeps running normally; only "what time is it" jumps.
/// </summary>
public sealed class ShiftableTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
}
