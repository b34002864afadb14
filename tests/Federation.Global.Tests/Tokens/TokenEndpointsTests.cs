using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Federation.Global.Tests.Api;

namespace Federation.Global.Tests.Tokens;

public sealed class TokenEndpointsTests(GlobalApiFixture fixture) : IClassFixture<GlobalApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    public async Task Revoke_TokenThatIsNotAJwt_Returns400NamingTheField(string token)
    {
        using var response = await fixture.Admin.PostAsync("/tokens/zone/revoke", Json(new JsonObject { ["token"] = token }.ToJsonString()), Ct);

        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"expected 400, got {(int)response.StatusCode}: {body}");
        Assert.Contains("is not a JWT with a token id", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IssueThenRevoke_ByToken_ReturnsItsId()
    {
        using var issued = await fixture.Admin.PostAsync("/tokens/zone", Json("""{"zone":"zone-1","validFor":"1h"}"""), Ct);
        var token = (await issued.Content.ReadAsStringAsync(Ct)).Trim();
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);

        using var revoked = await fixture.Admin.PostAsync("/tokens/zone/revoke", Json(new JsonObject { ["token"] = token }.ToJsonString()), Ct);

        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        var id = JsonNode.Parse(await revoked.Content.ReadAsStringAsync(Ct))!["revoked"]!.GetValue<string>();
        Assert.Equal(Global.Tokens.ZoneTokenService.ReadTokenId(token), id);
    }
}
