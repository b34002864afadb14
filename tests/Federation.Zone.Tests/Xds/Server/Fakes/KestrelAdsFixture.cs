using System.Net;
using Federation.Kds.Xds;
using Federation.Zone.Xds.Server;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Federation.Zone.Tests.Xds.Server.Fakes;

/// <summary>The ADS service on real Kestrel (127.0.0.1, a free port, HTTP/2 cleartext) over a fake snapshot source.</summary>
public sealed class KestrelAdsFixture : IAsyncLifetime
{
    private WebApplication? _app;

    internal FakeSnapshotSource Source { get; } = new();

    public Uri Address { get; private set; } = null!;

    /// <summary>One channel shared by every client of a test class (HTTP/2 multiplexing).</summary>
    public GrpcChannel Channel { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton<IXdsSnapshotSource>(Source);
        builder.Services.AddAdsServer();
        _app = builder.Build();
        _app.MapGrpcService<AdsService>();
        await _app.StartAsync();
        Address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Channel = XdsClient.CreateChannel(Address);
    }

    public async ValueTask DisposeAsync()
    {
        Channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
