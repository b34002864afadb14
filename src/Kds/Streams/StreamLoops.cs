namespace Federation.Kds.Streams;

/// <summary>Runs the loops of one stream together: the first to end (or fail) ends them all.</summary>
internal static class StreamLoops
{
    public static async Task RunAllAsync(Task[] loops, CancellationTokenSource cts)
    {
        var first = await Task.WhenAny(loops);
        await cts.CancelAsync();
        try
        {
            await Task.WhenAll(loops);
        }
        catch
        {
            // Every other loop ends with a cancellation; the first one's outcome is what counts.
        }
        if (first.IsFaulted || first.IsCanceled)
        {
            await first;
        }
    }
}
