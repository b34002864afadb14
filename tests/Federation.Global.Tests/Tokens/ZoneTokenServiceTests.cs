using Federation.Global.Tokens;
using Federation.Resources;
using Federation.Security;
using Federation.Stores;
using Microsoft.Extensions.Time.Testing;

namespace Federation.Global.Tests.Tokens;

public sealed class ZoneTokenServiceTests : IAsyncLifetime
{
    // RSA key generation dominates these tests: generate each global's first key once and copy it into each store.
    private static readonly Lazy<Task<IReadOnlyList<Resource>>> OurKeys = new(GenerateKeysAsync);
    private static readonly Lazy<Task<IReadOnlyList<Resource>>> OtherGlobalsKeys = new(GenerateKeysAsync);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly MemoryStore _store;
    private readonly ZoneTokenService _tokens;

    public ZoneTokenServiceTests()
    {
        _store = new MemoryStore(_time);
        _tokens = new ZoneTokenService(_store, _time);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _store.CommitAsync([.. (await OurKeys.Value).Select(k => new PutResource(k))], Ct);
        await _tokens.EnsureKeysAsync(Ct);
    }

    private static async Task<IReadOnlyList<Resource>> GenerateKeysAsync()
    {
        var store = new MemoryStore();
        await new ZoneTokenService(store, TimeProvider.System).EnsureKeysAsync(CancellationToken.None);
        return await store.ListAllAsync(ResourceTypes.GlobalSecret.Name);
    }

    /// <summary>A token service of another global, whose keys are <paramref name="keys"/>.</summary>
    private async Task<ZoneTokenService> OtherGlobalAsync(IEnumerable<Resource> keys)
    {
        var store = new MemoryStore(_time);
        await store.CommitAsync([.. keys.Select(k => new PutResource(k))], Ct);
        return new ZoneTokenService(store, _time);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private Task<string> IssueAsync(string zone = "zone-1", double hours = 1, params string[] scopes) =>
        _tokens.IssueAsync(zone, TimeSpan.FromHours(hours), scopes.Length > 0 ? scopes : ["cp"], Ct);

    private static void AssertFailed(TokenCheck check, TokenFailure failure, string message)
    {
        Assert.False(check.IsValid, "the token was accepted");
        Assert.Equal(failure, check.Failure);
        Assert.Contains(message, check.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_FreshToken_ValidWithItsZoneAndId()
    {
        var token = await IssueAsync();

        var check = await _tokens.ValidateAsync(token, "zone-1", "cp", Ct);

        Assert.True(check.IsValid, check.Message);
        Assert.Equal("zone-1", check.Claim(ZoneTokenService.ZoneClaim));
        Assert.Equal(ZoneTokenService.ReadTokenId(token), check.Token!.Id);
        Assert.Equal(["cp"], check.ClaimList(ZoneTokenService.ScopeClaim));
        Assert.Equal("zone-token-signing-key-1", check.Token.Kid);
    }

    [Fact]
    public async Task Validate_Expired_FailsNamingTheExpiry()
    {
        var token = await IssueAsync(hours: 1);

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(31));
        var check = await _tokens.ValidateAsync(token, "zone-1", "cp", Ct);

        AssertFailed(check, TokenFailure.Expired, "the token expired at 2030-01-01T01:00:00Z");
    }

    [Fact]
    public async Task Validate_ExpiredWithinTheClockSkew_StillValid()
    {
        var token = await IssueAsync(hours: 1);

        _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(10));

        Assert.True((await _tokens.ValidateAsync(token, "zone-1", "cp", Ct)).IsValid);
    }

    [Fact]
    public async Task Validate_IssuedInTheFuture_NotYetValid()
    {
        var ahead = new FakeTimeProvider(_time.GetUtcNow().AddHours(1));
        var token = await new ZoneTokenService(_store, ahead).IssueAsync("zone-1", TimeSpan.FromHours(2), ["cp"], Ct);

        var check = await _tokens.ValidateAsync(token, "zone-1", "cp", Ct);

        AssertFailed(check, TokenFailure.NotYetValid, "the token is not valid before 2030-01-01T01:00:00Z");
    }

    [Fact]
    public async Task Validate_SignedByAnotherGlobal_BadSignature()
    {
        // The other global's first key has the same name (and so the same kid) as ours.
        var other = await OtherGlobalAsync(await OtherGlobalsKeys.Value);
        var foreign = await other.IssueAsync("zone-1", TimeSpan.FromHours(1), ["cp"], Ct);

        var check = await _tokens.ValidateAsync(foreign, "zone-1", "cp", Ct);

        AssertFailed(check, TokenFailure.BadSignature, "signature is invalid");
    }

    [Fact]
    public async Task Validate_TamperedPayload_BadSignature()
    {
        var token = await IssueAsync(zone: "zone-1");
        var parts = token.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(parts[1]));
        parts[1] = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload.Replace("\"zone-1\"", "\"zone-2\"", StringComparison.Ordinal));

        var check = await _tokens.ValidateAsync(string.Join('.', parts), "zone-2", "cp", Ct);

        AssertFailed(check, TokenFailure.BadSignature, "signature is invalid");
    }

    [Fact]
    public async Task Validate_UnknownKeyId_FailsNamingTheKey()
    {
        // Another global's third key: a kid this global has never had.
        var privateKeys = (await OtherGlobalsKeys.Value).Where(k => k.Labels.ContainsKey(SecretLabels.Private));
        var other = await OtherGlobalAsync(privateKeys.Select(k => k with { Key = k.Key with { Name = "zone-token-signing-key-3" } }));
        var token = await other.IssueAsync("zone-1", TimeSpan.FromHours(1), ["cp"], Ct);

        var check = await _tokens.ValidateAsync(token, "zone-1", "cp", Ct);

        AssertFailed(check, TokenFailure.UnknownKey, "signed with key 'zone-token-signing-key-3'");
    }

    [Fact]
    public async Task Validate_AfterKeyRotation_OldTokensStillValidAndNewOnesUseTheNewestKey()
    {
        var old = await IssueAsync();
        await _tokens.Keys.RotateAsync(Ct);
        var fresh = await IssueAsync();

        Assert.True((await _tokens.ValidateAsync(old, "zone-1", "cp", Ct)).IsValid);
        var check = await _tokens.ValidateAsync(fresh, "zone-1", "cp", Ct);
        Assert.True(check.IsValid);
        Assert.Equal("zone-token-signing-key-2", check.Token!.Kid);
    }

    [Fact]
    public async Task Validate_Revoked_FailsNamingTheTokenId()
    {
        var token = await IssueAsync();
        var other = await IssueAsync();
        var id = ZoneTokenService.ReadTokenId(token)!;

        await _tokens.RevokeAsync(id, Ct);

        AssertFailed(await _tokens.ValidateAsync(token, "zone-1", "cp", Ct), TokenFailure.Revoked, $"token {id} was revoked");
        Assert.True((await _tokens.ValidateAsync(other, "zone-1", "cp", Ct)).IsValid);
        Assert.Contains(id, await _tokens.RevokedAsync(Ct));
    }

    [Fact]
    public async Task Revoke_Twice_ListedOnce()
    {
        var id = ZoneTokenService.ReadTokenId(await IssueAsync())!;

        await _tokens.RevokeAsync(id, Ct);
        await _tokens.RevokeAsync(id, Ct);

        Assert.Single(await _tokens.RevokedAsync(Ct));
    }

    [Fact]
    public async Task Validate_TokenOfAnotherZone_FailsNamingBoth()
    {
        var token = await IssueAsync(zone: "zone-2");

        var check = await _tokens.ValidateAsync(token, "zone-1", "cp", Ct);

        AssertFailed(check, TokenFailure.WrongSubject, "the token is for zone 'zone-2', but the caller says it is zone 'zone-1'");
    }

    [Fact]
    public async Task Validate_WrongScope_FailsNamingTheNeededScope()
    {
        var token = await IssueAsync(scopes: "ingress");

        var check = await _tokens.ValidateAsync(token, "zone-1", "cp", Ct);

        AssertFailed(check, TokenFailure.WrongScope, "the token's scope is [ingress]; 'cp' is needed here");
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    public async Task Validate_NotAJwt_Malformed(string token)
    {
        var check = await _tokens.ValidateAsync(token, "zone-1", "cp", Ct);

        Assert.Equal(TokenFailure.Malformed, check.Failure);
    }

    [Fact]
    public async Task Validate_SigningKeys_NeverSynced()
    {
        var keys = await _store.ListAllAsync(ResourceTypes.GlobalSecret.Name, cancellationToken: Ct);

        Assert.NotEmpty(keys);
        // Private halves stay on the global; the public halves travel so zones can verify ingress/egress tokens.
        var privateKeys = keys.Where(k => k.Name.StartsWith("zone-token-signing-key-", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(privateKeys);
        Assert.All(privateKeys, k => Assert.False(ResourceTypes.GlobalSecret.IsSynced(k), $"{k.Name} would be sent to zones"));
        Assert.All(keys.Where(ResourceTypes.GlobalSecret.IsSynced), k =>
            Assert.DoesNotContain("PRIVATE KEY", System.Text.Encoding.UTF8.GetString(k.GetSpec<Federation.Resources.Types.SecretSpec>().Bytes), StringComparison.Ordinal));
    }
}
