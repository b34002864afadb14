using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Federation.Global;
using Federation.Global.Kds;
using Federation.Kds.Protocol;
using Federation.Zone.Kds;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Federation.IntegrationTests.Fixture;

/// <summary>The global control plane under test: REST API and KDS (TLS) on loopback ports of its own.</summary>
public sealed class GlobalNode : ControlPlaneNode
{
    private readonly MultiZoneOptions _options;

    public GlobalNode(string name, string dataDir, MultiZoneOptions options)
        : base(name, dataDir, options.StoreKind)
    {
        _options = options;
    }

    /// <summary>The KDS port; 0 until the first start picks one, then fixed.</summary>
    public int KdsPort { get; private set; }

    /// <summary>The CA zones verify the KDS certificate with (created in the data directory at first start).</summary>
    public string CaFile => Path.Combine(DataDir, KdsTls.CaCertFile);

    /// <summary>Every KDS call received, recorded before authentication.</summary>
    public KdsCallLog Calls { get; } = new();

    protected override WebApplication Build(Action<WebApplicationBuilder> configure)
    {
        var overrides = CommonOverrides();
        overrides["Federation:KdsPort"] = KdsPort.ToString(CultureInfo.InvariantCulture);
        overrides["Federation:HealthCheckIntervalSeconds"] = _options.HealthCheckInterval.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        overrides["Federation:OfflineTimeoutSeconds"] = _options.OfflineTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        if (_options.GlobalMaxMessageBytes is { } max)
        {
            overrides["Federation:KdsMaxMessageBytes"] = max.ToString(CultureInfo.InvariantCulture);
        }
        return GlobalHost.Build(overrides, configure);
    }

    protected override Task PrepareAsync(IServiceProvider services, CancellationToken cancellationToken) =>
        GlobalHost.PrepareAsync(services, cancellationToken);

    protected override void ConfigureServices(WebApplicationBuilder builder) =>
        builder.Services.AddSingleton<IStartupFilter>(Calls.StartupFilter());

    protected override void OnStarted(IReadOnlyCollection<Uri> addresses)
    {
        ApiPort = addresses.Single(a => a.Scheme == Uri.UriSchemeHttp).Port;
        KdsPort = addresses.Single(a => a.Scheme == Uri.UriSchemeHttps).Port;
    }

    /// <summary>Issues a zone token through the real API (<c>POST /tokens/zone</c>).</summary>
    public async Task<string> IssueZoneTokenAsync(string zone, string validFor, CancellationToken cancellationToken, params string[] scopes)
    {
        var request = new JsonObject { ["zone"] = zone, ["validFor"] = validFor };
        if (scopes.Length > 0)
        {
            request["scope"] = new JsonArray([.. scopes.Select(s => (JsonNode)s)]);
        }
        var body = request.ToJsonString();
        using var response = await Api.PostAsync("/tokens/zone", new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"POST /tokens/zone for {zone} on {Name} answered {(int)response.StatusCode}: {text}");
        }
        return text.Trim();
    }

    /// <summary>Revokes a token through the real API (<c>POST /tokens/zone/revoke</c>).</summary>
    public async Task RevokeZoneTokenAsync(string token, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["token"] = token }.ToJsonString();
        using var response = await Api.PostAsync("/tokens/zone/revoke", new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            Assert.Fail($"POST /tokens/zone/revoke on {Name} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <summary><c>GET /zones/{zone}/_overview</c>; null while the zone is unknown.</summary>
    public Task<JsonObject?> OverviewAsync(string zone, CancellationToken cancellationToken) =>
        TryGetAsync($"/zones/{zone}/_overview", cancellationToken);

    /// <summary>A raw KDS client trusting the global's CA, for driving the protocol by hand.</summary>
    public (GrpcChannel Channel, KdsSync.KdsSyncClient Client) CreateKdsClient()
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(CaFile));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => KdsClient.VerifyWithCa(ca, certificate, errors);
        var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{KdsPort}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        return (channel, new KdsSync.KdsSyncClient(channel));
    }
}
