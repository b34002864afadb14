using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Dataplane.ZoneProxy.Stats;
using Federation.Dataplane.ZoneProxy.Tls;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.ZoneProxy.Proxy;

/// <summary>
/// One downstream connection: reads its TLS ClientHello (without terminating TLS), routes on the SNI with the routing
/// table current at that moment, connects to an endpoint of the chain's cluster, replays the bytes already read and
/// splices both directions until both have ended. A half-close (FIN) on one side is passed on as a half-close to the
/// other while the other direction keeps flowing; a reset or error on either side resets both.
/// </summary>
internal sealed partial class ProxyConnection(
    long id,
    Socket downstream,
    Func<RoutingTable> table,
    ZoneProxyOptions options,
    ZoneProxyStats stats,
    TimeProvider time,
    ILogger logger)
{
    private Socket? _upstream;
    private int _aborted;

    public long Id { get; } = id;

    /// <summary>Resets both sides now (shutdown after the drain period); the running tasks end on their own.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }
        Reset(downstream);
        if (Volatile.Read(ref _upstream) is { } upstream)
        {
            Reset(upstream);
        }
    }

    /// <summary>Runs the connection to its end; <paramref name="abort"/> resets it (the proxy stopping for good).</summary>
    public async Task RunAsync(CancellationToken abort)
    {
        using var aborting = abort.Register(Abort);
        var outcome = ConnectionOutcome.Forwarded;
        byte[]? first = null;
        ClusterStats? cluster = null;
        try
        {
            downstream.NoDelay = true;
            first = ArrayPool<byte>.Shared.Rent(options.BufferSize);
            var (hello, length, buffer, timedOut) = await ReadClientHelloAsync(first, abort);
            first = buffer;
            outcome = hello.Status switch
            {
                ClientHelloStatus.Complete => ConnectionOutcome.Forwarded,
                ClientHelloStatus.NotTls => ConnectionOutcome.NotTls,
                ClientHelloStatus.Invalid => ConnectionOutcome.InvalidClientHello,
                ClientHelloStatus.TooLarge => ConnectionOutcome.ClientHelloTooLarge,
                _ => timedOut ? ConnectionOutcome.ClientHelloTimeout : ConnectionOutcome.DownstreamClosedEarly,
            };
            if (outcome != ConnectionOutcome.Forwarded)
            {
                Refused(outcome, hello.Reason ?? "");
                return;
            }

            var routes = table();
            var (chain, miss) = routes.Match(hello.ServerName);
            if (chain is null)
            {
                outcome = miss switch
                {
                    RouteMiss.NoServerName => ConnectionOutcome.NoSni,
                    RouteMiss.NoListener => ConnectionOutcome.NoListener,
                    _ => ConnectionOutcome.UnknownSni,
                };
                Refused(outcome, hello.ServerName ?? "no server_name");
                return;
            }
            cluster = stats.Cluster(chain.Cluster);
            var route = routes.Cluster(chain.Cluster);
            if (route is null || !route.Endpoints.HasHealthyEndpoint)
            {
                outcome = ConnectionOutcome.NoHealthyEndpoint;
                cluster.NoEndpoint();
                Refused(outcome, route is null ? $"cluster {chain.Cluster} is unknown" : route.HasLoadAssignment ? $"cluster {chain.Cluster} has no healthy endpoint" : $"cluster {chain.Cluster} has no endpoints yet");
                return;
            }

            var upstream = await ConnectAsync(route, cluster, abort);
            if (upstream is null)
            {
                outcome = ConnectionOutcome.UpstreamConnectFailed;
                return;
            }
            Volatile.Write(ref _upstream, upstream);
            if (Volatile.Read(ref _aborted) != 0)
            {
                Reset(upstream);
                return;
            }
            cluster.Opened();
            try
            {
                // What was read to find the SNI goes first, untouched.
                await SendAllAsync(upstream, first.AsMemory(0, length));
                cluster.AddDownstreamToUpstream(length);
                // Each pump owns its buffer from here on (it may swap it for a bigger one) and hands it back at the end.
                var up = PumpAsync(downstream, upstream, first, cluster.AddDownstreamToUpstream, abort);
                first = null;
                var down = PumpAsync(upstream, downstream, ArrayPool<byte>.Shared.Rent(options.BufferSize), cluster.AddUpstreamToDownstream, abort);
                foreach (var used in await Task.WhenAll(up, down))
                {
                    ArrayPool<byte>.Shared.Return(used);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                // The upstream failed before the pumps ran (a pump resets both sides itself).
                Abort();
            }
            finally
            {
                cluster.Closed();
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested && _upstream is null)
        {
            // The proxy stopped for good while this connection was still being routed.
            outcome = ConnectionOutcome.NoListener;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            if (outcome == ConnectionOutcome.Forwarded && _upstream is null)
            {
                outcome = ConnectionOutcome.DownstreamClosedEarly;
            }
        }
        finally
        {
            downstream.Dispose();
            _upstream?.Dispose();
            if (first is not null)
            {
                ArrayPool<byte>.Shared.Return(first);
            }
            stats.ConnectionClosed(outcome);
        }
    }

    /// <summary>Reads until the ClientHello is complete, bad, too large, or the time is up; grows the buffer once if needed.</summary>
    private async Task<(ClientHelloResult Hello, int Length, byte[] Buffer, bool TimedOut)> ReadClientHelloAsync(byte[] buffer, CancellationToken abort)
    {
        var max = ClientHelloParser.MaxBytesToRead(options.MaxClientHelloBytes);
        var length = 0;
        using var timer = new CancellationTokenSource(options.ClientHelloTimeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(abort, timer.Token);
        try
        {
            while (true)
            {
                if (length >= max)
                {
                    return (new ClientHelloResult(ClientHelloStatus.TooLarge, Reason: $"no complete ClientHello in the first {length} bytes"), length, buffer, false);
                }
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(max);
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await downstream.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, max) - length), SocketFlags.None, timeout.Token);
                if (read == 0)
                {
                    return (new ClientHelloResult(ClientHelloStatus.Incomplete, Reason: $"closed after {length} bytes"), length, buffer, false);
                }
                length += read;
                var hello = ClientHelloParser.Parse(buffer.AsSpan(0, length), options.MaxClientHelloBytes);
                if (hello.Status != ClientHelloStatus.Incomplete)
                {
                    return (hello, length, buffer, false);
                }
            }
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !abort.IsCancellationRequested)
        {
            return (new ClientHelloResult(ClientHelloStatus.Incomplete, Reason: $"no complete ClientHello within {options.ClientHelloTimeout.TotalSeconds:0.###}s ({length} bytes read)"), length, buffer, true);
        }
    }

    /// <summary>Tries endpoints (each at most once) until one accepts, up to the attempt limit.</summary>
    private async Task<Socket?> ConnectAsync(ClusterRoute route, ClusterStats cluster, CancellationToken abort)
    {
        var attempts = Math.Min(options.MaxConnectAttempts, route.Endpoints.HealthyEndpoints);
        var tried = new HashSet<IPEndPoint>();
        for (var picks = 0; tried.Count < attempts && picks < attempts * 4; picks++)
        {
            abort.ThrowIfCancellationRequested();
            if (route.Endpoints.Pick() is not { } pick || !tried.Add(pick.Endpoint.Address))
            {
                continue;
            }
            var socket = new Socket(pick.Endpoint.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timer = new CancellationTokenSource(route.ConnectTimeout, time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(abort, timer.Token);
            try
            {
                await socket.ConnectAsync(pick.Endpoint.Address, timeout.Token);
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    var remote = Remote(downstream);
                    var endpoint = pick.Endpoint.Address.ToString();
                    LogForwarding(logger, Id, remote, route.Name, endpoint, pick.Locality.Zone);
                }
                return socket;
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                socket.Dispose();
                throw;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                cluster.ConnectFailed();
                if (logger.IsEnabled(LogLevel.Information))
                {
                    var reason = e is SocketException s ? s.SocketErrorCode.ToString() : $"no answer within {route.ConnectTimeout.TotalSeconds:0.###}s";
                    var endpoint = pick.Endpoint.Address.ToString();
                    LogConnectFailed(logger, Id, route.Name, endpoint, reason);
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Copies one direction until its source ends, then half-closes the destination (FIN), so the other direction keeps
    /// flowing until it ends too. An error resets both sides, which ends the other pump as well. Returns the buffer
    /// it ends with: a read that fills the buffer means a bulk transfer, which moves faster with fewer, larger reads,
    /// so the buffer grows (up to the maximum) while quiet connections keep small ones.
    /// </summary>
    private async Task<byte[]> PumpAsync(Socket from, Socket to, byte[] buffer, Action<long> count, CancellationToken abort)
    {
        try
        {
            // Cancellation resets both sockets (registered in RunAsync), which ends the pending receive; no per-call token.
            while (!abort.IsCancellationRequested)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return buffer;
                }
                await SendAllAsync(to, buffer.AsMemory(0, read));
                count(read);
                if (read == buffer.Length && buffer.Length < options.MaxBufferSize)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 4, options.MaxBufferSize));
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
            }
            return buffer;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Abort();
            return buffer;
        }
    }

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None);
            data = data[sent..];
        }
    }

    /// <summary>Closes with an RST rather than a FIN, so the peer learns the other side failed.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        socket.Dispose();
    }

    private void Refused(ConnectionOutcome outcome, string detail)
    {
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var remote = Remote(downstream);
            var name = ZoneProxyStats.Name(outcome);
            LogRefused(logger, Id, remote, name, detail);
        }
    }

    private static string Remote(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint?.ToString() ?? "?";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return "?";
        }
    }

    [LoggerMessage(EventId = 40, EventName = "ConnectionRefused", Level = LogLevel.Debug, Message = "connection {Id} from {Remote} closed: {Outcome} ({Detail})")]
    private static partial void LogRefused(ILogger logger, long id, string remote, string outcome, string detail);

    [LoggerMessage(EventId = 41, EventName = "ConnectionForwarding", Level = LogLevel.Debug, Message = "connection {Id} from {Remote} → cluster {Cluster} endpoint {Endpoint} (zone {Zone})")]
    private static partial void LogForwarding(ILogger logger, long id, string remote, string cluster, string endpoint, string zone);

    [LoggerMessage(EventId = 42, EventName = "UpstreamConnectFailed", Level = LogLevel.Information, Message = "connection {Id}: cannot connect to {Endpoint} of cluster {Cluster}: {Reason}")]
    private static partial void LogConnectFailed(ILogger logger, long id, string cluster, string endpoint, string reason);
}
