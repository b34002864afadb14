using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Federation.Dataplane.Commands;
using Federation.Dataplane.Tests.Testing;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Dataplane.ZoneProxy.Stats;
using Google.Protobuf.WellKnownTypes;
using static Federation.Dataplane.Tests.ZoneProxy.XdsResources;

namespace Federation.Dataplane.Tests.ZoneProxy;

/// <summary>
/// <c>fed-dp run --type ingress|egress</c>, the real command in-process: registration on a small zone API, config from
/// the zone's real ADS server (fed by the test), traffic through the proxy, <c>/stats</c>, and unregistration.
/// </summary>
public sealed class ZoneProxyAgentTests : IAsyncLifetime
{
    private const string Sni = "backend.default.mesh";

    private static readonly X509Certificate2 Certificate = Tls.SelfSigned(Sni);

    private readonly TempDirectory _dir = new();
    private readonly LogWriter _error = new();
    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly HttpClient _http = new() { Timeout = Within.Default };

    /// <summary>Pulses when a connection through the proxy ends.</summary>
    private readonly Pulse _connectionEnded = new();
    private volatile ZoneProxyStats? _stats;
    private FakeZone _zone = null!;
    private FakeXdsServer _xds = null!;
    private LoopbackServer _backend = null!;
    private int _port;
    private int _adminPort;

    public async ValueTask InitializeAsync()
    {
        _zone = await FakeZone.StartAsync();
        _xds = await FakeXdsServer.StartAsync();
        _backend = LoopbackServer.Tls(Certificate, LoopbackServer.TaggedEcho("backend-1"));
        File.WriteAllText(_dir.File("zone.token"), FakeZone.ZoneToken + "\n");
        (_port, _adminPort) = (FreePort(), FreePort());
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _backend.DisposeAsync();
        await _xds.DisposeAsync();
        await _zone.DisposeAsync();
        _http.Dispose();
        _stop.Dispose();
        _dir.Dispose();
    }

    private Task<int> RunAsync(params string[] args) =>
        FedDp.RunAsync(args, new DataplaneEnvironment
        {
            Out = TextWriter.Null,
            Error = _error,
            ZoneProxyStarted = stats =>
            {
                _stats = stats;
                stats.ConnectionEnded += _ => _connectionEnded.Set();
            },
        }, _stop.Token);

    private string[] Ingress(params string[] more) =>
    [
        "run", "--type", "ingress", "--cp", _zone.Address.ToString(), "--token-file", _dir.File("zone.token"), "--name", "ingress-1",
        "--port", $"{_port}", "--advertised-address", "127.0.0.2", "--advertised-port", "20001", "--admin-port", $"{_adminPort}",
        "--xds-address", _xds.Address, "--registration-interval", "100ms", .. more,
    ];

    /// <summary>What the zone serves an ingress: a listener on its port with one SNI chain, the EDS cluster and its endpoints.</summary>
    private void PublishBackend(int port, IPEndPoint endpoint) => _xds.Publish(
        (RoutingConfig.ListenerType, "ingress", Listener("127.0.0.1", (uint)port, Chain(Sni, "backend.default"))),
        (RoutingConfig.ClusterType, "backend.default", EdsCluster("backend.default")),
        (RoutingConfig.EndpointType, "backend.default", Assignment("backend.default", Locality("zone-2", 1, 0, ("127.0.0.1", (uint)endpoint.Port, 1, HealthStatus.Healthy)))));

    private async Task<JsonObject> StatsAsync() =>
        (await _http.GetFromJsonAsync<JsonObject>($"http://127.0.0.1:{_adminPort}/stats", TestContext.Current.CancellationToken))!;

    [Fact]
    public async Task Run_Ingress_RegistersTakesConfigOverXdsProxiesBySniAndUnregistersOnStop()
    {
        PublishBackend(_port, _backend.Address);

        var run = RunAsync(Ingress());

        await _xds.Events.WaitUntilAsync(() => _xds.Acks.Select(a => a.TypeUrl).Distinct().Count() == 3, "ACKs of the Listener, Cluster and ClusterLoadAssignment",
            () => $"acks: {string.Join(", ", _xds.Acks)}; nacks: {string.Join(", ", _xds.Nacks)}; log: {_error.Text}");
        var registered = Assert.Single(_zone.ZoneProxies);
        Assert.Equal("zoneingresses/ingress-1", registered.Key);
        Assert.Equal($$$"""{"type":"ZoneIngress","name":"ingress-1","networking":{"address":"127.0.0.1","port":{{{_port}}},"advertisedAddress":"127.0.0.2","advertisedPort":20001}}""", registered.Value.ToJsonString());
        var (node, authorization) = Assert.Single(_xds.Connections);
        Assert.Equal(("ingress-1", "ingress", "fed-dp"), (node.Id, node.Metadata.Fields["federation.io/proxy-type"].StringValue, node.UserAgentName));
        Assert.Equal($"Bearer {FakeZone.ZoneToken}", authorization);
        Assert.Empty(_xds.Nacks);

        await _error.WaitForAsync($"listening on 127.0.0.1:{_port}");
        var (socket, ssl) = await Tls.ConnectAsync(_port, Sni, Certificate);
        using (socket)
        await using (ssl)
        {
            Assert.Equal("backend-1:through the ingress", await Tls.AskAsync(ssl, "through the ingress"));
        }
        await _connectionEnded.WaitUntilAsync(() => _stats?.Closed(ConnectionOutcome.Forwarded) == 1, "the connection through the ingress to end");
        var stats = await StatsAsync();
        Assert.Equal("ingress", stats["proxy"]!.GetValue<string>());
        Assert.Equal($"127.0.0.1:{_port}", stats["listening"]!.GetValue<string>());
        var cluster = stats["clusters"]!["backend.default"]!;
        Assert.Equal(1, cluster["connections"]!.GetValue<long>());
        Assert.True(cluster["bytesDownstreamToUpstream"]!.GetValue<long>() > 0 && cluster["bytesUpstreamToDownstream"]!.GetValue<long>() > 0, cluster.ToJsonString());
        Assert.Equal($"127.0.0.1:{_backend.Address.Port}", cluster["endpoints"]![0]!["address"]!.GetValue<string>());
        var metrics = await _http.GetStringAsync($"http://127.0.0.1:{_adminPort}/metrics", TestContext.Current.CancellationToken);
        Assert.Contains("federation_zoneproxy_connections_closed", metrics, StringComparison.Ordinal);

        await _stop.CancelAsync();

        Assert.Equal(0, await run.Within10s("fed-dp to stop"));
        Assert.Empty(_zone.ZoneProxies);
        Assert.Contains(_zone.Requests, r => r.StartsWith("DELETE /zoneingresses/ingress-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_Ingress_ConfigItCannotHonour_IsNackedWithTheReason_AndTheLastGoodConfigStays()
    {
        PublishBackend(_port, _backend.Address);
        var run = RunAsync(Ingress());
        await _xds.Events.WaitUntilAsync(() => _xds.Acks.Count(a => a.TypeUrl == RoutingConfig.ListenerType) == 1, "the first Listener to be ACKed", () => _error.Text);

        var http = new FilterChain
        {
            Name = "http",
            FilterChainMatch = new FilterChainMatch { ServerNames = { "web.default.mesh" } },
            Filters = { new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(new HttpConnectionManager()) } },
        };
        _xds.Publish(
            (RoutingConfig.ListenerType, "ingress", Listener("127.0.0.1", (uint)_port, Chain(Sni, "backend.default"), http)),
            (RoutingConfig.ClusterType, "backend.default", EdsCluster("backend.default")),
            (RoutingConfig.EndpointType, "backend.default", Assignment("backend.default", Locality("zone-2", 1, 0, ("127.0.0.1", (uint)_backend.Address.Port, 1, HealthStatus.Healthy)))));

        await _xds.Events.WaitUntilAsync(() => _xds.Nacks.Count == 1, "the Listener with an HTTP filter to be NACKed", () => _error.Text);
        var (type, _, reason) = _xds.Nacks[0];
        Assert.Equal(RoutingConfig.ListenerType, type);
        Assert.Contains("network filter 'envoy.filters.network.http_connection_manager'", reason, StringComparison.Ordinal);
        await _error.WaitForAsync("rejected (NACK) Listener version 2");
        var (socket, ssl) = await Tls.ConnectAsync(_port, Sni, Certificate);
        using (socket)
        await using (ssl)
        {
            Assert.Equal("backend-1:still served", await Tls.AskAsync(ssl, "still served"));
        }
        var stats = await StatsAsync();
        Assert.Equal(1, stats["xds"]!["nacks"]!.GetValue<long>());
        Assert.Contains("http_connection_manager", stats["xds"]!["lastNack"]!.GetValue<string>(), StringComparison.Ordinal);

        await _stop.CancelAsync();
        Assert.Equal(0, await run.Within10s("fed-dp to stop"));
    }

    [Fact]
    public async Task Run_Ingress_ListenerOnAPortItCannotBind_IsNacked()
    {
        using var occupied = new TcpListener(IPAddress.Loopback, 0);
        occupied.Start();
        PublishBackend(((IPEndPoint)occupied.LocalEndpoint).Port, _backend.Address);

        var run = RunAsync(Ingress());

        await _xds.Events.WaitUntilAsync(() => _xds.Nacks.Count >= 1, "the Listener on a taken port to be NACKed", () => _error.Text);
        Assert.Contains($"cannot listen on 127.0.0.1:{((IPEndPoint)occupied.LocalEndpoint).Port}: AddressAlreadyInUse", _xds.Nacks[0].Reason, StringComparison.Ordinal);
        await _stop.CancelAsync();
        Assert.Equal(0, await run.Within10s("fed-dp to stop"));
    }

    [Fact]
    public async Task Run_Ingress_ZoneAlreadyHoldsIt_IsNotRewritten_ButRegisteredAgainWhenTheZoneLosesIt()
    {
        // What the zone filled in (availableServices) must survive fed-dp's start and its registration checks.
        _zone.ZoneProxies["zoneingresses/ingress-1"] = JsonNode.Parse($$$"""
            {"type":"ZoneIngress","name":"ingress-1","zone":"zone-1","availableServices":[{"mesh":"default","instances":1,"tags":{"kuma.io/service":"backend"}}],
             "networking":{"address":"127.0.0.1","port":{{{_port}}},"advertisedAddress":"127.0.0.2","advertisedPort":20001}}
            """)!.AsObject();
        PublishBackend(_port, _backend.Address);
        var run = RunAsync(Ingress());
        await _zone.Changed.WaitUntilAsync(() => _zone.Requests.Count(r => r.StartsWith("GET /zoneingresses/ingress-1", StringComparison.Ordinal)) >= 3,
            "a few registration checks", () => string.Join("\n", _zone.Requests));
        Assert.DoesNotContain(_zone.Requests, r => r.StartsWith("PUT", StringComparison.Ordinal));
        Assert.NotNull(_zone.ZoneProxies["zoneingresses/ingress-1"]["availableServices"]);

        _zone.ZoneProxies.Clear();

        await _zone.Changed.WaitUntilAsync(() => _zone.ZoneProxies.ContainsKey("zoneingresses/ingress-1"), "fed-dp to register the ingress again", () => string.Join("\n", _zone.Requests));
        await _error.WaitForAsync("the zone had lost ZoneIngress ingress-1");
        await _stop.CancelAsync();
        Assert.Equal(0, await run.Within10s("fed-dp to stop"));
    }

    [Fact]
    public async Task Run_Egress_RegistersAZoneEgressWithoutAdvertisedCoordinates()
    {
        PublishBackend(_port, _backend.Address);

        var run = RunAsync("run", "--type", "egress", "--cp", _zone.Address.ToString(), "--token-file", _dir.File("zone.token"), "--name", "egress-1",
            "--port", $"{_port}", "--xds-address", _xds.Address);

        await _xds.Events.WaitUntilAsync(() => _xds.Acks.Select(a => a.TypeUrl).Distinct().Count() == 3, "ACKs of all three types", () => _error.Text);
        Assert.Equal($$$"""{"type":"ZoneEgress","name":"egress-1","networking":{"address":"127.0.0.1","port":{{{_port}}}}}""", _zone.ZoneProxies["zoneegresses/egress-1"].ToJsonString());
        Assert.Equal("egress", Assert.Single(_xds.Connections).Node.Metadata.Fields["federation.io/proxy-type"].StringValue);
        await _stop.CancelAsync();
        Assert.Equal(0, await run.Within10s("fed-dp to stop"));
        Assert.Empty(_zone.ZoneProxies);
    }

    [Fact]
    public async Task Run_Ingress_ListenerElsewhereThanTheFlags_ListensWhereTheListenerSaysAndSaysSo()
    {
        var other = FreePort();
        PublishBackend(other, _backend.Address);

        var run = RunAsync(Ingress());

        await _error.WaitForAsync($"the zone's Listener is on 127.0.0.1:{other}, not on --address/--port 127.0.0.1:{_port}");
        await _error.WaitForAsync($"listening on 127.0.0.1:{other}");
        await _stop.CancelAsync();
        Assert.Equal(0, await run.Within10s("fed-dp to stop"));
    }

    [Fact]
    public async Task Run_Ingress_TokenRefused_PrintsOneLine()
    {
        File.WriteAllText(_dir.File("zone.token"), "not-the-token");

        var code = await RunAsync(Ingress()).Within10s("fed-dp to fail");

        Assert.Equal(1, code);
        Assert.Equal(
            $"fed-dp: cannot read ZoneIngress ingress-1 from {_zone.Address.ToString().TrimEnd('/')}: the bearer token is neither the admin token nor a valid ingress zone token for zone 'zone-1': the token is not a JWT (HTTP 403 Forbidden)",
            _error.Lines[^1]);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
