using System.Reflection;
using Federation.Api;
using Federation.Events;
using Federation.Security;
using Federation.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Federation.Hosting;

/// <summary>What this control plane is: its mode and, for a zone, its name and whether it is federated.</summary>
public sealed record ControlPlaneIdentity(ControlPlaneMode Mode, string? Zone, bool Federated)
{
    public static string Version { get; } =
        typeof(ControlPlaneIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}

/// <summary>Registration and mapping of what the global and zones share: store, API, auth, change notifications.</summary>
public static class ControlPlaneApi
{
    /// <summary>Registers the store, the write policy, the admin token and the change publisher.</summary>
    public static IServiceCollection AddControlPlaneCore(this IServiceCollection services, ControlPlaneIdentity identity, StoreOptions storeOptions, ApiOptions? apiOptions = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(identity);
        services.TryAddSingleton(storeOptions);
        services.TryAddSingleton(apiOptions ?? new ApiOptions());
        services.TryAddSingleton<IResourceStore>(sp => new InstrumentedStore(
            StoreFactory.Create(storeOptions, sp.GetRequiredService<TimeProvider>(), sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddFederationTelemetry(identity.Mode == ControlPlaneMode.Global ? "federation-global" : "federation-zone");
        services.TryAddSingleton<IWritePolicy>(new WritePolicy(identity.Mode, identity.Zone, identity.Federated));
        services.TryAddSingleton(_ => AdminToken.LoadOrCreate(storeOptions.DataDir));
        services.AddSingleton<IDeleteHook, MeshCascade>();
        services.TryAddSingleton<DataplaneTokenService>();
        services.TryAddSingleton<ZoneTokenVerifier>();
        services.TryAddSingleton<MeshSecretsReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<MeshSecretsReconciler>());
        services.AddHostedService<ChangeFeedPublisher>();
        return services;
    }

    /// <summary>Problem+json errors, admin auth, the index, the type registry and every resource endpoint.</summary>
    public static WebApplication MapControlPlaneApi(this WebApplication app)
    {
        app.UseMiddleware<ProblemDetailsMiddleware>();
        app.UseRouting();
        app.UseMiddleware<AdminAuthMiddleware>();
        app.MapGet("/", (ControlPlaneIdentity id) => TypedResults.Json(new
        {
            product = "Federation",
            version = ControlPlaneIdentity.Version,
            mode = id.Mode == ControlPlaneMode.Global ? "global" : "zone",
            zone = id.Zone,
            federated = id.Mode == ControlPlaneMode.Zone ? id.Federated : (bool?)null,
        }, Serialization.FederationJson.Options));
        app.MapFederationMetrics();
        app.MapResourceApi();
        app.MapDataplaneTokenEndpoints();
        app.MapDataplaneOverviewEndpoints();
        app.MapFallback((HttpContext http) => throw ApiException.NotFound($"no such API path: {http.Request.Method} {http.Request.Path}"));
        return app;
    }

    /// <summary>Touches the store once at start so a bad store fails the process right away, with its reason.</summary>
    public static async Task<IResourceStore> OpenStoreAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var store = services.GetRequiredService<IResourceStore>();
        await store.GetAsync(Resources.ResourceKey.Global(Resources.ResourceTypes.Mesh.Name, "default"), cancellationToken);
        return store;
    }
}
