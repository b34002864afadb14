using System.Collections.Immutable;
using Federation.Resources;

namespace Federation.Stores;

/// <summary>An in-process store for tests and throwaway demos; readers see an immutable snapshot without locks.</summary>
public sealed class MemoryStore(TimeProvider timeProvider) : IResourceStore
{
    private static readonly IComparer<(string Mesh, string Name)> KeyOrder =
        Comparer<(string Mesh, string Name)>.Create((a, b) => PageToken.Compare(a.Mesh, a.Name, b.Mesh, b.Name));

    private readonly Lock _writeLock = new();
    private readonly ChangeFeedHub _feed = new();
    private ImmutableDictionary<string, ImmutableSortedDictionary<(string Mesh, string Name), Resource>> _types =
        ImmutableDictionary<string, ImmutableSortedDictionary<(string Mesh, string Name), Resource>>.Empty;
    private long _revision;

    public MemoryStore()
        : this(TimeProvider.System)
    {
    }

    public string Kind => "memory";

    public ValueTask<Resource?> GetAsync(ResourceKey key, CancellationToken cancellationToken = default)
    {
        var types = Volatile.Read(ref _types);
        return ValueTask.FromResult(types.TryGetValue(key.Type, out var byKey) && byKey.TryGetValue((key.Mesh, key.Name), out var r) ? r : null);
    }

    public ValueTask<ResourcePage> ListAsync(ResourceQuery query, CancellationToken cancellationToken = default)
    {
        var types = Volatile.Read(ref _types);
        if (!types.TryGetValue(query.Type, out var byKey))
        {
            PageToken.Parse(query.After);
            return ValueTask.FromResult(new ResourcePage([], 0, null));
        }
        return ValueTask.FromResult(PageToken.Page(byKey.Values, query));
    }

    public ValueTask<CommitResult> CommitAsync(IReadOnlyList<ResourceWrite> writes, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_writeLock)
        {
            var types = _types;
            var current = new Dictionary<ResourceKey, Resource?>();
            foreach (var w in writes)
            {
                current[w.Key] = types.TryGetValue(w.Key.Type, out var byKey) && byKey.TryGetValue((w.Key.Mesh, w.Key.Name), out var r) ? r : null;
            }
            var revision = _revision + 1;
            var changes = CommitPlanner.Plan(writes, current, timeProvider.GetUtcNow(), revision);
            if (changes.Count == 0)
            {
                return ValueTask.FromResult(new CommitResult(_revision, []));
            }
            foreach (var change in changes)
            {
                var byKey = types.TryGetValue(change.Key.Type, out var existing)
                    ? existing
                    : ImmutableSortedDictionary.Create<(string Mesh, string Name), Resource>(KeyOrder);
                byKey = change.Kind == ChangeKind.Deleted
                    ? byKey.Remove((change.Key.Mesh, change.Key.Name))
                    : byKey.SetItem((change.Key.Mesh, change.Key.Name), change.Resource!);
                types = types.SetItem(change.Key.Type, byKey);
            }
            Volatile.Write(ref _types, types);
            _revision = revision;
            _feed.Publish(changes);
            return ValueTask.FromResult(new CommitResult(revision, changes));
        }
    }

    public ChangeSubscription Subscribe() => _feed.Subscribe();
}
