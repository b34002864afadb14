using Federation.Resources;

namespace Federation.Stores;

/// <summary>
/// The part of a commit every store shares: check each write's version condition against what is stored,
/// drop puts that change nothing, and stamp versions and times. Stores supply the current state and make
/// the outcome durable atomically.
/// </summary>
public static class CommitPlanner
{
    /// <param name="writes">The batch, in order; later writes in a batch see earlier ones.</param>
    /// <param name="current">What is stored now for every key the batch touches (absent or null: nothing).</param>
    /// <param name="now">The commit time.</param>
    /// <param name="revision">The revision the commit will have.</param>
    public static IReadOnlyList<ResourceChange> Plan(
        IReadOnlyList<ResourceWrite> writes,
        IReadOnlyDictionary<ResourceKey, Resource?> current,
        DateTimeOffset now,
        long revision)
    {
        var state = new Dictionary<ResourceKey, Resource?>(current);
        var changes = new List<ResourceChange>(writes.Count);
        foreach (var write in writes)
        {
            state.TryGetValue(write.Key, out var existing);
            switch (write)
            {
                case PutResource put:
                    CheckVersion(write.Key, existing, put.ExpectedVersion);
                    if (existing is not null && existing.ContentHash == put.Resource.ContentHash)
                    {
                        continue;
                    }
                    var stored = put.Resource with
                    {
                        Version = (existing?.Version ?? 0) + 1,
                        CreationTime = existing?.CreationTime ?? now,
                        ModificationTime = now,
                    };
                    state[write.Key] = stored;
                    changes.Add(new ResourceChange(revision, existing is null ? ChangeKind.Created : ChangeKind.Updated, write.Key, stored));
                    break;
                case DeleteResource delete:
                    if (existing is null)
                    {
                        if (delete.MustExist || delete.ExpectedVersion is > 0)
                        {
                            throw new ResourceNotFoundException(write.Key);
                        }
                        continue;
                    }
                    CheckVersion(write.Key, existing, delete.ExpectedVersion);
                    state[write.Key] = null;
                    changes.Add(new ResourceChange(revision, ChangeKind.Deleted, write.Key, existing));
                    break;
                default:
                    throw new ArgumentException($"unknown write {write.GetType().Name}", nameof(writes));
            }
        }
        return Collapse(changes);
    }

    private static void CheckVersion(ResourceKey key, Resource? existing, long? expected)
    {
        switch (expected)
        {
            case null:
                return;
            case 0 when existing is not null:
                throw new ResourceConflictException(key, $"{key} already exists (version {existing.Version})");
            case > 0 when existing is null:
                throw new ResourceConflictException(key, $"{key} does not exist (expected version {expected})");
            case > 0 when existing!.Version != expected:
                throw new ResourceConflictException(key, $"{key} was modified: expected version {expected}, stored version is {existing.Version}");
        }
    }

    /// <summary>Several writes to one key in a batch become one change describing the net effect.</summary>
    private static List<ResourceChange> Collapse(List<ResourceChange> changes)
    {
        if (changes.Count < 2)
        {
            return changes;
        }
        var byKey = new Dictionary<ResourceKey, int>();
        var result = new List<ResourceChange?>(changes.Count);
        foreach (var change in changes)
        {
            if (byKey.TryGetValue(change.Key, out var index))
            {
                var first = result[index]!;
                result[index] = null;
                var kind = (first.Kind, change.Kind) switch
                {
                    (ChangeKind.Created, ChangeKind.Deleted) => (ChangeKind?)null,
                    (ChangeKind.Created, _) => ChangeKind.Created,
                    (ChangeKind.Deleted, ChangeKind.Created) => ChangeKind.Updated,
                    (_, var k) => k,
                };
                if (kind is { } k2)
                {
                    byKey[change.Key] = result.Count;
                    result.Add(change with { Kind = k2 });
                }
                else
                {
                    byKey.Remove(change.Key);
                }
            }
            else
            {
                byKey[change.Key] = result.Count;
                result.Add(change);
            }
        }
        return [.. result.OfType<ResourceChange>()];
    }
}
