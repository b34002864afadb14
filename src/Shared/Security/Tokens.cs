using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Federation.Security;

/// <summary>Why a token was refused; decides the status a caller gets (unauthenticated vs permission denied).</summary>
public enum TokenFailure
{
    None,
    Malformed,
    BadSignature,
    UnknownKey,
    Expired,
    NotYetValid,
    WrongAudience,
    Revoked,
    WrongSubject,
    WrongScope,
}

/// <summary>The outcome of checking a token: its claims, or which check failed and why.</summary>
public sealed record TokenCheck(TokenFailure Failure, string Message, JsonWebToken? Token)
{
    public bool IsValid => Failure == TokenFailure.None;

    public static TokenCheck Fail(TokenFailure failure, string message) => new(failure, message, null);

    public string? Claim(string name) => Token is not null && Token.TryGetPayloadValue<string>(name, out var v) ? v : null;

    public IReadOnlyList<string> ClaimList(string name)
    {
        if (Token is null)
        {
            return [];
        }
        if (Token.TryGetPayloadValue<string[]>(name, out var many) && many is not null)
        {
            return many;
        }
        return Token.TryGetPayloadValue<string>(name, out var one) && one is not null ? [one] : [];
    }
}

/// <summary>RS256 JWTs with a <c>kid</c>, for zone and dataplane tokens.</summary>
public static class Jwt
{
    public const string Issuer = "federation-global";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };

    public static string Issue(SigningKey key, string audience, IReadOnlyDictionary<string, object> claims, DateTimeOffset now, TimeSpan validFor, string tokenId)
    {
        var payload = new Dictionary<string, object>(claims)
        {
            [JwtRegisteredClaimNames.Jti] = tokenId,
        };
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + validFor).UtcDateTime,
            Claims = payload,
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key.Rsa) { KeyId = key.Id }, SecurityAlgorithms.RsaSha256),
        };
        return Handler.CreateToken(descriptor);
    }

    /// <summary>Checks format, key, signature, audience and lifetime; the caller checks revocation and subject.</summary>
    public static async Task<TokenCheck> ValidateAsync(string token, string audience, Func<string, Task<RSA?>> findKey, DateTimeOffset now)
    {
        if (TryRead(token) is not { } unverified)
        {
            return TokenCheck.Fail(TokenFailure.Malformed, "the token is not a JWT");
        }
        if (string.IsNullOrEmpty(unverified.Kid))
        {
            return TokenCheck.Fail(TokenFailure.Malformed, "the token has no key id (kid)");
        }
        var rsa = await findKey(unverified.Kid);
        if (rsa is null)
        {
            return TokenCheck.Fail(TokenFailure.UnknownKey, $"the token is signed with key '{unverified.Kid}', which this control plane does not have");
        }
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = audience,
            IssuerSigningKey = new RsaSecurityKey(rsa) { KeyId = unverified.Kid },
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) => true,
            RequireExpirationTime = true,
        };
        var result = await Handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
        {
            return result.Exception switch
            {
                SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException =>
                    TokenCheck.Fail(TokenFailure.BadSignature, "the token's signature is invalid (it was not issued by this control plane, or it was altered)"),
                SecurityTokenInvalidAudienceException => TokenCheck.Fail(TokenFailure.WrongAudience, $"the token is not meant for {audience}"),
                SecurityTokenInvalidIssuerException => TokenCheck.Fail(TokenFailure.WrongAudience, "the token was not issued by a Federation global control plane"),
                _ => TokenCheck.Fail(TokenFailure.Malformed, $"the token is invalid: {result.Exception?.Message}"),
            };
        }
        var jwt = (JsonWebToken)result.SecurityToken;
        // Lifetime is checked here against our clock (TimeProvider), so tests can move time.
        if (jwt.ValidTo != DateTime.MinValue && now.UtcDateTime > jwt.ValidTo.AddSeconds(30))
        {
            return TokenCheck.Fail(TokenFailure.Expired, $"the token expired at {jwt.ValidTo:yyyy-MM-ddTHH:mm:ssZ}");
        }
        if (jwt.ValidFrom != DateTime.MinValue && now.UtcDateTime < jwt.ValidFrom.AddSeconds(-30))
        {
            return TokenCheck.Fail(TokenFailure.NotYetValid, $"the token is not valid before {jwt.ValidFrom:yyyy-MM-ddTHH:mm:ssZ}");
        }
        return new TokenCheck(TokenFailure.None, "", jwt);
    }

    /// <summary>
    /// The token's header and claims, unverified; null when it is not a JWT. <c>CanReadToken</c> only checks the
    /// shape (three dot-separated parts), so reading can still fail on parts that do not decode.
    /// </summary>
    public static JsonWebToken? TryRead(string token)
    {
        if (!Handler.CanReadToken(token))
        {
            return null;
        }
        try
        {
            return Handler.ReadJsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    public static string NewTokenId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

}
