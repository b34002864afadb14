using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Federation.Resources;
using Federation.Stores;
using Microsoft.Extensions.DependencyInjection;

namespace Federation.Benchmarks.Kds;

/// <summary>
/// KDS scale harness (not BenchmarkDotNet: it measures a distributed system end to end).
/// <c>kds-propagation</c>: p50/p99 latency from a policy PUT on the global's API to the commit in every zone's store.
/// <c>kds-resync</c>: time for a zone joining with N Dataplanes, against a global holding N policies, until both
/// sides hold everything.
/// </summary>
internal static class KdsHarness
{
    public static async Task<int> PropagationAsync(int zones, int writes, string store)
    {
        await using var cluster = new Cluster { Store = store };
        await cluster.StartGlobalAsync();
        await cluster.PutAsync("meshes/default", """{"type":"Mesh","name":"default"}""");
        var arrivals = new ConcurrentDictionary<(int Zone, string Name), long>();
        var readers = new List<Task>();
        using var stop = new CancellationTokenSource();
        for (var z = 0; z < zones; z++)
        {
            var zone = await cluster.StartZoneAsync($"zone-{z + 1}");
            var subscription = zone.Services.GetRequiredService<IResourceStore>().Subscribe();
            var index = z;
            readers.Add(Task.Run(async () =>
            {
                using var _ = subscription;
                await foreach (var change in subscription.Reader.ReadAllAsync(stop.Token))
                {
                    if (change.Key.Type != ResourceTypes.MeshTrafficPermission.Name || change.Kind == ChangeKind.Deleted)
                    {
                        continue;
                    }
                    arrivals.TryAdd((index, change.Key.Name), Stopwatch.GetTimestamp());
                }
            }));
        }
        await WaitForAsync(async () => (await cluster.Admin.GetStringAsync("zones/_overview")).Split("\"Online\"").Length - 1 == zones, TimeSpan.FromSeconds(60), $"{zones} zones Online");

        var perZone = new List<double>();
        var perWrite = new List<double>();
        const int Warmup = 10;
        for (var i = 0; i < writes + Warmup; i++)
        {
            var name = $"bench-{i}";
            var started = Stopwatch.GetTimestamp();
            var waiter = Task.Run(async () =>
            {
                while (Enumerable.Range(0, zones).Any(z => !arrivals.ContainsKey((z, name))))
                {
                    await Task.Delay(1);
                }
            });
            await cluster.PutAsync($"meshes/default/meshtrafficpermissions/{name}",
                $$$"""{"type":"MeshTrafficPermission","mesh":"default","name":"{{{name}}}","spec":{"targetRef":{"kind":"MeshService","name":"backend"},"from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Allow"}}]}}""");
            await waiter.WaitAsync(TimeSpan.FromSeconds(30));
            if (i < Warmup)
            {
                continue;
            }
            var latencies = Enumerable.Range(0, zones).Select(z => Stopwatch.GetElapsedTime(started, arrivals[(z, name)]).TotalMilliseconds).ToList();
            perZone.AddRange(latencies);
            perWrite.Add(latencies.Max());
        }
        await stop.CancelAsync();
        Console.WriteLine($"KDS propagation: {writes} policy PUTs on the global API, {zones} zones, store={store}");
        Console.WriteLine($"  per zone   (write -> committed in that zone):     {Describe(perZone)}");
        Console.WriteLine($"  per write  (write -> committed in every zone):    {Describe(perWrite)}");
        return 0;
    }

    public static async Task<int> ResyncAsync(int policies, int dataplanes, string store)
    {
        await using var cluster = new Cluster { Store = store };
        var policyTemplate = ResourceTypes.MeshTrafficPermission;
        await cluster.StartGlobalAsync(async global =>
        {
            await global.PutAsync(new Resource(ResourceKey.Global(ResourceTypes.Mesh.Name, "default"), "{}"));
            for (var start = 0; start < policies; start += 1000)
            {
                await global.CommitAsync([.. Enumerable.Range(start, Math.Min(1000, policies - start)).Select(i => new PutResource(new Resource(
                    new ResourceKey(policyTemplate.Name, "default", $"policy-{i}"),
                    """{"targetRef":{"kind":"MeshService","name":"backend"},"from":[{"targetRef":{"kind":"Mesh"},"default":{"action":"Allow"}}]}""")))]);
            }
        });
        var globalDataplanes = 0;
        long firstOnGlobal = 0, firstOnZone = 0, zoneStarted = 0;
        var zonePolicies = 0;
        var globalDone = new TaskCompletionSource();
        var zoneDone = new TaskCompletionSource();
        using var globalFeed = cluster.GlobalStore.Subscribe();
        _ = Task.Run(async () =>
        {
            await foreach (var c in globalFeed.Reader.ReadAllAsync())
            {
                if (c.Key.Type == ResourceTypes.Dataplane.Name && c.Kind == ChangeKind.Created)
                {
                    Interlocked.CompareExchange(ref firstOnGlobal, Stopwatch.GetTimestamp(), 0);
                }
                if (c.Key.Type == ResourceTypes.Dataplane.Name && c.Kind == ChangeKind.Created && Interlocked.Increment(ref globalDataplanes) == dataplanes)
                {
                    globalDone.TrySetResult();
                }
            }
        });

        ChangeSubscription? zoneFeed = null;
        var started = 0L;
        await cluster.StartZoneAsync("zone-1", async zoneStore =>
        {
            for (var start = 0; start < dataplanes; start += 1000)
            {
                await zoneStore.CommitAsync([.. Enumerable.Range(start, Math.Min(1000, dataplanes - start)).Select(i => new PutResource(new Resource(
                    new ResourceKey(ResourceTypes.Dataplane.Name, "default", $"dp-{i}"),
                    $$$"""{"networking":{"address":"10.0.{{{i / 250}}}.{{{i % 250 + 1}}}","inbound":[{"port":8080,"tags":{"kuma.io/service":"svc-{{{i % 100}}}"}}]}}""")))]);
            }
            zoneFeed = zoneStore.Subscribe();
            _ = Task.Run(async () =>
            {
                await foreach (var c in zoneFeed.Reader.ReadAllAsync())
                {
                    if (c.Key.Type == ResourceTypes.MeshTrafficPermission.Name && c.Kind == ChangeKind.Created)
                    {
                        Interlocked.CompareExchange(ref firstOnZone, Stopwatch.GetTimestamp(), 0);
                    }
                    if (c.Key.Type == ResourceTypes.MeshTrafficPermission.Name && c.Kind == ChangeKind.Created && Interlocked.Increment(ref zonePolicies) == policies)
                    {
                        zoneDone.TrySetResult();
                    }
                }
            });
            started = Stopwatch.GetTimestamp();
        });
        zoneStarted = Stopwatch.GetTimestamp();
        await Task.WhenAll(globalDone.Task, zoneDone.Task).WaitAsync(TimeSpan.FromMinutes(5));
        var elapsed = Stopwatch.GetElapsedTime(started);
        zoneFeed?.Dispose();
        Console.WriteLine($"KDS full resync: zone joins with {dataplanes} Dataplanes, global holds {policies} policies, store={store}");
        Console.WriteLine($"  both sides complete after {elapsed.TotalMilliseconds:0} ms (zone start -> last Dataplane on the global and last policy on the zone)");
        Console.WriteLine($"  (zone host started after {Stopwatch.GetElapsedTime(started, zoneStarted).TotalMilliseconds:0} ms; first Dataplane on the global at {Stopwatch.GetElapsedTime(started, firstOnGlobal).TotalMilliseconds:0} ms, first policy on the zone at {Stopwatch.GetElapsedTime(started, firstOnZone).TotalMilliseconds:0} ms)");
        return 0;
    }

    private static string Describe(List<double> values)
    {
        values.Sort();
        double P(double q) => values[Math.Min(values.Count - 1, (int)Math.Ceiling(q * values.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"p50 {P(0.50):0.0} ms, p90 {P(0.90):0.0} ms, p99 {P(0.99):0.0} ms, max {values[^1]:0.0} ms (n={values.Count})");
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!await condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds}s waiting for {what}");
            }
            await Task.Delay(50);
        }
    }
}
