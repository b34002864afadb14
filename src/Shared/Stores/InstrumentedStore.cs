using System.Diagnostics;
using System.Diagnostics.Metrics;
using Federation.Resources;

namespace Federation.Stores;

/// <summary>Measures every store operation (<c>federation.store.duration</c>, by operation and store kind).</summary>
public sealed class InstrumentedStore(IResourceStore inner, IMeterFactory meters) : IResourceStore, IAsyncDisposable, IDisposable
{
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
        try
        {
            return await inner.CommitAsync(writes, cancellationToken);
        }
        finally
        {
            Record("commit", started);
        }
    }

    public ChangeSubscription Subscribe() => inner.Subscribe();

    private void Record(string operation, long started) =>
        _duration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("store", inner.Kind));

    public async ValueTask DisposeAsync()
    {
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
