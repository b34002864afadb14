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
/// An agent's periodic registration check, and whether the zone answered the last one, so an outage is logged when it
/// starts (and for failures that will not pass by themselves) and its end once, not at every check.
/// </summary>
internal sealed class ZoneReachability
{
    private bool _reachable = true;

    /// <summary>
    /// Runs one check: <paramref name="register"/> makes sure the zone holds the registration (true: it had lost it and
    /// it was written again, then <paramref name="reregistered"/> hears of it). A failure goes to
    /// <paramref name="failed"/> when worth a line; the zone answering again after failures, to <paramref name="back"/>.
    /// </summary>
    public async Task CheckAsync(Func<CancellationToken, Task<bool>> register, Action reregistered, Action back, Action<string> failed, CancellationToken stop)
    {
        try
        {
            if (await register(stop))
            {
                reregistered();
            }
            if (!_reachable)
            {
                _reachable = true;
                back();
            }
        }
        catch (ZoneApiException e)
        {
            if (_reachable || !e.Transient)
            {
                failed(e.Message);
            }
            _reachable = false;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
