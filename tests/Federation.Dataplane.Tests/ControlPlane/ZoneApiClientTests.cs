using System.Net;
using System.Net.Sockets;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Manifests;
using Federation.Dataplane.Tests.Testing;
using Microsoft.AspNetCore.Http;

namespace Federation.Dataplane.Tests.ControlPlane;

public sealed class ZoneApiClientTests : IAsyncLifetime
{
    private static readonly DataplaneManifest Backend = DataplaneManifest.Parse("""
        type: Dataplane
        mesh: default
        name: backend-1
        networking:
          address: 127.0.0.1
          inbound: [{port: 18080, tags: {kuma.io/service: backend}}]
        """, "dp.yaml");

    private FakeZone _zone = null!;
    private string _token = FakeZone.Token;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _zone = await FakeZone.StartAsync();

    public async ValueTask DisposeAsync() => await _zone.DisposeAsync();

    private ZoneApiClient Client(Uri? address = null) => new(address ?? _zone.Address, () => _token, null, TimeSpan.FromSeconds(5));

    [Fact]
    public async Task Register_PutsTheDocumentWithTheDataplaneToken_CreatedThenUnchanged()
    {
        using var client = Client();

        Assert.True(await client.RegisterAsync(Backend, Ct));
        Assert.False(await client.RegisterAsync(Backend, Ct));

        Assert.Equal(["PUT /meshes/default/dataplanes/backend-1 (Bearer the.dataplane.token)", "PUT /meshes/default/dataplanes/backend-1 (Bearer the.dataplane.token)"], _zone.Requests);
        var stored = _zone.Dataplanes["default/backend-1"];
        Assert.Equal("backend-1", stored["name"]!.GetValue<string>());
        Assert.Equal(18080, stored["networking"]!["inbound"]![0]!["port"]!.GetValue<int>());
    }

    [Fact]
    public async Task Register_Refused_SaysWhichDataplaneWhereAndTheServersReason()
    {
        _token = "wrong";
        using var client = Client();

        var e = await Assert.ThrowsAsync<ZoneApiException>(() => client.RegisterAsync(Backend, Ct));

        Assert.Equal(
            $"cannot register Dataplane default.backend-1 on {client.Address}: the bearer token is neither the admin token nor a valid dataplane token for this Dataplane: the token is not a JWT (HTTP 403 Forbidden)",
            e.Message);
        Assert.Equal(403, e.Status);
        Assert.False(e.Transient);
    }

    [Fact]
    public async Task Register_Invalid_ListsTheInvalidFields()
    {
        _zone.Intercept = http => http.Request.Method == "PUT"
            ? FakeZone.Problem(400, "2 problems", ("networking.address", "must not be empty"), ("mesh", "mesh 'default' does not exist"))
            : null;
        using var client = Client();

        var e = await Assert.ThrowsAsync<ZoneApiException>(() => client.RegisterAsync(Backend, Ct));

        Assert.EndsWith(": 2 problems: networking.address: must not be empty; mesh: mesh 'default' does not exist (HTTP 400 Bad Request)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_ZoneNotListening_IsTransientConnectionRefused()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = Client(new Uri($"http://127.0.0.1:{port}"));

        var e = await Assert.ThrowsAsync<ZoneApiException>(() => client.RegisterAsync(Backend, Ct));

        Assert.True(e.Transient);
        Assert.Null(e.Status);
        Assert.Equal($"cannot register Dataplane default.backend-1 on http://127.0.0.1:{port}: connection refused (is the zone control plane running?)", e.Message);
    }

    [Fact]
    public async Task Register_ZoneUnavailable_IsTransient()
    {
        _zone.Intercept = _ => FakeZone.Problem(503, "the CA of mesh 'default' has not reached this zone yet; retry shortly");
        using var client = Client();

        var e = await Assert.ThrowsAsync<ZoneApiException>(() => client.FetchCertificateAsync(Backend, Ct));

        Assert.True(e.Transient);
        Assert.Contains("has not reached this zone yet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unregister_DeletesAndAGoneDataplaneIsFine()
    {
        using var client = Client();
        await client.RegisterAsync(Backend, Ct);

        await client.UnregisterAsync(Backend, Ct);
        await client.UnregisterAsync(Backend, Ct);

        Assert.Empty(_zone.Dataplanes);
    }

    [Fact]
    public async Task FetchCertificate_ReadsPemsAndTimes()
    {
        using var client = Client();
        await client.RegisterAsync(Backend, Ct);

        var certificate = await client.FetchCertificateAsync(Backend, Ct);

        Assert.Equal("CERT backend-1", certificate.CertificatePem);
        Assert.Equal("KEY backend-1", certificate.PrivateKeyPem);
        Assert.Equal("CA", certificate.CaCertificatePem);
        Assert.True(certificate.NotBefore < certificate.RenewAt && certificate.RenewAt < certificate.NotAfter);
        Assert.Equal(TimeSpan.FromHours(5), certificate.NotAfter - certificate.RenewAt);
    }

    [Fact]
    public async Task GetXdsServer_ReadsAddressAndZone()
    {
        using var client = Client();

        var xds = await client.GetXdsServerAsync(Ct);

        Assert.Equal(new XdsServerInfo(FakeZone.XdsAddress, "zone-1"), xds);
    }

    [Fact]
    public async Task GetXdsServer_NotAZone_SaysSo()
    {
        _zone.Intercept = http => http.Request.Path == "/status/xds" ? Results.Json(new { mode = "global" }) : null;
        using var client = Client();

        var e = await Assert.ThrowsAsync<ZoneApiException>(() => client.GetXdsServerAsync(Ct));

        Assert.Contains("is this a zone control plane?", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryCall_ReadsTheTokenAnew()
    {
        var calls = 0;
        using var client = new ZoneApiClient(_zone.Address, () => ++calls == 1 ? "stale" : FakeZone.Token, null, TimeSpan.FromSeconds(5));

        await Assert.ThrowsAsync<ZoneApiException>(() => client.RegisterAsync(Backend, Ct));
        Assert.True(await client.RegisterAsync(Backend, Ct));
    }
}
