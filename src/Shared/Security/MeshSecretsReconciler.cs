using System.Threading.Channels;
using Federation.Api;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Security.Pki;
using Federation.Stores;
using Mediator;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Federation.Security;

/// <summary>
/// Keeps every mesh's key material in place where meshes are authored (the global, or a standalone zone):
/// a root CA for each builtin mTLS backend and the mesh's dataplane-token signing key. Runs at start for every
/// mesh and on every Mesh change; creation is race-safe across replicas; nothing is rotated behind the user's back.
/// </summary>
public sealed partial class MeshSecretsReconciler(
    IResourceStore store,
    DataplaneTokenService dataplaneTokens,
    Hosting.ControlPlaneIdentity identity,
    TimeProvider time,
    ILogger<MeshSecretsReconciler> logger) : BackgroundService
{
    private readonly Channel<string> _meshes = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Only where meshes are authored: a federated zone receives its key material from the global.</summary>
    public bool Enabled => identity.Mode == ControlPlaneMode.Global || !identity.Federated;

    public void Enqueue(string mesh)
    {
        if (Enabled)
        {
            _meshes.Writer.TryWrite(mesh);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }
        try
        {
            foreach (var mesh in await store.ListAllAsync(ResourceTypes.Mesh.Name, cancellationToken: stoppingToken))
            {
                Enqueue(mesh.Name);
            }
            await foreach (var mesh in _meshes.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await ReconcileAsync(mesh, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(logger, e, mesh);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Creates what the mesh lacks.</summary>
    public async Task ReconcileAsync(string meshName, CancellationToken cancellationToken)
    {
        var mesh = await store.GetAsync(ResourceKey.Global(ResourceTypes.Mesh.Name, meshName), cancellationToken);
        if (mesh is null)
        {
            return;
        }
        await dataplaneTokens.EnsureKeysAsync(meshName, cancellationToken);
        foreach (var backend in mesh.GetSpec<MeshSpec>().Mtls?.Backends ?? [])
        {
            if (backend.Type != "builtin")
            {
                continue;
            }
            var certKey = new ResourceKey(ResourceTypes.Secret.Name, meshName, MeshCa.CertSecretName(meshName, backend.Name));
            if (await store.GetAsync(certKey, cancellationToken) is not null)
            {
                continue;
            }
            var ca = MeshCa.Create(meshName, backend, time.GetUtcNow());
            try
            {
                await store.CommitAsync([.. MeshCa.ToSecrets(meshName, backend.Name, ca).Select(s => new PutResource(s, 0))], cancellationToken);
                LogCreated(logger, meshName, backend.Name);
            }
            catch (ResourceConflictException)
            {
                // Another replica made it first.
            }
        }
    }

    [LoggerMessage(EventId = 50, EventName = "MeshCaCreated", Level = LogLevel.Information, Message = "Created the builtin CA of mesh {Mesh} (backend {Backend})")]
    private static partial void LogCreated(ILogger logger, string mesh, string backend);

    [LoggerMessage(EventId = 51, EventName = "MeshSecretsFailed", Level = LogLevel.Error, Message = "Could not create the key material of mesh {Mesh}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string mesh);
}

/// <summary>Hands Mesh changes to the reconciler.</summary>
public sealed class MeshSecretsTrigger(MeshSecretsReconciler reconciler) : INotificationHandler<ResourceChanged>
{
    public ValueTask Handle(ResourceChanged notification, CancellationToken cancellationToken)
    {
        var change = notification.Change;
        if (change.Kind is ChangeKind.Created or ChangeKind.Updated && change.Key.Type == ResourceTypes.Mesh.Name)
        {
            reconciler.Enqueue(change.Key.Name);
        }
        return ValueTask.CompletedTask;
    }
}
