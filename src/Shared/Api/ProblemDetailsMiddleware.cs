using System.Text.Json.Nodes;
using Federation.Serialization;
using Federation.Stores;
using Federation.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Federation.Api;

/// <summary>Turns every refusal into RFC 7807 problem+json, with each invalid field listed (Kuma's <c>invalid_parameters</c>).</summary>
public sealed partial class ProblemDetailsMiddleware(RequestDelegate next, ILogger<ProblemDetailsMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext http)
    {
        try
        {
            await next(http);
        }
        catch (Exception e) when (!http.Response.HasStarted && Map(e) is { } problem)
        {
            await WriteAsync(http, problem);
        }
        catch (Exception e) when (!http.Response.HasStarted && e is not OperationCanceledException)
        {
            LogUnhandled(logger, e, http.Request.Method, http.Request.Path);
            await WriteAsync(http, new Problem(500, "Internal Server Error", "the control plane failed to handle the request; see its log", []));
        }
    }

    private sealed record Problem(int Status, string Title, string Detail, IReadOnlyList<ValidationError> Errors);

    private static Problem? Map(Exception e) => e switch
    {
        ApiException a => new Problem(a.Status, a.Title, a.Message, a.Errors),
        ValidationException v => new Problem(400, "Invalid resource", v.Errors.Count == 1 ? v.Errors[0].ToString() : $"{v.Errors.Count} problems: {v.Message}", v.Errors),
        DocumentFormatException d => new Problem(400, "Malformed document", d.Message, []),
        ResourceConflictException c => new Problem(409, "Conflict", c.Message, []),
        ResourceNotFoundException n => new Problem(404, "Not Found", n.Message, []),
        BadHttpRequestException b => new Problem(b.StatusCode, b.StatusCode == 413 ? "Payload Too Large" : "Bad Request", b.Message, []),
        ArgumentException a when a.ParamName == "token" => new Problem(400, "Bad Request", a.Message, []),
        _ => null,
    };

    private static Task WriteAsync(HttpContext http, Problem problem)
    {
        http.Response.Clear();
        http.Response.StatusCode = problem.Status;
        http.Response.ContentType = "application/problem+json";
        var body = new JsonObject
        {
            ["type"] = $"https://federation.dev/problems/{problem.Status}",
            ["title"] = problem.Title,
            ["status"] = problem.Status,
            ["detail"] = problem.Detail,
            ["instance"] = http.Request.Path.Value,
        };
        if (problem.Errors.Count > 0)
        {
            body["invalid_parameters"] = new JsonArray([.. problem.Errors.Select(e => (JsonNode)new JsonObject { ["field"] = e.Field, ["reason"] = e.Message })]);
        }
        return http.Response.WriteAsync(body.ToJsonString(FederationJson.Options));
    }

    [LoggerMessage(EventId = 1, EventName = "UnhandledApiError", Level = LogLevel.Error, Message = "Unhandled error serving {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
