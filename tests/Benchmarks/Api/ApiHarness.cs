using System.Diagnostics;
using System.Globalization;
using Federation.Benchmarks.Kds;
using Federation.Benchmarks.Processes;

namespace Federation.Benchmarks.Api;

/// <summary>
/// API harness (<c>api-roundtrips</c>): the real <c>federation-global</c> (Release executable, its own process, Kestrel on
/// loopback) and N concurrent clients, each updating its own MeshTrafficPermission with PUT (a real write: the value
/// changes every time, so the store commits and the change feed fires) and reading it back with GET, checking the
/// value it wrote. Reports PUT+GET round trips per second and round-trip latency for each concurrency and store.
/// </summary>
internal static class ApiHarness
{
    public static async Task<int> RunAsync(IReadOnlyList<string> stores, IReadOnlyList<int> concurrencies, int seconds)
    {
        Console.WriteLine($"PUT+GET round trips through federation-global's REST API, {seconds} s per point (after 2 s warm-up)");
        Console.WriteLine("| store | clients | round trips/s | p50 ms | p99 ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var store in stores)
        {
            var work = Directory.CreateTempSubdirectory("fed-api-bench-").FullName;
            var apiPort = Cluster.FreePort();
            var global = ReleaseProcess.Start(ReleaseProcess.Executable("Federation.Global", "federation-global"),
                $"--store {store} --data-dir {work} --api-port {apiPort} --kds-port {Cluster.FreePort()}");
            try
            {
                var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
                using var client = await ReleaseProcess.ApiAsync($"http://127.0.0.1:{apiPort}/", Path.Combine(work, "admin-token"), handler);
                await ReleaseProcess.PutAsync(client, "meshes/default", """{"type":"Mesh","name":"default"}""");
                foreach (var concurrency in concurrencies)
                {
                    await MeasureAsync(client, concurrency, TimeSpan.FromSeconds(2), record: null);
                    var latencies = new List<double>[concurrency];
                    var started = Stopwatch.GetTimestamp();
                    await MeasureAsync(client, concurrency, TimeSpan.FromSeconds(seconds), latencies);
                    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
                    var all = latencies.SelectMany(l => l).Order().ToList();
                    double P(double q) => all[Math.Min(all.Count - 1, Math.Max(0, (int)Math.Ceiling(q * all.Count) - 1))];
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {store} | {concurrency} | {all.Count / elapsed:0} | {P(0.5):0.00} | {P(0.99):0.00} |"));
                }
            }
            finally
            {
                ReleaseProcess.Stop([global]);
                Directory.Delete(work, recursive: true);
            }
        }
        return 0;
    }

    private static async Task MeasureAsync(HttpClient client, int concurrency, TimeSpan duration, List<double>[]? record)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Parallel.ForAsync(0, concurrency, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (worker, ct) =>
        {
            var mine = new List<double>();
            if (record is not null)
            {
                record[worker] = mine;
            }
            var path = $"meshes/default/meshtrafficpermissions/bench-{worker}";
            for (var i = 0; Stopwatch.GetTimestamp() < deadline; i++)
            {
                var value = $"{Environment.TickCount64}-{i}";
                var began = Stopwatch.GetTimestamp();
                await ReleaseProcess.PutAsync(client, path,
                    $$$"""{"type":"MeshTrafficPermission","mesh":"default","name":"bench-{{{worker}}}","spec":{"targetRef":{"kind":"MeshService","name":"backend"},"from":[{"targetRef":{"kind":"MeshSubset","tags":{"round":"{{{value}}}"}},"default":{"action":"Allow"}}]}}""");
                var body = await client.GetStringAsync(path, ct);
                if (!body.Contains(value, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"GET {path} did not return the value just written ({value}): {body}");
                }
                mine.Add(Stopwatch.GetElapsedTime(began).TotalMilliseconds);
            }
        });
    }
}
