using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Federation.Api;

/// <summary>Reads request bodies with a hard size limit, answering 413 rather than buffering without bound.</summary>
public static class RequestBody
{
    public const long DefaultMaxBytes = 1024 * 1024;

    public static async Task<string> ReadTextAsync(HttpContext http, CancellationToken ct)
    {
        var max = http.RequestServices.GetService(typeof(ApiOptions)) is ApiOptions o ? o.MaxBodyBytes : DefaultMaxBytes;
        if (http.Request.ContentLength > max)
        {
            throw ApiException.TooLarge($"the body is {http.Request.ContentLength} bytes; the limit is {max} bytes");
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // Our own check below produces the readable 413; keep the server's limit out of its way.
            limit.MaxRequestBodySize = null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > max)
            {
                throw ApiException.TooLarge($"the body is larger than the limit of {max} bytes");
            }
            buffer.Write(chunk, 0, read);
        }
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            throw ApiException.BadRequest("the body is not valid UTF-8");
        }
    }
}

/// <summary>API settings shared by the global and zones.</summary>
public sealed class ApiOptions
{
    /// <summary>Largest accepted request body.</summary>
    public long MaxBodyBytes { get; set; } = RequestBody.DefaultMaxBytes;

    /// <summary>Let clients on the loopback interface read without the admin token.</summary>
    public bool AllowLoopbackReads { get; set; } = true;
}
