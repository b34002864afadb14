using System.Net;
using Federation.Api;
using Federation.Hosting;
using Microsoft.Extensions.Options;

namespace Federation.Global;

/// <summary>Builds the global control plane: one place for the executable and the in-process test hosts.</summary>
public static class GlobalHost
{
    public static WebApplication Build(IReadOnlyDictionary<string, string?> overrides, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        builder.Configuration.AddInMemoryCollection(overrides);
        var options = builder.Configuration.GetSection(GlobalOptions.Section).Get<GlobalOptions>() ?? new GlobalOptions();
        var problems = options.Validate().ToList();
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(GlobalOptions.Section, typeof(GlobalOptions), problems);
        }
        builder.Services.AddSingleton(options);
        builder.Services.AddControlPlaneCore(new ControlPlaneIdentity(ControlPlaneMode.Global, null, false), options.ToStoreOptions());
        builder.Services.AddMediator(o => o.ServiceLifetime = ServiceLifetime.Singleton);
        var bind = IPAddress.Parse(options.BindAddress);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(bind, options.ApiPort);
        });
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapControlPlaneApi();
        return app;
    }
}
