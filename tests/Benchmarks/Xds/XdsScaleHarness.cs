using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Envoy.Service.Discovery.V3;
using Federation.Benchmarks.Kds;
using Federation.Benchmarks.Processes;
using Federation.Kds.Xds;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Node = Envoy.Config.Core.V3.Node;

namespace Federation.Benchmarks.Xds;

/// <summary>
/// xDS scale harness (<c>xds-scale</c>): a real global and zone (the Release executables, separate processes, so the
/// zone's RSS is its own) and N simulated Envoy proxies (our C# xDS client, SotW, sharing a few HTTP/2 connections).
/// Measures memory per proxy, the time for a policy change on the global to be ACKed by every proxy, the zone's
/// snapshot generation rate, and — in the same run — the raw floor: N plain gRPC streams each receiving one message of
/// the same size and answering it.
/// </summary>
internal static class XdsScaleHarness
{
    private const string Listener = "type.googleapis.com/envoy.config.listener.v3.Listener";

    public static async Task<int> RunAsync(int proxies, int services, int rounds, int channels)
    {
        var root = ReleaseProcess.RepositoryRoot;
        var bin = Path.Combine(root, "artifacts", "bin");
        var work = Directory.CreateTempSubdirectory("fed-xds-scale-").FullName;
        var processes = new List<Process>();
        try
        {
            var apiPort = Cluster.FreePort();
            var kdsPort = Cluster.FreePort();
            processes.Add(ReleaseProcess.Start(Path.Combine(bin, "Federation.Global", "release", "federation-global"),
                $"--store memory --data-dir {Path.Combine(work, "global")} --api-port {apiPort} --kds-port {kdsPort}"));
            using var global = await ReleaseProcess.ApiAsync($"http://127.0.0.1:{apiPort}/", Path.Combine(work, "global", "admin-token"));
            await ReleaseProcess.PutAsync(global, "meshes/default", """{"type":"Mesh","name":"default","mtls":{"enabledBackend":"ca-1","backends":[{"name":"ca-1","type":"builtin"}]}}""");
            using var tokenResponse = await global.PostAsync("tokens/zone", new StringContent("""{"zone":"zone-1","validFor":"24h"}""", Encoding.UTF8, "application/json"));
            var tokenFile = Path.Combine(work, "zone.token");
            await File.WriteAllTextAsync(tokenFile, await tokenResponse.Content.ReadAsStringAsync());

            var zoneApi = Cluster.FreePort();
            var xdsPort = Cluster.FreePort();
            var zone = ReleaseProcess.Start(Path.Combine(bin, "Federation.Zone", "release", "federation-zone"),
                $"--zone zone-1 --store memory --data-dir {Path.Combine(work, "zone")} --api-port {zoneApi} --xds-port {xdsPort} --dns-port {Cluster.FreePort()} " +
                $"--global-address https://127.0.0.1:{kdsPort} --zone-token-file {tokenFile} --kds-ca-file {Path.Combine(work, "global", "kds-ca.pem")} --dp-auth none");
            processes.Add(zone);
            using var zoneClient = await ReleaseProcess.ApiAsync($"http://127.0.0.1:{zoneApi}/", Path.Combine(work, "zone", "admin-token"));
            await ReleaseProcess.WaitAsync("the mesh CA to reach the zone", async () =>
            {
                using var response = await zoneClient.GetAsync("meshes/default/secrets");
                return response.IsSuccessStatusCode && (await response.Content.ReadAsStringAsync()).Contains("ca-builtin-cert", StringComparison.Ordinal);
            });

            Console.WriteLine($"registering {proxies} Dataplanes ({services} services) in the zone...");
            await Parallel.ForAsync(0, proxies, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
                await ReleaseProcess.PutAsync(zoneClient, $"meshes/default/dataplanes/dp-{i}",
                    $$$"""{"type":"Dataplane","mesh":"default","name":"dp-{{{i}}}","networking":{"address":"10.{{{i / 65536 % 256}}}.{{{i / 256 % 256}}}.{{{i % 256}}}","inbound":[{"port":8080,"servicePort":18080,"tags":{"kuma.io/service":"svc-{{{i % services}}}","kuma.io/protocol":"http"}}]}}"""));
            await Task.Delay(TimeSpan.FromSeconds(2));
            var baseline = ReleaseProcess.RssBytes(zone);

            Console.WriteLine($"connecting {proxies} simulated Envoy proxies over {channels} HTTP/2 connections...");
            var grpcChannels = Enumerable.Range(0, channels).Select(_ => XdsClient.CreateChannel(new Uri($"http://127.0.0.1:{xdsPort}"))).ToList();
            var clients = new XdsClient[proxies];
            var connectStarted = Stopwatch.GetTimestamp();
            for (var i = 0; i < proxies; i++)
            {
                var node = new Node { Id = $"default.dp-{i}", UserAgentName = "envoy", UserAgentVersion = "1.31.0" };
                clients[i] = new XdsClient(grpcChannels[i % channels], new XdsClientOptions { Node = node });
                foreach (var type in new[] { Listener, "type.googleapis.com/envoy.config.cluster.v3.Cluster", "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret" })
                {
                    await clients[i].SubscribeAsync(type);
                }
                clients[i].Start();
            }
            await ReleaseProcess.WaitAsync($"all {proxies} proxies configured", () => Task.FromResult(clients.All(c => c.Current.Of(Listener).Resources.Count > 0)), TimeSpan.FromMinutes(5));
            var connectSeconds = Stopwatch.GetElapsedTime(connectStarted).TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(3));
            GC.Collect();
            var connected = ReleaseProcess.RssBytes(zone);
            var listenerBytes = clients[0].Current.Of(Listener).Resources.Values.Sum(r => r.Resource.CalculateSize());
            if (Environment.GetEnvironmentVariable("FED_BENCH_PAUSE_SECONDS") is { } pause)
            {
                // For inspecting the zone with diagnostics tools (dotnet-gcdump, dotnet-counters) while proxies are connected.
                Console.WriteLine($"zone pid {zone.Id}; pausing {pause} s");
                await Task.Delay(TimeSpan.FromSeconds(double.Parse(pause, CultureInfo.InvariantCulture)));
            }

            var latencies = new List<double>();
            var allAcked = new List<double>();
            // CPU time is less sensitive than latency to other work on the machine: what the zone spends per change.
            var zoneCpuBefore = CpuSeconds(zone);
            var globalCpuBefore = CpuSeconds(processes[0]);
            for (var round = 0; round < rounds; round++)
            {
                var versions = clients.Select(c => c.Current.Of(Listener).Version).ToArray();
                var arrived = new ConcurrentDictionary<int, long>();
                var handlers = new Action<XdsClient, XdsUpdate>[proxies];
                for (var i = 0; i < proxies; i++)
                {
                    var index = i;
                    handlers[i] = (_, update) =>
                    {
                        if (update.TypeUrl == Listener && update.Accepted && update.Version != versions[index])
                        {
                            arrived.TryAdd(index, Stopwatch.GetTimestamp());
                        }
                    };
                    clients[i].Updated += handlers[i];
                }
                var action = round % 2 == 0 ? "Allow" : "Deny";
                var started = Stopwatch.GetTimestamp();
                await ReleaseProcess.PutAsync(global, "meshes/default/meshtrafficpermissions/bench",
                    $$$"""{"type":"MeshTrafficPermission","mesh":"default","name":"bench","spec":{"targetRef":{"kind":"Mesh"},"from":[{"targetRef":{"kind":"MeshService","name":"svc-0"},"default":{"action":"{{{action}}}"}}]}}""");
                await ReleaseProcess.WaitAsync($"round {round}: all proxies ACK the new listeners", () => Task.FromResult(arrived.Count == proxies), TimeSpan.FromMinutes(2));
                for (var i = 0; i < proxies; i++)
                {
                    clients[i].Updated -= handlers[i];
                }
                var these = arrived.Values.Select(t => Stopwatch.GetElapsedTime(started, t).TotalMilliseconds).ToList();
                latencies.AddRange(these);
                allAcked.Add(these.Max());
            }

            var zoneCpu = (CpuSeconds(zone) - zoneCpuBefore) / rounds;
            var globalCpu = (CpuSeconds(processes[0]) - globalCpuBefore) / rounds;
            var metrics = await zoneClient.GetStringAsync("metrics");
            var generations = Metric(metrics, "federation_xds_generation_duration_milliseconds_count");
            var generationMs = Metric(metrics, "federation_xds_generation_duration_milliseconds_sum");

            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
            foreach (var channel in grpcChannels)
            {
                channel.Dispose();
            }

            var floor = await FloorAsync(proxies, channels, listenerBytes, rounds);

            Console.WriteLine();
            Console.WriteLine($"xDS scale: {proxies} simulated Envoy proxies (SotW, mTLS mesh, {services} services), one zone, {rounds} policy changes");
            Console.WriteLine($"  zone RSS: {baseline / 1048576.0:0.0} MiB before proxies, {connected / 1048576.0:0.0} MiB with {proxies} connected -> {(connected - baseline) / 1024.0 / proxies:0.0} KB per proxy ({connected / 1024.0 / proxies:0.0} KB per proxy counting the whole process)");
            Console.WriteLine($"  all {proxies} proxies configured from scratch in {connectSeconds:0.00} s");
            Console.WriteLine($"  policy change on the global -> ACKed by a proxy: {Describe(latencies)}");
            Console.WriteLine($"  policy change -> ACKed by all {proxies}: {Describe(allAcked)}");
            Console.WriteLine($"  raw floor ({proxies} plain gRPC streams, one {listenerBytes}-byte message each, answered): per stream {Describe(floor.PerStream)}; all answered {Describe(floor.All)}");
            Console.WriteLine($"  ratio (median all-ACKed / median floor all-answered): {Median(allAcked) / Median(floor.All):0.0}x");
            Console.WriteLine($"  CPU per policy change (user+system, includes DataplaneInsight writes): zone {zoneCpu * 1000:0} ms, global {globalCpu * 1000:0} ms");
            Console.WriteLine($"  snapshot generation: {generations:0} snapshots, {generationMs / Math.Max(1, generations):0.000} ms each -> {generations / Math.Max(1e-9, generationMs / 1000):0} snapshots/s on one core");
            return 0;
        }
        finally
        {
            ReleaseProcess.Stop(processes);
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The raw floor: plain gRPC bidi streams on an in-process Kestrel, one message each way per round.</summary>
    private static async Task<(List<double> PerStream, List<double> All)> FloorAsync(int streams, int channels, int messageBytes, int rounds)
    {
        var port = Cluster.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        var floor = new FloorService(messageBytes);
        builder.Services.AddSingleton(floor);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.Http2.MaxStreamsPerConnection = 10_000;
            k.ListenLocalhost(port, l => l.Protocols = HttpProtocols.Http2);
        });
        await using var app = builder.Build();
        app.MapGrpcService<FloorService>();
        await app.StartAsync();
        var grpcChannels = Enumerable.Range(0, channels).Select(_ => XdsClient.CreateChannel(new Uri($"http://localhost:{port}"))).ToList();
        using var cts = new CancellationTokenSource();
        var calls = new List<Task>();
        for (var i = 0; i < streams; i++)
        {
            var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(grpcChannels[i % channels]);
            var call = client.StreamAggregatedResources(cancellationToken: cts.Token);
            calls.Add(Task.Run(async () =>
            {
                using var _ = call;
                await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = Listener });
                while (await call.ResponseStream.MoveNext(cts.Token))
                {
                    await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = Listener, ResponseNonce = call.ResponseStream.Current.Nonce });
                }
            }));
        }
        await ReleaseProcess.WaitAsync($"{streams} floor streams open", () => Task.FromResult(floor.Streams == streams));
        var perStream = new List<double>();
        var all = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var (each, total) = await floor.BroadcastAsync();
            perStream.AddRange(each);
            all.Add(total);
        }
        await cts.CancelAsync();
        await Task.WhenAll(calls.Select(c => c.ContinueWith(_ => { }, TaskScheduler.Default)));
        foreach (var channel in grpcChannels)
        {
            channel.Dispose();
        }
        await app.StopAsync();
        return (perStream, all);
    }

    private sealed class FloorService(int messageBytes) : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
    {
        private readonly ConcurrentDictionary<int, (IServerStreamWriter<DiscoveryResponse> Writer, System.Threading.Channels.Channel<bool> Replies)> _streams = new();
        private int _next;

        public int Streams => _streams.Count;

        public override async Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context)
        {
            await requestStream.MoveNext(context.CancellationToken);
            var id = Interlocked.Increment(ref _next);
            var replies = System.Threading.Channels.Channel.CreateUnbounded<bool>();
            _streams[id] = (responseStream, replies);
            try
            {
                while (await requestStream.MoveNext(context.CancellationToken))
                {
                    replies.Writer.TryWrite(true);
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                _streams.TryRemove(id, out _);
            }
        }

        public async Task<(List<double> Each, double All)> BroadcastAsync()
        {
            var message = new DiscoveryResponse
            {
                TypeUrl = Listener,
                VersionInfo = Guid.NewGuid().ToString("n"),
                Nonce = "1",
                Resources = { new Any { TypeUrl = Listener, Value = ByteString.CopyFrom(new byte[messageBytes]) } },
            };
            var started = Stopwatch.GetTimestamp();
            var waits = _streams.Values.Select(async s =>
            {
                await s.Writer.WriteAsync(message);
                await s.Replies.Reader.ReadAsync();
                return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }).ToList();
            var each = (await Task.WhenAll(waits)).ToList();
            return (each, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    /// <summary>User plus system CPU time of a process so far (Linux /proc, clock ticks of 10 ms).</summary>
    private static double CpuSeconds(Process process)
    {
        var stat = File.ReadAllText($"/proc/{process.Id}/stat");
        // Fields after the command name (which may contain spaces) start after the last ')'; utime and stime are 14 and 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static double Metric(string text, string name) => text.Split('\n')
        .Where(l => l.StartsWith(name, StringComparison.Ordinal))
        .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture))
        .Sum();

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static string Describe(List<double> values)
    {
        var sorted = values.Order().ToList();
        double P(double q) => sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(q * sorted.Count) - 1))];
        return string.Create(CultureInfo.InvariantCulture, $"p50 {P(0.5):0.0} ms, p99 {P(0.99):0.0} ms, max {sorted[^1]:0.0} ms (n={sorted.Count})");
    }
}
