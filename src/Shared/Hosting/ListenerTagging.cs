using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Federation.Hosting;

/// <summary>
/// Keeps each listener to its purpose: a control plane serves its REST API on one port and gRPC (KDS/xDS) on
/// another; a request that arrives on the wrong one gets a 404 naming the right port.
/// </summary>
public static class ListenerTagging
{
    private const string Key = "federation.listener";
    public const string Api = "api";
    public const string Grpc = "grpc";

    /// <summary>Tags connections accepted by this listener.</summary>
    public static ListenOptions Tag(this ListenOptions listen, string listener)
    {
        listen.Use(next => context =>
        {
            context.Items[Key] = listener;
            return next(context);
        });
        return listen;
    }

    public static string? ListenerOf(HttpContext http) =>
        http.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(Key, out var v) == true ? v as string : null;

    /// <summary>Middleware: gRPC only on gRPC listeners, everything else only on the API listener.</summary>
    public static async Task EnforceAsync(HttpContext http, Func<Task> next)
    {
        var listener = ListenerOf(http);
        var isGrpc = http.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
        if (listener == Grpc && !isGrpc)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            await http.Response.WriteAsync("this port serves gRPC only; the REST API is on the API port");
            return;
        }
        if (listener == Api && isGrpc)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        await next();
    }
}
