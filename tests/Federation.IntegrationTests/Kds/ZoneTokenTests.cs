using Federation.IntegrationTests.Fixture;
using Federation.Kds.Protocol;
using Grpc.Core;

namespace Federation.IntegrationTests.Kds;

/// <summary>
/// Zone tokens are checked on every KDS call: a refused zone gets the right gRPC status with a message naming the
/// failed check, never appears as a zone, and retries with backoff rather than in a hot loop.
/// </summary>
public sealed class ZoneTokenTests
{
    /// <summary>Slower than the fixture's default, so four retries take measurably long (see <see cref="AssertBacksOffAsync"/>).</summary>
    private static readonly (TimeSpan Min, TimeSpan Max) RefusedBackoff = (TimeSpan.FromSeconds(0.1), TimeSpan.FromSeconds(0.5));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<MultiZoneFixture> StartGlobalOnlyAsync() => MultiZoneFixture.StartAsync(new MultiZoneOptions { Zones = [] }, Ct);

    /// <summary>Waits until the zone reports the refusal (status and reason) it got from the global.</summary>
    private static async Task AssertRefusedAsync(MultiZoneFixture cluster, ZoneNode zone, StatusCode code, string reason)
    {
        var status = await cluster.WaitForAsync($"{zone.Name} reports '{code}: ... {reason}'", zone.KdsStatusAsync,
            s => s["lastError"]?.GetValue<string>() is { } e && e.StartsWith($"{code}:", StringComparison.Ordinal) && e.Contains(reason, StringComparison.Ordinal),
            Ct);
        Assert.False(status["connected"]!.GetValue<bool>());
        // The zone records the error, then logs it: wait for the log rather than race it.
        await cluster.WaitForLogAsync(zone, "KdsRefused", m => m.Contains(reason, StringComparison.Ordinal), $"the refusal naming '{reason}'", Ct);
    }

    /// <summary>
    /// Five connection attempts (each starts with a HealthCheck) since <paramref name="since"/> must span at least
    /// 0.3 s: exponential backoff from 0.1 s sums to about 0.5 s over four retries, while a hot loop would make
    /// them within milliseconds.
    /// </summary>
    private static async Task AssertBacksOffAsync(MultiZoneFixture cluster, ZoneNode zone, DateTimeOffset since)
    {
        var attempts = await cluster.WaitForAsync($"{zone.Name} retried at least 4 times after being refused",
            _ => Task.FromResult(cluster.Global.Calls.Calls(zone.Name).Where(c => c.Time >= since).ToList()),
            calls => calls.Count >= 5, Ct, describe: calls => $"{calls.Count} attempts");
        var span = attempts[4].Time - attempts[0].Time;
        Assert.True(span >= TimeSpan.FromSeconds(0.3),
            $"{zone.Name} made 5 attempts within {span.TotalMilliseconds:0} ms: not backing off ({string.Join(", ", attempts.Take(5).Select(a => a.Time.ToString("ss.fff", System.Globalization.CultureInfo.InvariantCulture)))})");
    }

    private static async Task<RpcException> RawHealthCheckAsync(GlobalNode global, string? zone, string? token)
    {
        var (channel, client) = global.CreateKdsClient();
        using (channel)
        {
            var metadata = new Metadata();
            if (zone is not null)
            {
                metadata.Add("kds-zone", zone);
            }
            if (token is not null)
            {
                metadata.Add("authorization", $"Bearer {token}");
            }
            return await Assert.ThrowsAsync<RpcException>(async () =>
                await client.HealthCheckAsync(new ZoneHealthCheckRequest { Zone = zone ?? "" }, metadata, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Ct));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Connect_ExpiredToken_ConnectedZoneCutOffAndRefusedUnauthenticated()
    {
        await using var cluster = await StartGlobalOnlyAsync();
        var token = await cluster.Global.IssueZoneTokenAsync("zone-1", "1m", Ct);
        var zone = await cluster.AddZoneAsync("zone-1", token, backoff: RefusedBackoff, cancellationToken: Ct);
        await cluster.WaitForZoneStatusAsync("zone-1", "Online", Ct);

        cluster.BeginPhase("the global's clock moved past the token's expiry (plus the 30 s skew)");
        var since = DateTimeOffset.UtcNow;
        cluster.Global.Clock.Advance(TimeSpan.FromMinutes(2));
        await AssertRefusedAsync(cluster, zone, StatusCode.Unauthenticated, "the token expired at");
        await cluster.WaitForZoneStatusAsync("zone-1", "Offline", Ct);
        await AssertBacksOffAsync(cluster, zone, since);
        var raw = await RawHealthCheckAsync(cluster.Global, "zone-1", token);
        Assert.Equal(StatusCode.Unauthenticated, raw.StatusCode);
        Assert.Contains("expired", raw.Status.Detail, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Connect_TokenSignedByAnotherGlobal_RefusedUnauthenticatedNamingTheSignature()
    {
        await using var cluster = await StartGlobalOnlyAsync();
        var other = await cluster.StartOtherGlobalAsync("other-global", Ct);
        var foreign = await other.IssueZoneTokenAsync("zone-1", "24h", Ct);

        cluster.BeginPhase("zone-1 dials with a token from another global");
        var since = DateTimeOffset.UtcNow;
        var zone = await cluster.AddZoneAsync("zone-1", foreign, backoff: RefusedBackoff, cancellationToken: Ct);
        await AssertRefusedAsync(cluster, zone, StatusCode.Unauthenticated, "signature is invalid");
        await AssertBacksOffAsync(cluster, zone, since);
        Assert.Equal(0, zone.KdsState.Connections);
        Assert.Null(await cluster.Global.TryGetAsync("/zones/zone-1", Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Connect_RevokedToken_ConnectedZoneDisconnectedAndRefusedPermissionDenied()
    {
        await using var cluster = await StartGlobalOnlyAsync();
        var zone = await cluster.AddZoneAsync("zone-1", backoff: RefusedBackoff, cancellationToken: Ct);
        await cluster.WaitForZoneStatusAsync("zone-1", "Online", Ct);

        cluster.BeginPhase("zone-1's token revoked while it is connected");
        var since = DateTimeOffset.UtcNow;
        await cluster.Global.RevokeZoneTokenAsync(zone.ReadToken(), Ct);
        await AssertRefusedAsync(cluster, zone, StatusCode.PermissionDenied, "was revoked");
        var offline = await cluster.WaitForZoneStatusAsync("zone-1", "Offline", Ct);
        Assert.NotNull(MultiZoneFixture.LastSubscription(offline)!["disconnectTime"]);
        await AssertBacksOffAsync(cluster, zone, since);

        cluster.BeginPhase("zone-1 given a new token");
        zone.WriteToken(await cluster.Global.IssueZoneTokenAsync("zone-1", "24h", Ct));
        await cluster.WaitForZoneStatusAsync("zone-1", "Online", Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Connect_TokenOfAnotherZone_RefusedPermissionDeniedNamingBothZones()
    {
        await using var cluster = await StartGlobalOnlyAsync();
        var zone2Token = await cluster.Global.IssueZoneTokenAsync("zone-2", "24h", Ct);

        cluster.BeginPhase("zone-1 dials with zone-2's token");
        var since = DateTimeOffset.UtcNow;
        var zone = await cluster.AddZoneAsync("zone-1", zone2Token, backoff: RefusedBackoff, cancellationToken: Ct);
        await AssertRefusedAsync(cluster, zone, StatusCode.PermissionDenied, "the token is for zone 'zone-2', but the caller says it is zone 'zone-1'");
        await AssertBacksOffAsync(cluster, zone, since);
        Assert.Null(await cluster.Global.TryGetAsync("/zones/zone-1", Ct));
        Assert.Null(await cluster.Global.TryGetAsync("/zones/zone-2", Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Connect_TokenWithoutControlPlaneScope_RefusedPermissionDenied()
    {
        await using var cluster = await StartGlobalOnlyAsync();
        var ingressToken = await cluster.Global.IssueZoneTokenAsync("zone-1", "24h", Ct, "ingress");

        cluster.BeginPhase("zone-1 dials with an ingress-only token");
        var zone = await cluster.AddZoneAsync("zone-1", ingressToken, backoff: RefusedBackoff, cancellationToken: Ct);
        await AssertRefusedAsync(cluster, zone, StatusCode.PermissionDenied, "'cp' is needed here");
    }

    [Fact(Timeout = 60_000)]
    public async Task Connect_NoToken_RefusedUnauthenticated()
    {
        await using var cluster = await StartGlobalOnlyAsync();

        cluster.BeginPhase("zone-1 dials with an empty token file");
        var since = DateTimeOffset.UtcNow;
        var zone = await cluster.AddZoneAsync("zone-1", token: "", backoff: RefusedBackoff, cancellationToken: Ct);
        await AssertRefusedAsync(cluster, zone, StatusCode.Unauthenticated, "missing zone token");
        await AssertBacksOffAsync(cluster, zone, since);

        cluster.BeginPhase("raw calls without a token or without a zone name");
        var noToken = await RawHealthCheckAsync(cluster.Global, "zone-1", token: null);
        Assert.Equal(StatusCode.Unauthenticated, noToken.StatusCode);
        Assert.Contains("missing zone token", noToken.Status.Detail, StringComparison.Ordinal);
        var noZone = await RawHealthCheckAsync(cluster.Global, zone: null, await cluster.Global.IssueZoneTokenAsync("zone-1", "24h", Ct));
        Assert.Equal(StatusCode.Unauthenticated, noZone.StatusCode);
        Assert.Contains("missing 'kds-zone' metadata", noZone.Status.Detail, StringComparison.Ordinal);
        foreach (var garbage in new[] { "not-a-jwt", "a.b.c" })
        {
            var refused = await RawHealthCheckAsync(cluster.Global, "zone-1", garbage);
            Assert.True(refused.StatusCode == StatusCode.Unauthenticated, $"token '{garbage}': {refused.Status}");
            Assert.Contains("not a JWT", refused.Status.Detail, StringComparison.Ordinal);
        }
    }
}
