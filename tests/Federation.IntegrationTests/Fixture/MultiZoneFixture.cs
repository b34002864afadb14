using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Federation.IntegrationTests.Fixture;

/// <summary>
/// A real global and N real zones in this process, each on its own loopback ports, data directory and store,
/// joined with zone tokens issued through the global's API (the shape of Orleans' InProcTestCluster). Tests
/// stop, kill and restart any node, cut a zone's network, and wait for convergence by polling the real APIs
/// with a timeout; a timeout names the phase, what was awaited and what was last seen.
/// </summary>
public sealed class MultiZoneFixture : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fed-it-").FullName;
    private readonly List<ZoneNode> _zones = [];
    private readonly List<GlobalNode> _otherGlobals = [];

    private MultiZoneFixture(MultiZoneOptions options)
    {
        Options = options;
        Global = new GlobalNode("global", Path.Combine(_root, "global"), options);
    }

    public MultiZoneOptions Options { get; }

    public GlobalNode Global { get; }

    public IReadOnlyList<ZoneNode> Zones => _zones;

    public ZoneNode this[string zone] => _zones.FirstOrDefault(z => z.Name == zone) ?? throw new ArgumentException($"no zone '{zone}' in this fixture", nameof(zone));

    /// <summary>What the test is doing now; every timeout message starts with it.</summary>
    public string Phase { get; private set; } = "start-up";

    public void BeginPhase(string phase) => Phase = phase;

    /// <summary>Starts the global, then every zone of <paramref name="options"/>, and waits until each is Online.</summary>
    public static async Task<MultiZoneFixture> StartAsync(MultiZoneOptions? options, CancellationToken cancellationToken)
    {
        var fixture = new MultiZoneFixture(options ?? new MultiZoneOptions());
        try
        {
            await fixture.Global.StartAsync(cancellationToken);
            await Task.WhenAll(fixture.Options.Zones.Select(z => fixture.AddZoneAsync(z, cancellationToken: cancellationToken)));
            await Task.WhenAll(fixture.Zones.Select(z => fixture.WaitForZoneStatusAsync(z.Name, "Online", cancellationToken)));
            fixture.BeginPhase("test");
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Adds a zone: writes its token (issued by the global for <paramref name="zone"/> unless given) and starts
    /// it unless <paramref name="start"/> is false. Does not wait for it to connect.
    /// </summary>
    public async Task<ZoneNode> AddZoneAsync(string zone, string? token = null, bool start = true, (TimeSpan Min, TimeSpan Max)? backoff = null, string? caFile = null, CancellationToken cancellationToken = default)
    {
        var node = new ZoneNode(zone, Path.Combine(_root, zone), Global, Options) { CaFileOverride = caFile };
        if (backoff is { } b)
        {
            node.Backoff = b;
        }
        lock (_zones)
        {
            _zones.Add(node);
        }
        node.WriteToken(token ?? await Global.IssueZoneTokenAsync(zone, "24h", cancellationToken));
        if (start)
        {
            await node.StartAsync(cancellationToken);
        }
        return node;
    }

    /// <summary>Starts another, unrelated global (its own keys and CA), e.g. to issue tokens this federation must refuse.</summary>
    public async Task<GlobalNode> StartOtherGlobalAsync(string name, CancellationToken cancellationToken)
    {
        var node = new GlobalNode(name, Path.Combine(_root, name), Options);
        _otherGlobals.Add(node);
        await node.StartAsync(cancellationToken);
        return node;
    }

    /// <summary>
    /// Polls <paramref name="probe"/> until <paramref name="done"/> holds, and returns the value that satisfied it.
    /// On timeout the test fails with the phase, <paramref name="expected"/> and the last value seen.
    /// </summary>
    public async Task<T> WaitForAsync<T>(
        string expected,
        Func<CancellationToken, Task<T>> probe,
        Func<T, bool> done,
        CancellationToken cancellationToken,
        TimeSpan? timeout = null,
        Func<T, string>? describe = null)
    {
        var limit = timeout ?? Options.ConvergenceTimeout;
        var watch = Stopwatch.StartNew();
        var actual = "(nothing observed yet)";
        while (true)
        {
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(limit);
                var value = await probe(attempt.Token);
                if (done(value))
                {
                    return value;
                }
                actual = describe is null ? Describe(value) : describe(value);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or OperationCanceledException or InvalidOperationException)
            {
                actual = $"the probe failed: {e.Message}";
            }
            if (watch.Elapsed >= limit)
            {
                Assert.Fail(TimeoutMessage(expected, actual, limit));
            }
            await Task.Delay(Options.PollInterval, cancellationToken);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> is true; see <see cref="WaitForAsync{T}"/>.</summary>
    public Task WaitUntilAsync(Func<CancellationToken, Task<bool>> condition, string expected, CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        WaitForAsync(expected, condition, ok => ok, cancellationToken, timeout, ok => ok ? "true" : "still false");

    /// <summary>
    /// Checks that <paramref name="holds"/> stays true for the whole of <paramref name="duration"/> (e.g. a zone
    /// stays Online across health checks), failing at the first poll where it does not.
    /// </summary>
    public async Task HoldsForAsync<T>(
        string expected,
        TimeSpan duration,
        Func<CancellationToken, Task<T>> probe,
        Func<T, bool> holds,
        CancellationToken cancellationToken,
        Func<T, string>? describe = null)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            var value = await probe(cancellationToken).WaitAsync(Options.ConvergenceTimeout, cancellationToken);
            if (!holds(value))
            {
                Assert.Fail($"[phase: {Phase}] expected {expected} for {duration.TotalSeconds:0.##}s, but after {watch.Elapsed.TotalSeconds:0.##}s: {(describe is null ? Describe(value) : describe(value))}{RecentWarnings()}");
            }
            await Task.Delay(Options.PollInterval, cancellationToken);
        }
    }

    /// <summary>Waits until the global's overview shows <paramref name="zone"/> with <paramref name="status"/> (Online/Offline).</summary>
    public Task<JsonObject?> WaitForZoneStatusAsync(string zone, string status, CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        WaitForAsync($"the global shows {zone} {status} in /zones/{zone}/_overview",
            ct => Global.OverviewAsync(zone, ct),
            o => o?["status"]?.GetValue<string>() == status,
            cancellationToken, timeout,
            o => o is null ? "the zone is unknown to the global" : $"status {o["status"]}, last subscription {LastSubscription(o)?.ToJsonString()}");

    /// <summary>Waits until <paramref name="node"/> serves <paramref name="path"/> and, if given, <paramref name="match"/> holds.</summary>
    public async Task<JsonObject> WaitForResourceAsync(ControlPlaneNode node, string path, string expected, CancellationToken cancellationToken, Func<JsonObject, bool>? match = null, TimeSpan? timeout = null) =>
        (await WaitForAsync($"{node.Name} serves {path}: {expected}", ct => node.TryGetAsync(path, ct), r => r is not null && (match is null || match(r)), cancellationToken, timeout))!;

    /// <summary>Waits until <paramref name="node"/> answers 404 for <paramref name="path"/>.</summary>
    public Task WaitForAbsentAsync(ControlPlaneNode node, string path, string why, CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        WaitForAsync($"{node.Name} no longer holds {path} ({why})", ct => node.TryGetAsync(path, ct), r => r is null, cancellationToken, timeout);

    /// <summary>Waits until <paramref name="node"/> logged <paramref name="eventName"/> with a message matching <paramref name="match"/>.</summary>
    public Task<LogEntry> WaitForLogAsync(ControlPlaneNode node, string eventName, Func<string, bool> match, string expected, CancellationToken cancellationToken) =>
        WaitForAsync($"{node.Name} logs {eventName}: {expected}",
            _ => Task.FromResult(node.Logs.WithEvent(eventName).FirstOrDefault(e => match(e.Message))),
            e => e is not null, cancellationToken,
            describe: _ => $"{node.Logs.WithEvent(eventName).Count} {eventName} entries, none matching")!;

    /// <summary>The last KDS subscription in a zone overview.</summary>
    public static JsonObject? LastSubscription(JsonObject? overview) =>
        overview?["zoneInsight"]?["subscriptions"] is JsonArray { Count: > 0 } subs ? subs[^1] as JsonObject : null;

    private string TimeoutMessage(string expected, string actual, TimeSpan limit) =>
        $"[phase: {Phase}] waited {limit.TotalSeconds:0.##}s for: {expected}\n  actual: {actual}{RecentWarnings()}";

    /// <summary>The latest warnings and errors of every node, to explain a timeout.</summary>
    public string RecentWarnings()
    {
        var entries = new[] { (ControlPlaneNode)Global }.Concat(_zones)
            .SelectMany(n => n.Logs.AtLeast(LogLevel.Warning))
            .OrderBy(e => e.Time)
            .TakeLast(15)
            .ToList();
        if (entries.Count == 0)
        {
            return "";
        }
        var text = new StringBuilder("\n  recent warnings:");
        foreach (var e in entries)
        {
            text.Append($"\n    {e.Time:HH:mm:ss.fff} {e.Node} {e.Level} {e.EventName}: {Truncate(e.Message, 300)}");
        }
        return text.ToString();
    }

    private static string Describe<T>(T value) => value switch
    {
        null => "absent",
        JsonNode node => Truncate(node.ToJsonString(), 800),
        IEnumerable<string> names => $"[{string.Join(", ", names)}]",
        _ => value.ToString() ?? "",
    };

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "...";

    public async ValueTask DisposeAsync()
    {
        // Zones first: their streams close, so the global stops without waiting on them.
        await Task.WhenAll(_zones.Select(z => z.DisposeAsync().AsTask()));
        await Global.DisposeAsync();
        foreach (var other in _otherGlobals)
        {
            await other.DisposeAsync();
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
