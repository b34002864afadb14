namespace Federation.Testing;

/// <summary>
/// Every await in the tests has a timeout whose message says what was awaited. One file, compiled into each test
/// project that links it (see its .csproj).
/// </summary>
internal static class Within
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);

    public static async Task<T> Within10s<T>(this Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(Default, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {Default.TotalSeconds:0}s waiting for {what}");
        }
    }

    public static async Task Within10s(this Task task, string what)
    {
        try
        {
            await task.WaitAsync(Default, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {Default.TotalSeconds:0}s waiting for {what}");
        }
    }

    public static Task<T> Within10s<T>(this ValueTask<T> task, string what) => task.AsTask().Within10s(what);
}

/// <summary>A condition over changing state, awaited without polling: every change pulses, waiters re-check.</summary>
internal sealed class Pulse
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Completes when <paramref name="condition"/> holds; <paramref name="state"/> describes the actual state on timeout.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what, Func<string>? state = null)
    {
        var deadline = DateTime.UtcNow + Within.Default;
        while (true)
        {
            var next = Volatile.Read(ref _next).Task;
            if (condition())
            {
                return;
            }
            var left = deadline - DateTime.UtcNow;
            try
            {
                await next.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, TestContext.Current.CancellationToken);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"timed out after {Within.Default.TotalSeconds:0}s waiting for {what}" + (state is null ? "" : $"; actual: {state()}"));
            }
        }
    }
}
