using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Dataplane.ZoneProxy.Stats;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.ZoneProxy.Proxy;

/// <summary>Limits and buffer sizes of the proxy's data path.</summary>
internal sealed record ZoneProxyOptions
{
    /// <summary>A client that sends no complete ClientHello within this is closed.</summary>
    public TimeSpan ClientHelloTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public int MaxClientHelloBytes { get; init; } = Tls.ClientHelloParser.DefaultMaxHandshakeBytes;

    /// <summary>First buffer per direction per connection, from the shared array pool (also where the ClientHello is read).</summary>
    public int BufferSize { get; init; } = 16 * 1024;

    /// <summary>
    /// What a direction's buffer grows to while reads keep filling it (bulk transfers move with fewer system calls);
    /// quiet connections keep their first buffer.
    /// </summary>
    public int MaxBufferSize { get; init; } = 256 * 1024;

    /// <summary>How many endpoints a connection tries before giving up (each at most once).</summary>
    public int MaxConnectAttempts { get; init; } = 3;

    public int Backlog { get; init; } = 1024;
}

/// <summary>
/// The data path of a zone ingress/egress: listens where the current <see cref="RoutingTable"/>'s listener says,
/// and runs a <see cref="ProxyConnection"/> per accepted connection. A new table is swapped in atomically; each
/// connection routes on the table current when its ClientHello is complete, so established connections are never
/// touched by a config change. When the listener's address changes the new socket is bound first (a failure is
/// reported, so the Listener can be NACKed) and the old one closed; its connections carry on.
/// </summary>
internal sealed partial class ZoneProxyServer : IAsyncDisposable
{
    private readonly ZoneProxyOptions _options;
    private readonly ZoneProxyStats _stats;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<long, ProxyConnection> _connections = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Cancelled when established connections must go too (after the drain period, or on dispose): each resets.
    private readonly CancellationTokenSource _abort = new();
    private RoutingTable _table = RoutingTable.Empty;
    private ListeningSocket? _listening;
    private ListeningSocket? _prepared;
    private long _nextId;
    private bool _stopped;

    public ZoneProxyServer(ZoneProxyOptions options, ZoneProxyStats stats, TimeProvider time, ILogger logger)
    {
        _options = options;
        _stats = stats;
        _time = time;
        _logger = logger;
    }

    public RoutingTable Table => Volatile.Read(ref _table);

    /// <summary>Where the proxy accepts connections now; null when it does not.</summary>
    public IPEndPoint? ListeningOn
    {
        get
        {
            lock (_lock)
            {
                return _listening?.Address;
            }
        }
    }

    public int ActiveConnections => _connections.Count;

    /// <summary>
    /// Makes sure <paramref name="address"/> can be listened on before a Listener naming it is accepted: binds it now
    /// unless it is already bound; null on success, else why not (the reason of the NACK).
    /// </summary>
    public string? Prepare(IPEndPoint address)
    {
        lock (_lock)
        {
            if (_stopped || _listening?.Requested.Equals(address) == true || _prepared?.Requested.Equals(address) == true)
            {
                return null;
            }
            _prepared?.Dispose();
            _prepared = null;
            try
            {
                _prepared = ListeningSocket.Bind(address, _options.Backlog);
                return null;
            }
            catch (SocketException e)
            {
                return $"cannot listen on {address}: {e.SocketErrorCode} ({e.Message})";
            }
        }
    }

    /// <summary>Swaps the routing table in, and moves the listening socket if the listener's address changed.</summary>
    public void Apply(RoutingTable table)
    {
        Volatile.Write(ref _table, table);
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }
            var wanted = table.Listener?.Address;
            if (wanted is null)
            {
                if (_listening is not null)
                {
                    LogStoppedListening(_logger, _listening.Address);
                    _listening.Dispose();
                    _listening = null;
                }
                return;
            }
            if (_listening?.Requested.Equals(wanted) == true)
            {
                return;
            }
            ListeningSocket next;
            if (_prepared?.Requested.Equals(wanted) == true)
            {
                next = _prepared;
                _prepared = null;
            }
            else
            {
                try
                {
                    next = ListeningSocket.Bind(wanted, _options.Backlog);
                }
                catch (SocketException e)
                {
                    LogListenFailed(_logger, wanted, e.Message);
                    return;
                }
            }
            if (_listening is not null)
            {
                LogStoppedListening(_logger, _listening.Address);
                _listening.Dispose();
            }
            _listening = next;
            next.Run = AcceptAsync(next);
            LogListening(_logger, next.Address, table.Listener!.Name);
        }
    }

    /// <summary>Stops accepting; connections already established carry on (see <see cref="DrainAsync"/>).</summary>
    public void StopAccepting()
    {
        lock (_lock)
        {
            _stopped = true;
            _listening?.Dispose();
            _listening = null;
            _prepared?.Dispose();
            _prepared = null;
        }
        if (_connections.IsEmpty)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for established connections to end, then resets the rest.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        StopAccepting();
        try
        {
            await _drained.Task.WaitAsync(timeout, _time);
        }
        catch (TimeoutException)
        {
            LogAborting(_logger, _connections.Count, timeout.TotalSeconds);
            await _abort.CancelAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        StopAccepting();
        await _abort.CancelAsync();
    }

    private async Task AcceptAsync(ListeningSocket listening)
    {
        // Taken once: the source is disposed with the socket, its token stays readable.
        var closing = listening.Closing.Token;
        await Task.Yield();
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await listening.Socket.AcceptAsync(closing);
            }
            catch (Exception) when (closing.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // E.g. out of file descriptors: do not spin.
                LogAcceptFailed(_logger, listening.Address, e.SocketErrorCode);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), _time, closing);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            _stats.ConnectionAccepted();
            var connection = new ProxyConnection(Interlocked.Increment(ref _nextId), accepted, () => Table, _options, _stats, _time, _logger);
            _connections[connection.Id] = connection;
            _ = RunConnectionAsync(connection);
        }
    }

    private async Task RunConnectionAsync(ProxyConnection connection)
    {
        try
        {
            await connection.RunAsync(_abort.Token);
        }
        catch (Exception e)
        {
            LogConnectionFailed(_logger, connection.Id, e);
        }
        finally
        {
            _connections.TryRemove(connection.Id, out _);
            if (_connections.IsEmpty && Volatile.Read(ref _stopped))
            {
                _drained.TrySetResult();
            }
        }
    }

    /// <summary>A bound, listening socket and the loop accepting on it.</summary>
    private sealed class ListeningSocket : IDisposable
    {
        private ListeningSocket(Socket socket, IPEndPoint requested, IPEndPoint address)
        {
            Socket = socket;
            Requested = requested;
            Address = address;
        }

        public Socket Socket { get; }

        /// <summary>What the Listener asked for.</summary>
        public IPEndPoint Requested { get; }

        /// <summary>What was bound (differs when the Listener asked for port 0, as tests do).</summary>
        public IPEndPoint Address { get; }

        public CancellationTokenSource Closing { get; } = new();

        public Task? Run { get; set; }

        public static ListeningSocket Bind(IPEndPoint address, int backlog)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(address);
                socket.Listen(backlog);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            return new ListeningSocket(socket, address, (IPEndPoint)socket.LocalEndPoint!);
        }

        public void Dispose()
        {
            Closing.Cancel();
            Socket.Dispose();
            Closing.Dispose();
        }
    }

    [LoggerMessage(EventId = 30, EventName = "Listening", Level = LogLevel.Information, Message = "listening on {Address} (Listener {Listener})")]
    private static partial void LogListening(ILogger logger, IPEndPoint address, string listener);

    [LoggerMessage(EventId = 31, EventName = "StoppedListening", Level = LogLevel.Information, Message = "stopped listening on {Address}; its established connections carry on")]
    private static partial void LogStoppedListening(ILogger logger, IPEndPoint address);

    [LoggerMessage(EventId = 32, EventName = "ListenFailed", Level = LogLevel.Error, Message = "cannot listen on {Address}: {Reason}")]
    private static partial void LogListenFailed(ILogger logger, IPEndPoint address, string reason);

    [LoggerMessage(EventId = 33, EventName = "AcceptFailed", Level = LogLevel.Warning, Message = "accepting on {Address} failed: {Reason}")]
    private static partial void LogAcceptFailed(ILogger logger, IPEndPoint address, SocketError reason);

    [LoggerMessage(EventId = 34, EventName = "ConnectionFailed", Level = LogLevel.Error, Message = "connection {Id} failed unexpectedly")]
    private static partial void LogConnectionFailed(ILogger logger, long id, Exception exception);

    [LoggerMessage(EventId = 35, EventName = "AbortingConnections", Level = LogLevel.Warning, Message = "resetting {Count} connections still open {Seconds}s after the stop")]
    private static partial void LogAborting(ILogger logger, int count, double seconds);
}
