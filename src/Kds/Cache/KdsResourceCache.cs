using System.Collections.Immutable;
using System.Diagnostics;
using System.Threading.Channels;
using Federation.Stores;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Federation.Kds.Cache;

/// <summary>Cache settings.</summary>
public sealed class KdsCacheOptions
{
    /// <summary>Changes arriving within this window after the first are published together.</summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Anti-entropy: a full reload from the store at this interval repairs any drift.</summary>
    public TimeSpan FullReloadInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// The exported state of this control plane as one immutable <see cref="KdsSnapshot"/>, kept current from the
/// store's change notifications (not by polling): changes are batched over a short window, applied to the
/// affected type views only, and published with a new version. Responders wait on it.
/// </summary>
public sealed partial class KdsResourceCache : BackgroundService, IKdsSnapshotSource
{
    private readonly IResourceStore _store;
    private readonly KdsExport _export;
    private readonly KdsCacheOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<KdsResourceCache> _logger;
    private readonly Channel<(ResourceChange Change, ActivityContext Trace)> _changes =
        Channel.CreateUnbounded<(ResourceChange, ActivityContext)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HashSet<string> _typeNames;
    private KdsSnapshot _current = new(0, ImmutableDictionary<string, TypeView>.Empty);
    private DateTimeOffset _lastPublish = DateTimeOffset.MinValue;
    private TaskCompletionSource _changed = NewSignal();
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public KdsResourceCache(IResourceStore store, KdsExport export, KdsCacheOptions options, TimeProvider time, ILogger<KdsResourceCache> logger)
    {
        _store = store;
        _export = export;
        _options = options;
        _time = time;
        _logger = logger;
        _typeNames = [.. export.Types.Concat(export.Tracked).Select(t => t.Name)];
    }

    public KdsSnapshot Current => Volatile.Read(ref _current);

    /// <summary>The names of the types served to peers.</summary>
    public IReadOnlyList<string> ExportedTypes => [.. _export.Types.Select(t => t.Name)];

    /// <summary>Completes once the first full load from the store is published.</summary>
    public Task Loaded => _loaded.Task;

    public async Task WaitForNewerAsync(long version, CancellationToken cancellationToken)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _changed);
            if (Current.Version > version)
            {
                return;
            }
            await signal.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Takes one committed change (with the trace it is part of, if any); cheap, never blocks.</summary>
    public ValueTask Enqueue(ResourceChange change)
    {
        if (change.Kind == ChangeKind.Reset || _typeNames.Contains(change.Key.Type))
        {
            _changes.Writer.TryWrite((change, Hosting.TraceContext.Current));
        }
        return ValueTask.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ReloadAsync(stoppingToken);
            _loaded.TrySetResult();
            var nextReload = _time.GetUtcNow() + _options.FullReloadInterval;
            var reader = _changes.Reader;
            while (!stoppingToken.IsCancellationRequested)
            {
                var untilReload = nextReload - _time.GetUtcNow();
                if (untilReload <= TimeSpan.Zero)
                {
                    await ReloadAsync(stoppingToken);
                    nextReload = _time.GetUtcNow() + _options.FullReloadInterval;
                    continue;
                }
                using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                waitCts.CancelAfter(untilReload);
                try
                {
                    await reader.WaitToReadAsync(waitCts.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    continue;
                }
                // Leading edge: a change after a quiet spell is published at once; changes arriving within the window
                // after a publish wait for the window's end and go out together.
                var wait = _lastPublish + _options.BatchWindow - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stoppingToken);
                }
                _lastPublish = _time.GetUtcNow();
                var batch = new List<(ResourceChange Change, ActivityContext Trace)>();
                while (reader.TryRead(out var change))
                {
                    batch.Add(change);
                }
                if (batch.Any(c => c.Change.Kind == ChangeKind.Reset))
                {
                    await ReloadAsync(stoppingToken);
                }
                else
                {
                    Apply(batch);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _loaded.TrySetException(e);
            LogCacheFailed(_logger, e);
            throw;
        }
    }

    private void Apply(List<(ResourceChange Change, ActivityContext Trace)> batch)
    {
        var current = Current;
        var views = current.Views;
        var version = current.Version + 1;
        var touched = new HashSet<string>();
        foreach (var (change, trace) in batch)
        {
            var type = change.Key.Type;
            var view = views.TryGetValue(type, out var v) ? v : TypeView.Empty(type);
            var items = view.Items;
            var wireName = Conversion.KdsConversion.WireName(change.Key);
            var include = change.Kind != ChangeKind.Deleted && (_export.Tracked.Any(t => t.Name == type) || _export.Includes(change.Resource!));
            var next = include ? items.SetItem(wireName, new CachedResource(change.Resource!, trace)) : items.Remove(wireName);
            if (next != items)
            {
                views = views.SetItem(type, view with { Version = version, Items = next });
                touched.Add(type);
            }
        }
        Publish(current, views, version, touched);
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var current = Current;
        var version = current.Version + 1;
        var views = current.Views;
        var touched = new HashSet<string>();
        foreach (var type in _export.Types.Concat(_export.Tracked))
        {
            var tracked = _export.Tracked.Contains(type);
            var page = await _store.ListAsync(new ResourceQuery(type.Name), cancellationToken);
            var items = page.Items.Where(r => tracked || _export.Includes(r))
                .ToImmutableSortedDictionary(r => Conversion.KdsConversion.WireName(r.Key), r => new CachedResource(r), StringComparer.Ordinal);
            var old = current.View(type.Name);
            if (old.Items.Count != items.Count || items.Any(kv => !old.Items.TryGetValue(kv.Key, out var o) || o.Version != kv.Value.Version))
            {
                views = views.SetItem(type.Name, new TypeView(type.Name, version, items));
                touched.Add(type.Name);
            }
            else if (!views.ContainsKey(type.Name))
            {
                views = views.SetItem(type.Name, old);
            }
        }
        Publish(current, views, version, touched);
    }

    private void Publish(KdsSnapshot current, ImmutableDictionary<string, TypeView> views, long version, HashSet<string> touched)
    {
        if (touched.Count == 0 && current.Version > 0)
        {
            return;
        }
        foreach (var type in touched.ToList())
        {
            if (_export.Dependents.TryGetValue(type, out var dependents))
            {
                foreach (var dependent in dependents)
                {
                    var view = views.TryGetValue(dependent, out var d) ? d : TypeView.Empty(dependent);
                    views = views.SetItem(dependent, view with { Version = version });
                }
            }
        }
        Volatile.Write(ref _current, new KdsSnapshot(version, views));
        Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(EventId = 1, EventName = "KdsCacheFailed", Level = LogLevel.Critical, Message = "The KDS resource cache stopped")]
    private static partial void LogCacheFailed(ILogger logger, Exception exception);
}
