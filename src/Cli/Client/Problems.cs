using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Federation.Cli.Client;

/// <summary>Turns an error answer (RFC 7807 problem+json, or anything else) into the one line the user sees.</summary>
internal static class Problems
{
    public const string AuthHint = "use --token or 'fedctl config control-planes add --token-file'";

    private const int MaxBodyInMessage = 200;

    /// <summary>The message for an error answer; <paramref name="subject"/> (e.g. <c>Dataplane "x" (mesh default)</c>) fills in when the server says too little.</summary>
    public static string Describe(HttpStatusCode status, string? reasonPhrase, string body, string? subject)
    {
        var (headline, parameters) = Parse(body);
        headline ??= (int)status switch
        {
            401 => "authentication required",
            403 => "access denied",
            404 when subject is not null => $"{subject} not found",
            _ => $"HTTP {(int)status} {reasonPhrase ?? StandardReason(status)}{PlainBody(body)}",
        };
        var message = parameters.Count == 0
            ? headline
            : $"{headline.TrimEnd(' ', ':', '.')}: {string.Join("; ", parameters)}";
        if (status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            message = $"{message} ({AuthHint})";
        }
        return OneLine(message);
    }

    /// <summary>Collapses line breaks and runs of spaces, so every error stays one line.</summary>
    public static string OneLine(string text)
    {
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text.Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = true;
                continue;
            }
            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }
            builder.Append(c);
        }
        return builder.ToString();
    }

    private static (string? Headline, List<string> Parameters) Parse(string body)
    {
        var parameters = new List<string>();
        JsonObject? problem = null;
        try
        {
            problem = body.TrimStart().StartsWith('{') ? JsonNode.Parse(body) as JsonObject : null;
        }
        catch (JsonException)
        {
        }
        if (problem is null)
        {
            return (null, parameters);
        }
        var headline = Text(problem["detail"]) ?? Text(problem["title"]) ?? Text(problem["message"]);
        var invalid = problem["invalid_parameters"] ?? problem["invalidParameters"] ?? problem["details"];
        if (invalid is JsonArray array)
        {
            foreach (var item in array.OfType<JsonObject>())
            {
                var field = Text(item["field"]);
                var reason = Text(item["reason"]) ?? Text(item["message"]) ?? "invalid";
                parameters.Add(string.IsNullOrEmpty(field) ? reason : $"{field}: {reason}");
            }
        }
        return (headline, parameters);
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() is { Length: > 0 } s ? s : null;

    private static string StandardReason(HttpStatusCode status)
    {
        using var response = new HttpResponseMessage(status);
        return response.ReasonPhrase ?? ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string PlainBody(string body)
    {
        var text = OneLine(body);
        if (text.Length == 0 || text.StartsWith('<'))
        {
            return "";
        }
        return ": " + (text.Length > MaxBodyInMessage ? text[..MaxBodyInMessage] + "..." : text);
    }
}
