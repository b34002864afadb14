using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Federation.IntegrationTests.Fixture;

/// <summary>
/// A TCP relay between one zone and the global's KDS port, so a test can cut the network between them without
/// stopping either process. <see cref="Partition"/> freezes every open connection (no byte passes either way,
/// and neither side sees a close, like a pulled cable) and refuses new ones; <see cref="Heal"/> accepts new
/// connections again while the frozen ones stay frozen (a real network would leave them half-dead too).
/// </summary>
public sealed class TcpLink : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int> _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Connection, byte> _connections = new();
    private readonly Task _acceptLoop;
    private volatile bool _partitioned;
    private int _accepted;

    public TcpLink(Func<int> targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync(_stop.Token);
    }

    /// <summary>Where the zone dials.</summary>
    public int Port { get; }

    /// <summary>Connections accepted and forwarded since start.</summary>
    public int Forwarded => Volatile.Read(ref _accepted);

    public bool IsPartitioned => _partitioned;

    /// <summary>Freezes every open connection and refuses new ones.</summary>
    public void Partition()
    {
        _partitioned = true;
        foreach (var connection in _connections.Keys)
        {
            connection.Frozen = true;
        }
    }

    /// <summary>Forwards new connections again; the ones frozen by <see cref="Partition"/> stay frozen.</summary>
    public void Heal() => _partitioned = false;

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(ct);
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            if (_partitioned)
            {
                // Like a network that is down: the dialler gets a reset, not an answer.
                client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                continue;
            }
            _ = ForwardAsync(client, ct);
        }
    }

    private async Task ForwardAsync(Socket client, CancellationToken ct)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort()), ct);
        }
        catch (Exception)
        {
            upstream.Dispose();
            client.LingerState = new LingerOption(true, 0);
            client.Dispose();
            return;
        }
        Interlocked.Increment(ref _accepted);
        var connection = new Connection(client, upstream);
        _connections[connection] = 0;
        try
        {
            await Task.WhenAny(PumpAsync(connection, client, upstream, ct), PumpAsync(connection, upstream, client, ct));
            if (connection.Frozen)
            {
                // A frozen connection never tells either side that it ended.
                await connection.Forever.Task.WaitAsync(ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }

    private static async Task PumpAsync(Connection connection, Socket from, Socket to, CancellationToken ct)
    {
        var buffer = new byte[32 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, ct);
                if (connection.Frozen)
                {
                    await connection.Forever.Task.WaitAsync(ct);
                }
                if (read == 0)
                {
                    return;
                }
                var sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, ct);
                }
            }
        }
        catch (Exception)
        {
            // A reset on one side (or the link stopping) ends the relay; the caller closes the other side unless frozen.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var connection in _connections.Keys)
        {
            connection.Client.Dispose();
            connection.Upstream.Dispose();
        }
        _stop.Dispose();
    }

    private sealed class Connection(Socket client, Socket upstream)
    {
        private volatile bool _frozen;

        public Socket Client => client;

        public Socket Upstream => upstream;

        public bool Frozen
        {
            get => _frozen;
            set => _frozen = value;
        }

        /// <summary>Never completes: what a frozen relay waits on until the link is disposed.</summary>
        public TaskCompletionSource Forever { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
