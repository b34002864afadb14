namespace Federation.Dataplane.ControlPlane;

/// <summary>How fed-dp's agents call their zone at start-up and on the way out, whatever proxy they run.</summary>
internal static class ZoneCalls
{
    public static readonly TimeSpan UnregisterTimeout = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan FirstStartupDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxStartupDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Start-up calls retry what may pass (the zone is starting or unreachable), backing off from 200 ms to 5 s, until
    /// <paramref name="startupTimeout"/>; anything else, or a failure past the deadline, goes to the caller.
    /// <paramref name="onRetry"/> hears of each retry once its timer is armed, so whoever reads that line (a test moving a
    /// fake clock) finds the timer counting.
    /// </summary>
    public static async Task<T> RetryStartupAsync<T>(Func<CancellationToken, Task<T>> call, TimeProvider time, TimeSpan startupTimeout,
        Action<string, TimeSpan> onRetry, CancellationToken stop)
    {
        var deadline = time.GetUtcNow() + startupTimeout;
        var delay = FirstStartupDelay;
        while (true)
        {
            try
            {
                return await call(stop);
            }
            catch (ZoneApiException e) when (e.Transient && time.GetUtcNow() + delay < deadline)
            {
                var wait = Task.Delay(delay, time, stop);
                onRetry(e.Message, delay);
                await wait;
                delay = delay * 2 < MaxStartupDelay ? delay * 2 : MaxStartupDelay;
            }
        }
    }

    /// <summary>Unregisters within <see cref="UnregisterTimeout"/>; null when it worked, else why it did not.</summary>
    public static async Task<string?> UnregisterAsync(Func<CancellationToken, Task> unregister, string what, string zoneAddress, TimeProvider time)
    {
        using var timeout = new CancellationTokenSource(UnregisterTimeout, time);
        try
        {
            await unregister(timeout.Token);
            return null;
        }
        catch (ZoneApiException e)
        {
            return e.Message;
        }
        catch (OperationCanceledException)
        {
            return $"cannot unregister {what} from {zoneAddress}: no answer within {UnregisterTimeout.TotalSeconds:0}s";
        }
    }
}

/// <summary>
/// Whether the zone answered the agent's last periodic call, so an outage is logged when it starts (and for failures
/// that will not pass by themselves) and its end once, not at every check.
/// </summary>
internal sealed class ZoneReachability
{
    private bool _reachable = true;

    /// <summary>The zone answered; true when it had not before (time to say it is back).</summary>
    public bool Answered()
    {
        var back = !_reachable;
        _reachable = true;
        return back;
    }

    /// <summary>The zone did not answer; true when this failure is worth a log line.</summary>
    public bool Failed(ZoneApiException failure)
    {
        var worthSaying = _reachable || !failure.Transient;
        _reachable = false;
        return worthSaying;
    }
}
