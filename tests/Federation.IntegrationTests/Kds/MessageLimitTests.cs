using System.Text.RegularExpressions;
using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>A response over the KDS message limit fails for its type only, with an error naming type, size and count.</summary>
public sealed partial class MessageLimitTests
{
    private const string Mesh = "limits";
    private const int Limit = 4096;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string SecretManifest(string name, int bytes) => $"""
        type: Secret
        mesh: {Mesh}
        name: {name}
        data: {Convert.ToBase64String(new byte[bytes])}
        """;

    [GeneratedRegex(@"the Secret response is (?<size>\d+) bytes with (?<count>\d+) resources, above the (?<limit>\d+)-byte message limit")]
    private static partial Regex TooLarge();

    [Fact(Timeout = 60_000)]
    public async Task Send_SecretsOverTheLimit_FailNamingTypeSizeAndCountWhileOtherTypesSync()
    {
        await using var cluster = await MultiZoneFixture.StartAsync(new MultiZoneOptions { Zones = ["zone-1"], GlobalMaxMessageBytes = Limit }, Ct);
        var zone = cluster["zone-1"];
        await cluster.Global.ApplyAsync(Manifests.MeshPath(Mesh), Manifests.Mesh(Mesh), Ct);

        cluster.BeginPhase("a Secret larger than the limit, then a policy");
        await cluster.Global.ApplyAsync($"/meshes/{Mesh}/secrets/big", SecretManifest("big", Limit * 2), Ct);
        await cluster.Global.ApplyAsync(Manifests.PolicyPath(Mesh, "after-big"), Manifests.AllowFrom(Mesh, "after-big", "web"), Ct);
        await cluster.WaitForResourceAsync(zone, Manifests.PolicyPath(Mesh, "after-big"), "a policy keeps syncing while Secrets cannot", Ct);

        var overview = await cluster.WaitForAsync("the overview shows why Secrets are not synced",
            ct => cluster.Global.OverviewAsync("zone-1", ct),
            o => MultiZoneFixture.LastSubscription(o)?["status"]?["stat"]?["Secret"]?["lastNackReason"] is not null,
            Ct);
        var reason = MultiZoneFixture.LastSubscription(overview)!["status"]!["stat"]!["Secret"]!["lastNackReason"]!.GetValue<string>();
        var match = TooLarge().Match(reason);
        Assert.True(match.Success, $"the reason does not name type, size and count: {reason}");
        Assert.True(int.Parse(match.Groups["size"].Value, System.Globalization.CultureInfo.InvariantCulture) > Limit, reason);
        Assert.Equal("1", match.Groups["count"].Value);
        Assert.Equal(Limit.ToString(System.Globalization.CultureInfo.InvariantCulture), match.Groups["limit"].Value);
        await cluster.WaitForLogAsync(cluster.Global, "KdsResponseTooLarge", m => TooLarge().IsMatch(m), "the error naming type, size and count", Ct);
        Assert.Empty(await zone.ListNamesAsync($"/meshes/{Mesh}/secrets", Ct));
        Assert.Equal("Online", overview!["status"]!.GetValue<string>());

        cluster.BeginPhase("the big Secret replaced by a small one");
        await cluster.Global.DeleteAsync($"/meshes/{Mesh}/secrets/big", Ct);
        await cluster.Global.ApplyAsync($"/meshes/{Mesh}/secrets/small", SecretManifest("small", 64), Ct);
        await cluster.WaitForResourceAsync(zone, $"/meshes/{Mesh}/secrets/small", "Secrets sync again once they fit", Ct);
        Assert.Null(await zone.TryGetAsync($"/meshes/{Mesh}/secrets/big", Ct));
    }
}
