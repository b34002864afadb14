using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Federation.Hosting;
using Federation.Security;
using Federation.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Federation.IntegrationTests.Fixture;

/// <summary>
/// One control plane (the global or a zone) hosted in this process on real loopback ports, that a test can
/// start, stop gracefully, kill, and start again on the same ports, data directory and store.
/// </summary>
public abstract class ControlPlaneNode : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private WebApplication? _app;
    private MemoryStore? _memoryStore;
    private HttpClient? _api;

    protected ControlPlaneNode(string name, string dataDir, string storeKind)
    {
        Name = name;
        DataDir = dataDir;
        StoreKind = storeKind;
        Logs = new CapturedLogs(name);
        Directory.CreateDirectory(dataDir);
    }

    public string Name { get; }

    public string DataDir { get; }

    /// <summary>memory, sqlite or redis. A memory store is kept by the node across restarts, standing in for a durable one.</summary>
    public string StoreKind { get; }

    public CapturedLogs Logs { get; }

    /// <summary>The node's clock: real time plus an offset a test may move.</summary>
    public ShiftableTimeProvider Clock { get; } = new();

    /// <summary>The REST API port; 0 until the first start picks one, then fixed for every restart.</summary>
    public int ApiPort { get; protected set; }

    public bool IsRunning => _app is not null;

    /// <summary>How many times this node was started.</summary>
    public int Starts { get; private set; }

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException($"{Name} is not running");

    /// <summary>An API client with the node's admin token (valid across restarts: the token lives in the data directory).</summary>
    public HttpClient Api => _api ?? throw new InvalidOperationException($"{Name} was never started");

    protected abstract WebApplication Build(Action<WebApplicationBuilder> configure);

    protected virtual Task PrepareAsync(IServiceProvider services, CancellationToken cancellationToken) =>
        services.OpenStoreAsync(cancellationToken);

    /// <summary>Learns the ports picked at the first start from the listeners' addresses.</summary>
    protected abstract void OnStarted(IReadOnlyCollection<Uri> addresses);

    protected virtual void ConfigureServices(WebApplicationBuilder builder)
    {
    }

    /// <summary>Configuration every node gets: store, data directory, API port.</summary>
    protected Dictionary<string, string?> CommonOverrides() => new()
    {
        ["Federation:ApiPort"] = ApiPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Federation:Store"] = StoreKind,
        ["Federation:DataDir"] = DataDir,
    };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException($"{Name} is already running");
        }
        var app = Build(Configure);
        try
        {
            await PrepareAsync(app.Services, cancellationToken).WaitAsync(StartTimeout, cancellationToken);
            await app.StartAsync(cancellationToken).WaitAsync(StartTimeout, cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        _app = app;
        Starts++;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        OnStarted([.. addresses.Select(a => new Uri(a))]);
        if (_api is null)
        {
            _api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ApiPort}"), Timeout = TimeSpan.FromSeconds(10) };
            _api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", app.Services.GetRequiredService<AdminToken>().Value);
        }
    }

    private void Configure(WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(Logs);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        builder.WebHost.UseShutdownTimeout(StopTimeout);
        builder.Services.Replace(ServiceDescriptor.Singleton<TimeProvider>(Clock));
        if (StoreKind == "memory")
        {
            // Kept by the node (the wrapper does not own it), so stopping the node does not dispose it: a restart finds
            // its data. Instrumented like a real control plane's store (metrics, commit traces).
            var memory = _memoryStore ??= new MemoryStore(Clock);
            builder.Services.Replace(ServiceDescriptor.Singleton<IResourceStore>(sp =>
                new InstrumentedStore(memory, sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), ownsInner: false)));
        }
        ConfigureServices(builder);
    }

    /// <summary>A graceful stop: streams are closed, hosted services flush.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var app = Take();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(StopTimeout);
        try
        {
            await app.StopAsync(cts.Token);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// An abrupt stop, as close to a killed process as one process allows: no grace period, connections are
    /// reset, hosted services get an already-cancelled token and so flush nothing.
    /// </summary>
    public async Task KillAsync()
    {
        var app = Take();
        try
        {
            await app.StopAsync(new CancellationToken(canceled: true));
        }
        catch (Exception)
        {
            // A hosted service failing to stop is what a kill looks like.
        }
        await app.DisposeAsync();
    }

    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await StopAsync(cancellationToken);
        await StartAsync(cancellationToken);
    }

    private WebApplication Take() => Interlocked.Exchange(ref _app, null) ?? throw new InvalidOperationException($"{Name} is not running");

    /// <summary>GET a JSON document; null when the API answers 404.</summary>
    public async Task<JsonObject?> TryGetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await Api.GetAsync(path, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {path} on {Name}: {(int)response.StatusCode} {body}");
        }
        return JsonNode.Parse(body) as JsonObject ?? throw new HttpRequestException($"GET {path} on {Name}: not a JSON object: {body}");
    }

    /// <summary>The names in a list (every page); empty when the list's mesh does not exist.</summary>
    public async Task<IReadOnlyList<string>> ListNamesAsync(string path, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        var next = path + (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "size=1000";
        while (next is not null)
        {
            var page = await TryGetAsync(next, cancellationToken);
            if (page is null)
            {
                return [];
            }
            names.AddRange(page["items"]!.AsArray().Select(i => i!["name"]!.GetValue<string>()));
            next = page["next"]?.GetValue<string>();
        }
        return names;
    }

    /// <summary>PUT a YAML document (admin token); the response is the caller's to check and dispose.</summary>
    public Task<HttpResponseMessage> PutAsync(string path, string yaml, CancellationToken cancellationToken) =>
        Api.PutAsync(path, new StringContent(yaml, Encoding.UTF8, "application/yaml"), cancellationToken);

    /// <summary>PUT a YAML document and require success.</summary>
    public async Task ApplyAsync(string path, string yaml, CancellationToken cancellationToken)
    {
        using var response = await PutAsync(path, yaml, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"PUT {path} on {Name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary>DELETE and require success.</summary>
    public async Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await Api.DeleteAsync(path, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"DELETE {path} on {Name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            try
            {
                await StopAsync(CancellationToken.None);
            }
            catch (Exception)
            {
                // Disposal after a failed test must not hide the failure.
            }
        }
        _api?.Dispose();
        GC.SuppressFinalize(this);
    }

    public override string ToString() => Name;
}
