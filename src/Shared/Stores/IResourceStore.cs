using Federation.Resources;

namespace Federation.Stores;

/// <summary>
/// The one storage contract every backend (memory, sqlite, redis) implements and the shared contract tests
/// check: point reads, filtered and paged lists, atomic batches with optimistic concurrency, and an ordered
/// change feed.
/// </summary>
public interface IResourceStore
{
    /// <summary>A short name for logs and metrics: memory, sqlite, redis.</summary>
    string Kind { get; }

    ValueTask<Resource?> GetAsync(ResourceKey key, CancellationToken cancellationToken = default);

    ValueTask<ResourcePage> ListAsync(ResourceQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies every write or none. Throws <see cref="ResourceConflictException"/> when a version condition
    /// fails and <see cref="ResourceNotFoundException"/> when a delete finds nothing. A put whose content equals
    /// what is stored changes nothing and produces no change event.
    /// </summary>
    ValueTask<CommitResult> CommitAsync(IReadOnlyList<ResourceWrite> writes, CancellationToken cancellationToken = default);

    /// <summary>Starts receiving every change committed from now on, in commit order.</summary>
    ChangeSubscription Subscribe();
}

/// <summary>What to list: a type, optionally one mesh, optionally a label selector, optionally one page.</summary>
public sealed record ResourceQuery(string Type)
{
    /// <summary>Only this mesh; null lists every mesh (and is the only choice for global-scoped types).</summary>
    public string? Mesh { get; init; }

    /// <summary>Only resources carrying all these labels with these values.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>Page size; 0 means everything.</summary>
    public int Limit { get; init; }

    /// <summary>The opaque token a previous page returned as <see cref="ResourcePage.Next"/>.</summary>
    public string? After { get; init; }

    public bool Matches(Resource r)
    {
        if (r.Type != Type || (Mesh is not null && r.Mesh != Mesh))
        {
            return false;
        }
        if (Labels is not null)
        {
            foreach (var (k, v) in Labels)
            {
                if (!r.Labels.TryGetValue(k, out var actual) || actual != v)
                {
                    return false;
                }
            }
        }
        return true;
    }
}

/// <summary>One page of a list, ordered by mesh then name, with the total matching count.</summary>
public sealed record ResourcePage(IReadOnlyList<Resource> Items, int Total, string? Next);

/// <summary>A write in a batch.</summary>
public abstract record ResourceWrite(ResourceKey Key);

/// <summary>
/// Create or replace. <paramref name="ExpectedVersion"/>: null = whatever is stored; 0 = must not exist yet;
/// n = must exist at version n.
/// </summary>
public sealed record PutResource(Resource Resource, long? ExpectedVersion = null) : ResourceWrite(Resource.Key);

/// <summary>Delete. <paramref name="ExpectedVersion"/> null = any version; <paramref name="MustExist"/> false makes a missing resource a no-op.</summary>
public sealed record DeleteResource(ResourceKey Key, long? ExpectedVersion = null, bool MustExist = true) : ResourceWrite(Key);

/// <summary>The outcome of a batch: the store revision it produced and one change per effective write.</summary>
public sealed record CommitResult(long Revision, IReadOnlyList<ResourceChange> Changes)
{
    public static readonly CommitResult Empty = new(0, []);
}

public enum ChangeKind
{
    Created,
    Updated,
    Deleted,

    /// <summary>The subscriber fell behind and missed changes: rebuild from a fresh read of the store.</summary>
    Reset,
}

/// <summary>
/// One committed change. <see cref="Resource"/> is the new state (created/updated) or the last state (deleted);
/// null for <see cref="ChangeKind.Reset"/>.
/// </summary>
public sealed record ResourceChange(long Revision, ChangeKind Kind, ResourceKey Key, Resource? Resource)
{
    public static ResourceChange Reset(long revision) => new(revision, ChangeKind.Reset, default, null);
}

public sealed class ResourceConflictException(ResourceKey key, string message) : Exception(message)
{
    public ResourceKey Key { get; } = key;
}

public sealed class ResourceNotFoundException(ResourceKey key) : Exception($"{key} not found")
{
    public ResourceKey Key { get; } = key;
}
