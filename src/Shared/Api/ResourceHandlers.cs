using Federation.Resources;
using Federation.Stores;
using Mediator;

namespace Federation.Api;

/// <summary>Reads and writes that the REST API (and the CLI through it) performs, one handler per message.</summary>
public sealed class ResourceQueryHandlers(IResourceStore store) :
    IQueryHandler<ListResourcesQuery, ResourcePage>,
    IQueryHandler<GetResourceQuery, Resource?>
{
    public ValueTask<ResourcePage> Handle(ListResourcesQuery query, CancellationToken cancellationToken) =>
        store.ListAsync(query.Query, cancellationToken);

    public ValueTask<Resource?> Handle(GetResourceQuery query, CancellationToken cancellationToken) =>
        store.GetAsync(query.Key, cancellationToken);
}

/// <summary>API writes: ownership rules, origin labels, references to meshes, cascades.</summary>
public sealed class ResourceCommandHandlers(IResourceStore store, IWritePolicy policy, IEnumerable<IDeleteHook> deleteHooks, TimeProvider timeProvider) :
    ICommandHandler<PutResourceCommand, PutResourceResult>,
    ICommandHandler<DeleteResourceCommand, Resource>
{
    public async ValueTask<PutResourceResult> Handle(PutResourceCommand command, CancellationToken cancellationToken)
    {
        var incoming = command.Resource;
        var type = incoming.Descriptor;
        var existing = await store.GetAsync(incoming.Key, cancellationToken);
        policy.CheckWrite(type, existing);
        var stamped = policy.Stamp(incoming);

        var writes = new List<ResourceWrite>();
        if (type.IsMeshScoped)
        {
            var meshKey = ResourceKey.Global(ResourceTypes.Mesh.Name, incoming.Mesh);
            var mesh = await store.GetAsync(meshKey, cancellationToken)
                ?? throw ApiException.BadRequest(
                    $"mesh '{incoming.Mesh}' does not exist; create it first (type: Mesh, name: {incoming.Mesh})",
                    [new Validation.ValidationError("mesh", $"mesh '{incoming.Mesh}' does not exist")]);
            // Guard against the mesh being deleted between our read and our write.
            writes.Add(new PutResource(mesh, mesh.Version));
        }
        writes.Add(new PutResource(stamped, command.ExpectedVersion));

        if (command.DryRun)
        {
            var preview = CommitPlanner.Plan([writes[^1]], new Dictionary<ResourceKey, Resource?> { [incoming.Key] = existing }, timeProvider.GetUtcNow(), 0);
            return new PutResourceResult(preview.Count > 0 ? preview[0].Resource! : existing!, existing is null);
        }

        await store.CommitAsync(writes, cancellationToken);
        var stored = await store.GetAsync(incoming.Key, cancellationToken) ?? throw new ResourceNotFoundException(incoming.Key);
        return new PutResourceResult(stored, existing is null);
    }

    public async ValueTask<Resource> Handle(DeleteResourceCommand command, CancellationToken cancellationToken)
    {
        var type = ResourceTypes.Get(command.Key.Type);
        var existing = await store.GetAsync(command.Key, cancellationToken)
            ?? throw ApiException.NotFound($"{command.Key} not found");
        policy.CheckWrite(type, existing);

        var writes = new List<ResourceWrite> { new DeleteResource(command.Key, command.ExpectedVersion ?? existing.Version) };
        foreach (var hook in deleteHooks)
        {
            writes.AddRange(await hook.OnDeleteAsync(existing, cancellationToken));
        }
        await store.CommitAsync(writes, cancellationToken);
        return existing;
    }
}
