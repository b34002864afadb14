using System.Collections.Concurrent;
using System.Diagnostics;

namespace Federation.Zone.Diag;

/// <summary>TEMPORARY phase tracing (not to be committed).</summary>
public static class TmpTrace
{
    private static readonly string? Path = Environment.GetEnvironmentVariable("FED_TRACE");
    private static readonly ConcurrentQueue<string> Lines = new();

    static TmpTrace()
    {
        if (Path is not null)
        {
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    await Task.Delay(500);
                    var batch = new List<string>();
                    while (Lines.TryDequeue(out var l))
                    {
                        batch.Add(l);
                    }
                    if (batch.Count > 0)
                    {
                        await File.AppendAllLinesAsync(Path, batch);
                    }
                }
            });
        }
    }

    public static void Mark(string what)
    {
        if (Path is not null)
        {
            Lines.Enqueue($"{Stopwatch.GetTimestamp()} {Environment.CurrentManagedThreadId} {what}");
        }
    }
}
