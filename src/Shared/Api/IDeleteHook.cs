using Federation.Resources;
using Federation.Stores;

namespace Federation.Api;

/// <summary>
/// Runs before an API delete: may refuse it (throw <see cref="ApiException"/>) or add writes that happen in the
/// same transaction (cascades).
/// </summary>
public interface IDeleteHook
{
    ValueTask<IReadOnlyList<ResourceWrite>> OnDeleteAsync(Resource resource, CancellationToken cancellationToken);
}

/// <summary>Deleting a Mesh deletes everything in it.</summary>
public sealed class MeshCascade(IResourceStore store) : IDeleteHook
{
    public async ValueTask<IReadOnlyList<ResourceWrite>> OnDeleteAsync(Resource resource, CancellationToken cancellationToken)
    {
        if (resource.Type != ResourceTypes.Mesh.Name)
        {
            return [];
        }
        var writes = new List<ResourceWrite>();
        foreach (var meshScoped in ResourceTypes.All.Where(t => t.IsMeshScoped))
        {
            var page = await store.ListAsync(new ResourceQuery(meshScoped.Name) { Mesh = resource.Name }, cancellationToken);
            writes.AddRange(page.Items.Select(r => new DeleteResource(r.Key, r.Version)));
        }
        return writes;
    }
}
