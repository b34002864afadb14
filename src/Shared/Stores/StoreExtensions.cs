using Federation.Resources;

namespace Federation.Stores;

/// <summary>One-write conveniences over <see cref="IResourceStore.CommitAsync"/>.</summary>
public static class StoreExtensions
{
    /// <summary>Creates or replaces; returns what is stored afterwards.</summary>
    public static async ValueTask<Resource> PutAsync(this IResourceStore store, Resource resource, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        var result = await store.CommitAsync([new PutResource(resource, expectedVersion)], cancellationToken);
        if (result.Changes.Count > 0)
        {
            return result.Changes[0].Resource!;
        }
        // Unchanged content: what is stored is what the caller has.
        return await store.GetAsync(resource.Key, cancellationToken) ?? throw new ResourceNotFoundException(resource.Key);
    }

    public static ValueTask<Resource> CreateAsync(this IResourceStore store, Resource resource, CancellationToken cancellationToken = default) =>
        store.PutAsync(resource, 0, cancellationToken);

    /// <summary>Deletes; returns false when there was nothing to delete.</summary>
    public static async ValueTask<bool> DeleteAsync(this IResourceStore store, ResourceKey key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        var result = await store.CommitAsync([new DeleteResource(key, expectedVersion, MustExist: false)], cancellationToken);
        return result.Changes.Count > 0;
    }

    /// <summary>Every resource of a type (optionally in one mesh), all pages.</summary>
    public static async ValueTask<IReadOnlyList<Resource>> ListAllAsync(this IResourceStore store, string type, string? mesh = null, CancellationToken cancellationToken = default)
    {
        var page = await store.ListAsync(new ResourceQuery(type) { Mesh = mesh }, cancellationToken);
        return page.Items;
    }
}
