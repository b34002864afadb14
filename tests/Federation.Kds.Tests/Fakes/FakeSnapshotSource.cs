using System.Collections.Immutable;
using Federation.Kds.Cache;
using Federation.Kds.Conversion;
using Federation.Resources;

namespace Federation.Kds.Tests.Fakes;

/// <summary>A snapshot source the test publishes to by hand, with the same versioning rules as the real cache.</summary>
public sealed class FakeSnapshotSource : IKdsSnapshotSource
{
    private KdsSnapshot _current = new(0, ImmutableDictionary<string, TypeView>.Empty);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public KdsSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Publishes the given resources as the full content of their types (other types keep their views).</summary>
    public KdsSnapshot Publish(params Resource[] resources) => Publish(resources.Select(r => r.Type).Distinct().ToArray(), resources);

    /// <summary>Publishes <paramref name="resources"/> as the full content of <paramref name="types"/>; a type's version bumps on every publish.</summary>
    public KdsSnapshot Publish(string[] types, params Resource[] resources)
    {
        var current = Current;
        var version = current.Version + 1;
        var views = current.Views;
        foreach (var type in types)
        {
            var items = resources.Where(r => r.Type == type)
                .ToImmutableSortedDictionary(r => KdsConversion.WireName(r.Key), r => new CachedResource(r), StringComparer.Ordinal);
            views = views.SetItem(type, new TypeView(type, version, items));
        }
        var next = new KdsSnapshot(version, views);
        Volatile.Write(ref _current, next);
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        return next;
    }

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
}
