using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Federation.Dataplane.ZoneProxy.Proxy;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Dataplane.ZoneProxy.Stats;
using Microsoft.Extensions.Logging.Abstractions;

namespace Federation.Benchmarks.ZoneProxy;

/// <summary>
/// <c>zoneproxy</c>: the fed-dp zone proxy's data path on loopback against a direct TCP connection, with 1, 16 and 256
/// concurrent connections. Each connection opens with a TLS ClientHello carrying the SNI (the proxy routes on it;
/// the sink ignores it), then:
/// <list type="bullet">
/// <item>throughput: streams its share of the bytes, half-closes, and waits for the sink's one-byte receipt (so every
/// byte arrived); MB/s = all bytes / wall time;</item>
/// <item>latency: waits for a one-byte answer to the ClientHello, from the start of connect (connection set-up plus the
/// first round trip, which through the proxy includes its ClientHello parse and upstream connect).</item>
/// </list>
/// Client, proxy and sink share this process and the machine's cores, as they would share a node.
/// </summary>
internal static class ZoneProxyHarness
{
    private const string Sni = "backend.default.mesh";
    private const int ChunkBytes = 64 * 1024;

    public static async Task<int> RunAsync(int totalMb, int rounds, int connectionsForLatency, int[] concurrencies, int bufferKb = 256)
    {
        var hello = ClientHello(Sni);
        await using var sink = new Sink(hello.Length);
        var stats = new ZoneProxyStats();
        await using var proxy = new ZoneProxyServer(new ZoneProxyOptions { MaxBufferSize = bufferKb * 1024 }, stats, TimeProvider.System, NullLogger.Instance);
        proxy.Apply(new RoutingTable(
            new ListenerRoute("bench", new IPEndPoint(IPAddress.Loopback, 0), [new ChainRoute(Sni, [Sni], "backend.default", Sni)]),
            ImmutableDictionary<string, ClusterRoute>.Empty.Add("backend.default", new ClusterRoute("backend.default", TimeSpan.FromSeconds(5),
                new EndpointPicker([new UpstreamLocality("zone-2", "", 1, 0, [new UpstreamEndpoint(sink.Address, 1, true)])]), true)),
            "bench"));
        var proxied = proxy.ListeningOn!;
        Console.WriteLine($"zone proxy benchmark: {Environment.ProcessorCount} cores, {totalMb} MB per run, best of {rounds} runs; latency over {connectionsForLatency} connections per level; proxy buffers up to {bufferKb} KiB");
        Console.WriteLine();

        // Warm-up: JIT, pools, TCP.
        await ThroughputAsync(sink.Address, hello, 64, 4);
        await ThroughputAsync(proxied, hello, 64, 4);
        await LatencyAsync(proxied, hello, 200, 4);
        await LatencyAsync(sink.Address, hello, 200, 4);

        var rows = new List<string>
        {
            "| connections | direct MB/s | via proxy MB/s | proxy/direct | direct p50 / p99 ms | via proxy p50 / p99 ms | added p50 ms |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        };
        foreach (var c in concurrencies)
        {
            double direct = 0;
            double viaProxy = 0;
            // Alternate, so drift (thermal, other load) hits both alike; keep each side's best run.
            for (var r = 0; r < rounds; r++)
            {
                direct = Math.Max(direct, await ThroughputAsync(sink.Address, hello, totalMb, c));
                viaProxy = Math.Max(viaProxy, await ThroughputAsync(proxied, hello, totalMb, c));
            }
            var directLatency = await LatencyAsync(sink.Address, hello, connectionsForLatency, c);
            var proxyLatency = await LatencyAsync(proxied, hello, connectionsForLatency, c);
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {c} | {direct:0} | {viaProxy:0} | {viaProxy / direct:P0} | {directLatency.P50:0.000} / {directLatency.P99:0.000} | {proxyLatency.P50:0.000} / {proxyLatency.P99:0.000} | {proxyLatency.P50 - directLatency.P50:0.000} |"));
            Console.WriteLine(rows[^1]);
        }
        Console.WriteLine();
        foreach (var row in rows)
        {
            Console.WriteLine(row);
        }
        // Latency clients leave without waiting for the sink's end: let those connections finish before counting.
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        stats.ConnectionEnded += _ =>
        {
            if (stats.Active == 0)
            {
                drained.TrySetResult();
            }
        };
        if (stats.Active > 0)
        {
            await drained.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        var failed = stats.ClosedByOutcome.Where(o => o.Outcome != ConnectionOutcome.Forwarded && o.Count > 0).ToList();
        Console.WriteLine();
        Console.WriteLine($"proxy: {stats.Accepted} connections accepted, {stats.Closed(ConnectionOutcome.Forwarded)} forwarded"
            + (failed.Count == 0 ? "" : $", refused: {string.Join(", ", failed.Select(f => $"{ZoneProxyStats.Name(f.Outcome)}={f.Count}"))}"));
        return failed.Count == 0 ? 0 : 1;
    }

    /// <summary>MB/s for <paramref name="totalMb"/> spread over <paramref name="connections"/> concurrent connections.</summary>
    private static async Task<double> ThroughputAsync(IPEndPoint target, byte[] hello, int totalMb, int connections)
    {
        var perConnection = (long)totalMb * 1024 * 1024 / connections;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(target);
            await SendAllAsync(socket, hello);
            var chunk = new byte[ChunkBytes];
            for (var sent = 0L; sent < perConnection;)
            {
                var n = (int)Math.Min(chunk.Length, perConnection - sent);
                await SendAllAsync(socket, chunk.AsMemory(0, n));
                sent += n;
            }
            socket.Shutdown(SocketShutdown.Send);
            // The answer to the ClientHello, then the receipt sent once the sink saw our end, then the sink's end.
            var answers = new byte[4];
            var received = 0;
            int got;
            while ((got = await socket.ReceiveAsync(answers.AsMemory(received), SocketFlags.None)) > 0)
            {
                received += got;
            }
            if (received != 2 || answers[1] != 2)
            {
                throw new InvalidOperationException("the sink closed without its receipt");
            }
        })));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (double)perConnection * connections / (1024 * 1024) / seconds;
    }

    /// <summary>Connect-to-first-answer times (ms), <paramref name="connections"/> in all, <paramref name="concurrency"/> at a time.</summary>
    private static async Task<(double P50, double P99)> LatencyAsync(IPEndPoint target, byte[] hello, int connections, int concurrency)
    {
        var samples = new double[connections];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var answer = new byte[1];
            int i;
            while ((i = Interlocked.Increment(ref next)) < connections)
            {
                var started = Stopwatch.GetTimestamp();
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(target);
                await SendAllAsync(socket, hello);
                if (await socket.ReceiveAsync(answer, SocketFlags.None) != 1)
                {
                    throw new InvalidOperationException("the sink closed without answering");
                }
                samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                socket.Shutdown(SocketShutdown.Send);
            }
        })));
        Array.Sort(samples);
        return (samples[connections / 2], samples[Math.Min(connections - 1, (int)(connections * 0.99))]);
    }

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            data = data[await socket.SendAsync(data, SocketFlags.None)..];
        }
    }

    /// <summary>A minimal TLS ClientHello with a server_name extension: what the proxy needs to route.</summary>
    private static byte[] ClientHello(string sni)
    {
        var name = Encoding.ASCII.GetBytes(sni);
        var serverName = new List<byte>();
        serverName.AddRange(U16(name.Length + 3));
        serverName.Add(0);
        serverName.AddRange(U16(name.Length));
        serverName.AddRange(name);
        var body = new List<byte> { 3, 3 };
        body.AddRange(new byte[32]);
        body.Add(0);
        body.AddRange([0, 2, 0x13, 0x01, 1, 0]);
        body.AddRange(U16(serverName.Count + 4));
        body.AddRange([0, 0]);
        body.AddRange(U16(serverName.Count));
        body.AddRange(serverName);
        var message = new List<byte> { 1, 0, (byte)(body.Count >> 8), (byte)body.Count };
        message.AddRange(body);
        return [22, 3, 1, .. U16(message.Count), .. message];
    }

    private static byte[] U16(int value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)value);
        return bytes;
    }

    /// <summary>
    /// Reads the ClientHello and answers one byte (latency), then counts everything until the client half-closes and
    /// answers one byte more (the receipt for throughput).
    /// </summary>
    private sealed class Sink : IAsyncDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accept;

        public Sink(int helloLength)
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1024);
            Address = (IPEndPoint)_listener.LocalEndPoint!;
            _accept = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    Socket socket;
                    try
                    {
                        socket = await _listener.AcceptAsync(_stop.Token);
                    }
                    catch (Exception) when (_stop.IsCancellationRequested)
                    {
                        return;
                    }
                    _ = Task.Run(() => ServeAsync(socket, helloLength));
                }
            });
        }

        public IPEndPoint Address { get; }

        private static async Task ServeAsync(Socket socket, int helloLength)
        {
            using (socket)
            {
                socket.NoDelay = true;
                var buffer = new byte[ChunkBytes];
                try
                {
                    var read = 0;
                    while (read < helloLength)
                    {
                        var n = await socket.ReceiveAsync(buffer.AsMemory(0, helloLength - read), SocketFlags.None);
                        if (n == 0)
                        {
                            return;
                        }
                        read += n;
                    }
                    await socket.SendAsync(new byte[] { 1 }, SocketFlags.None);
                    while (await socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
                    {
                    }
                    await socket.SendAsync(new byte[] { 2 }, SocketFlags.None);
                    socket.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _accept;
            _stop.Dispose();
        }
    }
}
