using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>The zone verifies the global's KDS certificate with the CA it was given.</summary>
public sealed class KdsTlsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Connect_GlobalCertificateNotFromTrustedCa_ZoneRefusesBeforeSendingItsToken()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(new MultiZoneOptions { Zones = [] }, Ct);
        var other = await cluster.StartOtherGlobalAsync("other-global", Ct);

        cluster.BeginPhase("zone-1 trusts another global's CA");
        var zone = await cluster.AddZoneAsync("zone-1", caFile: other.CaFile, cancellationToken: Ct);
        await cluster.WaitForAsync("zone-1 reports a TLS failure", zone.KdsStatusAsync,
            s => s["lastError"]?.GetValue<string>() is { } e && e.Contains("SSL", StringComparison.OrdinalIgnoreCase),
            Ct);
        await cluster.WaitUntilAsync(_ => Task.FromResult(zone.Link.Forwarded >= 2), "zone-1 tried at least twice", Ct);
        Assert.Empty(cluster.Global.Calls.Calls("zone-1"));
        Assert.Equal(0, zone.KdsState.Connections);
    }
}
