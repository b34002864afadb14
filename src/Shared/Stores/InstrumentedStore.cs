using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Federation.Resources;

namespace Federation.Stores;

/// <summary>
/// Measures every store operation (<c>federation.store.duration</c>, by operation and store kind) and, when traced,
/// records each commit as a <c>store.commit</c> activity whose context the change feed continues
/// (<see cref="TakeTrace"/>), so the work a write causes (KDS to the zones, xDS pushes) joins the writer's trace.
/// </summary>
/// <param name="inner">The store measured.</param>
/// <param name="meters">Where the <c>Federation</c> meter comes from.</param>
/// <param name="ownsInner">Whether disposing this disposes <paramref name="inner"/> (false: the caller keeps it, e.g. a
/// store that outlives a restart of its host).</param>
public sealed class InstrumentedStore(IResourceStore inner, IMeterFactory meters, bool ownsInner = true) : IResourceStore, IAsyncDisposable, IDisposable
{
    /// <summary>Revisions whose trace the feed has not taken yet; the oldest are forgotten beyond this.</summary>
    private const int TraceCapacity = 4096;

    private readonly ConcurrentDictionary<long, ActivityContext> _traces = new();
    private readonly ConcurrentQueue<long> _traceOrder = new();

    private readonly Histogram<double> _duration = meters.Create("Federation").CreateHistogram<double>(
        "federation.store.duration", unit: "ms", description: "Store operation latency by operation and store kind");

    public IResourceStore Inner => inner;

    public string Kind => inner.Kind;

    public async ValueTask<Resource?> GetAsync(ResourceKey key, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await inner.GetAsync(key, cancellationToken);
        }
        finally
        {
            Record("get", started);
        }
    }

    public async ValueTask<ResourcePage> ListAsync(ResourceQuery query, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await inner.ListAsync(query, cancellationToken);
        }
        finally
        {
            Record("list", started);
        }
    }

    public async ValueTask<CommitResult> CommitAsync(IReadOnlyList<ResourceWrite> writes, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = Hosting.Telemetry.Source.StartActivity("store.commit");
        try
        {
            var result = await inner.CommitAsync(writes, cancellationToken);
            if (activity is not null)
            {
                activity.SetTag("federation.store", inner.Kind);
                activity.SetTag("federation.store.writes", writes.Count);
                activity.SetTag("federation.store.revision", result.Revision);
                foreach (var change in result.Changes)
                {
                    RememberTrace(change.Revision, activity.Context);
                }
            }
            return result;
        }
        finally
        {
            Record("commit", started);
        }
    }

    /// <summary>The trace of the commit that produced <paramref name="revision"/> here (default: none, or another replica's).</summary>
    public ActivityContext TakeTrace(long revision) => _traces.TryRemove(revision, out var context) ? context : default;

    private void RememberTrace(long revision, ActivityContext context)
    {
        if (_traces.TryAdd(revision, context))
        {
            _traceOrder.Enqueue(revision);
        }
        while (_traceOrder.Count > TraceCapacity && _traceOrder.TryDequeue(out var oldest))
        {
            _traces.TryRemove(oldest, out _);
        }
    }

    public ChangeSubscription Subscribe() => inner.Subscribe();

    private void Record(string operation, long started) =>
        _duration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("store", inner.Kind));

    public async ValueTask DisposeAsync()
    {
        if (!ownsInner)
        {
            return;
        }
        switch (inner)
        {
            case IAsyncDisposable a:
                await a.DisposeAsync();
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
    }

    public void Dispose()
    {
        if (!ownsInner)
        {
            return;
        }
        if (inner is IDisposable d)
        {
            d.Dispose();
        }
        else if (inner is IAsyncDisposable a)
        {
            a.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
