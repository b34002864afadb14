using System.Globalization;
using System.Text.Json.Nodes;
using Federation.Zone;
using Federation.Zone.Kds;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Federation.IntegrationTests.Fixture;

/// <summary>A zone control plane under test. It dials the global through its own <see cref="TcpLink"/>, so a test can cut its network.</summary>
public sealed class ZoneNode : ControlPlaneNode
{
    private readonly MultiZoneOptions _options;

    public ZoneNode(string name, string dataDir, GlobalNode global, MultiZoneOptions options)
        : base(name, dataDir, options.StoreKind)
    {
        _options = options;
        Global = global;
        Link = new TcpLink(() => global.KdsPort);
    }

    public GlobalNode Global { get; }

    /// <summary>The network between this zone and the global.</summary>
    public TcpLink Link { get; }

    /// <summary>The file the zone reads its token from (rewritten by <see cref="WriteToken"/>).</summary>
    public string TokenFile => Path.Combine(DataDir, "zone.token");

    /// <summary>Reconnect backoff, per zone (refusal tests slow it down to measure it).</summary>
    public (TimeSpan Min, TimeSpan Max) Backoff { get; set; }

    /// <summary>The CA file the zone trusts instead of its global's (to test certificate verification).</summary>
    public string? CaFileOverride { get; set; }

    /// <summary>The xDS port; 0 until the first start picks one, then fixed.</summary>
    public int XdsPort { get; private set; }

    /// <summary>The DNS (UDP) port, picked free once.</summary>
    public int DnsPort { get; } = FreeUdpPort();

    private static int FreeUdpPort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public void WriteToken(string token) => File.WriteAllText(TokenFile, token + "\n");

    public string ReadToken() => File.ReadAllText(TokenFile).Trim();

    /// <summary>What the zone's KDS client is doing right now.</summary>
    public KdsClientState KdsState => Services.GetRequiredService<KdsClientState>();

    protected override WebApplication Build(Action<WebApplicationBuilder> configure)
    {
        var overrides = CommonOverrides();
        overrides["Federation:Zone"] = Name;
        overrides["Federation:XdsPort"] = XdsPort.ToString(CultureInfo.InvariantCulture);
        overrides["Federation:DnsPort"] = DnsPort.ToString(CultureInfo.InvariantCulture);
        overrides["Federation:GlobalAddress"] = $"https://127.0.0.1:{Link.Port}";
        overrides["Federation:ZoneTokenFile"] = TokenFile;
        overrides["Federation:KdsCaFile"] = CaFileOverride ?? Global.CaFile;
        var (min, max) = Backoff == default ? (_options.BackoffMin, _options.BackoffMax) : Backoff;
        overrides["Federation:KdsBackoffMinSeconds"] = min.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        overrides["Federation:KdsBackoffMaxSeconds"] = max.TotalSeconds.ToString(CultureInfo.InvariantCulture);
        if (_options.ZoneMaxMessageBytes is { } limit)
        {
            overrides["Federation:KdsMaxMessageBytes"] = limit.ToString(CultureInfo.InvariantCulture);
        }
        return ZoneHost.Build(overrides, configure);
    }

    /// <summary>Kestrel reports listeners in the order they were declared: the API, then xDS.</summary>
    protected override void OnStarted(IReadOnlyCollection<Uri> addresses)
    {
        ApiPort = addresses.First().Port;
        XdsPort = addresses.Last().Port;
    }

    /// <summary><c>GET /status/kds</c> on the zone's API.</summary>
    public async Task<JsonObject> KdsStatusAsync(CancellationToken cancellationToken) =>
        await TryGetAsync("/status/kds", cancellationToken) ?? throw new HttpRequestException($"{Name}: /status/kds not found");

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Link.DisposeAsync();
    }
}
