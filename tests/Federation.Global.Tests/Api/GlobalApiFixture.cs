using System.Net.Http.Headers;
using Federation.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Federation.Global.Tests.Api;

/// <summary>A real global control plane on a loopback port (Kestrel, memory store) and clients for it.</summary>
public sealed class GlobalApiFixture : IAsyncLifetime
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("fed-global-api-").FullName;
    private WebApplication? _app;

    public HttpClient Admin { get; private set; } = null!;

    public HttpClient Anonymous { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _app = GlobalHost.Build(new Dictionary<string, string?>
        {
            ["Federation:ApiPort"] = "0",
            ["Federation:KdsPort"] = "0",
            ["Federation:Store"] = "memory",
            ["Federation:DataDir"] = _dataDir,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await GlobalHost.PrepareAsync(_app.Services);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        var token = _app.Services.GetRequiredService<AdminToken>().Value;
        Admin = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Anonymous = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        Anonymous.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Directory.Delete(_dataDir, recursive: true);
    }
}
