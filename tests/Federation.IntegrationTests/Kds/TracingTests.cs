using System.Collections.Concurrent;
using System.Diagnostics;
using Federation.IntegrationTests.Fixture;

namespace Federation.IntegrationTests.Kds;

/// <summary>
/// A traced write on the global carries its trace over KDS: each zone's store commit of the policy and the xDS push it
/// causes are spans of the writer's trace (DESIGN §11).
/// </summary>
[Collection(SharedFederation.Name)]
public sealed class TracingTests(SharedFederationFixture shared)
{
    private readonly MultiZoneFixture _cluster = shared.Cluster;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Put_TracedPolicyWrite_ZonesApplyAndPushInTheSameTrace()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Federation" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await _cluster.Global.ApplyAsync(Manifests.MeshPath("traced"), Manifests.Mesh("traced"), Ct);
        foreach (var zone in _cluster.Zones)
        {
            await _cluster.WaitForResourceAsync(zone, Manifests.MeshPath("traced"), "the mesh before the traced write", Ct);
        }

        _cluster.BeginPhase("a policy written on the global under a caller's trace");
        var trace = ActivityTraceId.CreateRandom();
        using (var request = new HttpRequestMessage(HttpMethod.Put, Manifests.PolicyPath("traced", "allow-web"))
        {
            Content = new StringContent(Manifests.AllowFrom("traced", "allow-web", "web"), System.Text.Encoding.UTF8, "application/yaml"),
        })
        {
            request.Headers.Add("traceparent", $"00-{trace.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            using var response = await _cluster.Global.Api.SendAsync(request, Ct);
            Assert.True(response.IsSuccessStatusCode, $"PUT: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        }

        List<Activity> InTrace(string name) => [.. spans.Where(a => a.TraceId == trace && a.OperationName == name)];
        string Seen() => string.Join(", ", spans.Where(a => a.TraceId == trace).Select(a => $"{a.OperationName}({string.Join(' ', a.TagObjects.Select(t => $"{t.Key}={t.Value}"))})"));
        bool Complete() =>
            InTrace("kds.apply").Count(a => Equals(a.GetTagItem("federation.kds.type"), "MeshTrafficPermission")) >= _cluster.Zones.Count
            && _cluster.Zones.All(z => InTrace("xds.push").Any(a => Equals(a.GetTagItem("federation.zone"), z.Name)));
        await _cluster.WaitForAsync(
            $"a kds.apply of the policy in each of {_cluster.Zones.Count} zones and an xds.push in each zone, in trace {trace}",
            _ => Task.FromResult(Complete()), done => done, Ct, describe: _ => $"spans so far: {Seen()}");

        // The global's own commit is in the trace too, and every zone commit descends from a kds.apply.
        Assert.Contains(InTrace("store.commit"), a => a.Parent?.OperationName != "kds.apply");
        var applies = InTrace("kds.apply").Select(a => a.SpanId).ToHashSet();
        Assert.True(InTrace("store.commit").Count(a => applies.Contains(a.ParentSpanId)) >= _cluster.Zones.Count,
            "each zone's store commit of the policy is a child of its kds.apply");
    }
}
