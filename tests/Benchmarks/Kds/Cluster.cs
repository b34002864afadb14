using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Federation.Global;
using Federation.Security;
using Federation.Stores;
using Federation.Zone;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Federation.Benchmarks.Kds;

/// <summary>A real global and N real zones in this process, on loopback ports, for the scale harnesses.</summary>
internal sealed class Cluster : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fed-bench-").FullName;
    private readonly List<WebApplication> _zones = [];
    private WebApplication? _global;

    public string Store { get; init; } = "memory";

    public int GlobalApiPort { get; } = FreePort();

    public int GlobalKdsPort { get; } = FreePort();

    public HttpClient Admin { get; } = new() { Timeout = TimeSpan.FromSeconds(60) };

    public IResourceStore GlobalStore => _global!.Services.GetRequiredService<IResourceStore>();

    public IReadOnlyList<WebApplication> Zones => _zones;

    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Builds the global; <paramref name="seed"/> runs against its store before it starts serving.</summary>
    public async Task StartGlobalAsync(Func<IResourceStore, Task>? seed = null)
    {
        _global = GlobalHost.Build(new Dictionary<string, string?>
        {
            ["Federation:ApiPort"] = GlobalApiPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Federation:KdsPort"] = GlobalKdsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Federation:Store"] = Store,
            ["Federation:DataDir"] = Path.Combine(_root, "global"),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await GlobalHost.PrepareAsync(_global.Services);
        if (seed is not null)
        {
            await seed(GlobalStore);
        }
        await _global.StartAsync();
        Admin.BaseAddress = new Uri($"http://127.0.0.1:{GlobalApiPort}/");
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _global.Services.GetRequiredService<AdminToken>().Value);
    }

    public async Task PutAsync(string path, string json)
    {
        using var response = await Admin.PutAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Builds a zone joined to the global; <paramref name="seed"/> runs against its store before it starts.</summary>
    public async Task<WebApplication> StartZoneAsync(string name, Func<IResourceStore, Task>? seed = null)
    {
        using var tokenResponse = await Admin.PostAsync("tokens/zone", new StringContent($$"""{"zone":"{{name}}","validFor":"24h"}""", Encoding.UTF8, "application/json"));
        tokenResponse.EnsureSuccessStatusCode();
        var dir = Path.Combine(_root, name);
        Directory.CreateDirectory(dir);
        var tokenFile = Path.Combine(dir, "zone.token");
        await File.WriteAllTextAsync(tokenFile, await tokenResponse.Content.ReadAsStringAsync());
        var zone = ZoneHost.Build(new Dictionary<string, string?>
        {
            ["Federation:Zone"] = name,
            ["Federation:ApiPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Federation:XdsPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Federation:DnsPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Federation:Store"] = Store,
            ["Federation:DataDir"] = Path.Combine(dir, "data"),
            ["Federation:GlobalAddress"] = $"https://127.0.0.1:{GlobalKdsPort}",
            ["Federation:ZoneTokenFile"] = tokenFile,
            ["Federation:KdsCaFile"] = Path.Combine(_root, "global", "kds-ca.pem"),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        if (seed is not null)
        {
            await seed(zone.Services.GetRequiredService<IResourceStore>());
        }
        await zone.StartAsync();
        _zones.Add(zone);
        return zone;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var zone in _zones)
        {
            await zone.StopAsync();
            await zone.DisposeAsync();
        }
        if (_global is not null)
        {
            await _global.StopAsync();
            await _global.DisposeAsync();
        }
        Admin.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
