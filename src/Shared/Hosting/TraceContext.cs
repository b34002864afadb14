using System.Diagnostics;

namespace Federation.Hosting;

/// <summary>
/// W3C trace context (<c>traceparent</c>) for work that crosses a process or a queue: a write on the global API,
/// the KDS message that carries it, the zone's store commit, the xDS push it causes.
/// </summary>
public static class TraceContext
{
    /// <summary>The <c>traceparent</c> of <paramref name="context"/>, or null when there is no trace.</summary>
    public static string? Format(ActivityContext context) =>
        context == default ? null
            : $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{((context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";

    /// <summary>The context a <c>traceparent</c> names, remote; default when absent or malformed.</summary>
    public static ActivityContext Parse(string? traceparent) =>
        traceparent is not null && ActivityContext.TryParse(traceparent, null, isRemote: true, out var context) ? context : default;

    /// <summary>The current activity's context (default when nothing is being traced).</summary>
    public static ActivityContext Current => Activity.Current?.Context ?? default;

    /// <summary>
    /// Starts an activity for work caused by <paramref name="causes"/>: a child of the first, linked to the others
    /// (a batch can carry several writes). Null, without looking at <paramref name="causes"/>, when nothing listens;
    /// null too when there is no cause and <paramref name="rootWhenUncaused"/> is false.
    /// </summary>
    public static Activity? StartCausedBy(string name, IEnumerable<ActivityContext> causes, bool rootWhenUncaused = false)
    {
        if (!Telemetry.Source.HasListeners())
        {
            return null;
        }
        var traced = causes.Where(c => c != default).Distinct().ToList();
        if (traced.Count == 0)
        {
            return rootWhenUncaused ? Telemetry.Source.StartActivity(name, ActivityKind.Internal, parentContext: default) : null;
        }
        var links = traced.Skip(1).Select(c => new ActivityLink(c));
        return Telemetry.Source.StartActivity(name, ActivityKind.Internal, traced[0], links: links);
    }
}
