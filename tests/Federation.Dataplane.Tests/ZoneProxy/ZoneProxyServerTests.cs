using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Federation.Dataplane.ZoneProxy.Proxy;
using Federation.Dataplane.ZoneProxy.Stats;

namespace Federation.Dataplane.Tests.ZoneProxy;

/// <summary>The data path on loopback: real TLS clients (SslStream with SNI) → the proxy → real servers.</summary>
public sealed class ZoneProxyServerTests : IAsyncLifetime
{
    private const string Sni = ProxyUnderTest.Sni;

    private static readonly X509Certificate2 Certificate = Tls.SelfSigned(Sni);

    private readonly List<IAsyncDisposable> _disposables = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var disposable in Enumerable.Reverse(_disposables))
        {
            await disposable.DisposeAsync();
        }
    }

    private T Keep<T>(T disposable)
        where T : IAsyncDisposable
    {
        _disposables.Add(disposable);
        return disposable;
    }

    private ProxyUnderTest Proxy(ZoneProxyOptions? options = null) => Keep(new ProxyUnderTest(options));

    [Fact]
    public async Task Splice_TlsClientWithSni_ReachesTheServerUntouched_MegabytesBothWays()
    {
        var sniSeen = new List<string>();
        var server = Keep(LoopbackServer.Tls(Certificate, async (ssl, ct) =>
        {
            // Echo until the client is done.
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await ssl.ReadAsync(buffer, ct)) > 0)
            {
                await ssl.WriteAsync(buffer.AsMemory(0, read), ct);
            }
        }, sniSeen));
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", server.Address));
        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);

        var (socket, ssl) = await Tls.ConnectAsync(proxy.Port, Sni, Certificate);
        using (socket)
        await using (ssl)
        {
            var echoed = new byte[payload.Length];
            var reading = Task.Run(async () =>
            {
                await ssl.ReadExactlyAsync(echoed, Ct);
            }, Ct);
            await ssl.WriteAsync(payload, Ct).AsTask().Within10s("to send 3 MiB through the proxy");
            await reading.Within10s("3 MiB echoed back through the proxy");
            Assert.True(payload.AsSpan().SequenceEqual(echoed), "the echoed bytes differ from the sent ones");
        }

        await proxy.WaitForAsync(ConnectionOutcome.Forwarded);
        Assert.Equal([Sni], sniSeen);
        var cluster = Assert.Single(proxy.Stats.Clusters);
        Assert.Equal((ProxyUnderTest.Cluster, 1L, 0L), (cluster.Name, cluster.Connections, cluster.Active));
        Assert.InRange(cluster.BytesDownstreamToUpstream, payload.Length, payload.Length + (64 * 1024));
        Assert.InRange(cluster.BytesUpstreamToDownstream, payload.Length, payload.Length + (64 * 1024));
        Assert.Equal((1L, 0L), (proxy.Stats.Accepted, proxy.Stats.Active));
    }

    [Fact]
    public async Task Splice_ClientHalfClosesFirst_TheServerStillAnswersAfterSeeingTheEnd()
    {
        var hello = ClientHellos.Build([ClientHellos.ServerName(Sni)]);
        var request = Encoding.ASCII.GetBytes("the whole request");
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = Keep(new LoopbackServer(async (socket, ct) =>
        {
            // Reads to the end (the client's FIN, passed on by the proxy), then answers, then ends its side.
            var all = await ReadToEndAsync(socket, ct);
            received.TrySetResult(all);
            await socket.SendAsync(Encoding.ASCII.GetBytes("the answer, sent after the request ended"), ct);
            socket.Shutdown(SocketShutdown.Send);
        }));
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", server.Address));

        using var client = await ConnectRawAsync(proxy.Port);
        await client.SendAsync(hello.Concat(request).ToArray(), Ct);
        client.Shutdown(SocketShutdown.Send);

        var seen = await received.Task.Within10s("the server to read the request to its end");
        Assert.Equal([.. hello, .. request], seen);
        Assert.Equal("the answer, sent after the request ended", Encoding.ASCII.GetString(await ReadToEndAsync(client, Ct).Within10s("the answer and the server's FIN")));
        await proxy.WaitForAsync(ConnectionOutcome.Forwarded);
    }

    [Fact]
    public async Task Splice_ServerHalfClosesFirst_TheClientCanStillSend()
    {
        var hello = ClientHellos.Build([ClientHellos.ServerName(Sni)]);
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = Keep(new LoopbackServer(async (socket, ct) =>
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes("banner"), ct);
            socket.Shutdown(SocketShutdown.Send);
            received.TrySetResult(await ReadToEndAsync(socket, ct));
        }));
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", server.Address));

        using var client = await ConnectRawAsync(proxy.Port);
        await client.SendAsync(hello, Ct);
        Assert.Equal("banner", Encoding.ASCII.GetString(await ReadToEndAsync(client, Ct).Within10s("the banner and the server's FIN")));
        await client.SendAsync(Encoding.ASCII.GetBytes("sent after the server ended its side"), Ct);
        client.Shutdown(SocketShutdown.Send);

        var seen = await received.Task.Within10s("the server to read the client's bytes after its own FIN");
        Assert.Equal([.. hello, .. Encoding.ASCII.GetBytes("sent after the server ended its side")], seen);
        await proxy.WaitForAsync(ConnectionOutcome.Forwarded);
    }

    [Fact]
    public async Task Splice_ServerResets_TheClientIsReset()
    {
        var server = Keep(new LoopbackServer(async (socket, ct) =>
        {
            // Once the connection carries data (so the proxy is splicing), reset it.
            await socket.ReceiveAsync(new byte[1], SocketFlags.None, ct);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }));
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", server.Address));

        using var client = await ConnectRawAsync(proxy.Port);
        await client.SendAsync(ClientHellos.Build([ClientHellos.ServerName(Sni)]), Ct);

        var error = await Assert.ThrowsAsync<SocketException>(() => ReadToEndAsync(client, Ct)).Within10s("the client to be reset");
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        await proxy.WaitForAsync(ConnectionOutcome.Forwarded);
    }

    [Fact]
    public async Task Apply_NewConfigWhileConnectionsAreOpen_NeverTouchesThem()
    {
        var a = Keep(LoopbackServer.Tls(Certificate, LoopbackServer.TaggedEcho("A")));
        var b = Keep(LoopbackServer.Tls(Certificate, LoopbackServer.TaggedEcho("B")));
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", a.Address));
        var first = await Tls.ConnectAsync(proxy.Port, Sni, Certificate);
        Assert.Equal("A:1", await Tls.AskAsync(first.Ssl, "1"));

        // The cluster moves to B: the open connection stays on A, a new one goes to B.
        proxy.Server.Apply(ProxyUnderTest.Backend("v2", b.Address));
        Assert.Equal("A:2", await Tls.AskAsync(first.Ssl, "2"));
        var second = await Tls.ConnectAsync(proxy.Port, Sni, Certificate);
        Assert.Equal("B:1", await Tls.AskAsync(second.Ssl, "1"));

        // The SNI's filter chain goes away: open connections carry on, a new one is refused.
        var oldPort = proxy.Port;
        proxy.Server.Apply(ProxyUnderTest.Table("v3", 0, [], (ProxyUnderTest.Cluster, [b.Address])));
        Assert.Equal(oldPort, proxy.Port);
        Assert.Equal("A:3", await Tls.AskAsync(first.Ssl, "3"));
        Assert.Equal("B:2", await Tls.AskAsync(second.Ssl, "2"));
        await Assert.ThrowsAnyAsync<IOException>(() => Tls.ConnectAsync(proxy.Port, Sni, Certificate));
        await proxy.WaitForAsync(ConnectionOutcome.UnknownSni);

        // The listener moves: the old port stops accepting, open connections carry on.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var newPort = ((IPEndPoint)taken.LocalEndpoint).Port;
        taken.Stop();
        proxy.Server.Apply(ProxyUnderTest.Table("v4", newPort, [(Sni, ProxyUnderTest.Cluster)], (ProxyUnderTest.Cluster, [b.Address])));
        Assert.Equal(newPort, proxy.Port);
        Assert.Equal("A:4", await Tls.AskAsync(first.Ssl, "4"));
        await Assert.ThrowsAsync<SocketException>(() => ConnectRawAsync(oldPort));
        var third = await Tls.ConnectAsync(newPort, Sni, Certificate);
        Assert.Equal("B:1", await Tls.AskAsync(third.Ssl, "1"));

        foreach (var (socket, ssl) in new[] { first, second, third })
        {
            await ssl.DisposeAsync();
            socket.Dispose();
        }
        await proxy.WaitForAsync(ConnectionOutcome.Forwarded, 3);
        Assert.Equal(0, proxy.Server.ActiveConnections);
    }

    [Fact]
    public async Task Route_UnknownSni_ClosedAndCounted()
    {
        var server = Keep(LoopbackServer.Tls(Certificate, LoopbackServer.TaggedEcho("A")));
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", server.Address));

        await Assert.ThrowsAnyAsync<IOException>(() => Tls.ConnectAsync(proxy.Port, "payments.default.mesh", Certificate));

        await proxy.WaitForAsync(ConnectionOutcome.UnknownSni);
        Assert.Empty(proxy.Stats.Clusters);
    }

    [Fact]
    public async Task Route_NoSni_ClosedAndCounted()
    {
        var server = Keep(LoopbackServer.Tls(Certificate, LoopbackServer.TaggedEcho("A")));
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", server.Address));

        // A client dialling an IP address sends no SNI.
        await Assert.ThrowsAnyAsync<IOException>(() => Tls.ConnectAsync(proxy.Port, "127.0.0.1", Certificate));

        await proxy.WaitForAsync(ConnectionOutcome.NoSni);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: backend\r\n\r\n", nameof(ConnectionOutcome.NotTls))]
    [InlineData("\u0016\u0003\u0001\u0000\u0000", nameof(ConnectionOutcome.InvalidClientHello))]
    public async Task Route_GarbageInsteadOfAClientHello_ClosedAndCounted(string garbage, string expected)
    {
        var outcome = Enum.Parse<ConnectionOutcome>(expected);
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", new IPEndPoint(IPAddress.Loopback, 1)));

        using var client = await ConnectRawAsync(proxy.Port);
        await client.SendAsync(Encoding.Latin1.GetBytes(garbage), Ct);

        Assert.Empty(await ReadToEndAsync(client, Ct).Within10s("the proxy to close the connection"));
        await proxy.WaitForAsync(outcome);
    }

    [Fact]
    public async Task Route_HandshakeRecordsThatNeverEnd_StopAtTheReadLimit()
    {
        var proxy = Proxy(new ZoneProxyOptions { MaxClientHelloBytes = 1024 });
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", new IPEndPoint(IPAddress.Loopback, 1)));

        using var client = await ConnectRawAsync(proxy.Port);
        // A ClientHello header announcing 1000 bytes, delivered in records of one byte each: under the handshake
        // limit, but never complete within the read limit.
        var bytes = new List<byte>();
        foreach (var b in new byte[] { 1, 0, 3, 0xe8 }.Concat(new byte[996]))
        {
            bytes.AddRange(ClientHellos.Record(22, [b]));
        }
        try
        {
            await client.SendAsync(bytes.ToArray(), Ct);
        }
        catch (SocketException)
        {
            // The proxy may close while we are still sending.
        }

        await proxy.WaitForAsync(ConnectionOutcome.ClientHelloTooLarge);
    }

    [Fact]
    public async Task Route_ClientThatSendsTooLittle_IsClosedAfterTheTimeout()
    {
        var proxy = Proxy(new ZoneProxyOptions { ClientHelloTimeout = TimeSpan.FromMilliseconds(300) });
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", new IPEndPoint(IPAddress.Loopback, 1)));

        using var client = await ConnectRawAsync(proxy.Port);
        await client.SendAsync(ClientHellos.Build([ClientHellos.ServerName(Sni)]).AsMemory(0, 20), Ct);

        Assert.Empty(await ReadToEndAsync(client, Ct).Within10s("the proxy to give up on the ClientHello"));
        await proxy.WaitForAsync(ConnectionOutcome.ClientHelloTimeout);
    }

    [Fact]
    public async Task Route_ClusterWithoutHealthyEndpoints_ClosedAndCounted()
    {
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Table("v1", 0, [(Sni, ProxyUnderTest.Cluster)]));

        await Assert.ThrowsAnyAsync<IOException>(() => Tls.ConnectAsync(proxy.Port, Sni, Certificate));

        await proxy.WaitForAsync(ConnectionOutcome.NoHealthyEndpoint);
        Assert.Equal(1, proxy.Stats.Cluster(ProxyUnderTest.Cluster).NoHealthyEndpoint);
    }

    [Fact]
    public async Task Connect_FirstEndpointRefuses_TheNextOneIsTried()
    {
        var server = Keep(LoopbackServer.Tls(Certificate, LoopbackServer.TaggedEcho("A")));
        var dead = DeadEndpoint();
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", dead, server.Address));

        var (socket, ssl) = await Tls.ConnectAsync(proxy.Port, Sni, Certificate);
        using (socket)
        await using (ssl)
        {
            Assert.Equal("A:hello", await Tls.AskAsync(ssl, "hello"));
        }

        await proxy.WaitForAsync(ConnectionOutcome.Forwarded);
        Assert.Equal(1, proxy.Stats.Cluster(ProxyUnderTest.Cluster).ConnectFailures);
    }

    [Fact]
    public async Task Connect_EveryEndpointRefuses_ClosedAndCounted()
    {
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", DeadEndpoint()));

        await Assert.ThrowsAnyAsync<IOException>(() => Tls.ConnectAsync(proxy.Port, Sni, Certificate));

        await proxy.WaitForAsync(ConnectionOutcome.UpstreamConnectFailed);
    }

    [Fact]
    public async Task Drain_StopsAcceptingButLetsOpenConnectionsFinish_ThenResetsTheRest()
    {
        var server = Keep(LoopbackServer.Tls(Certificate, LoopbackServer.TaggedEcho("A")));
        var proxy = Proxy();
        proxy.Server.Apply(ProxyUnderTest.Backend("v1", server.Address));
        var port = proxy.Port;
        var (socket, ssl) = await Tls.ConnectAsync(port, Sni, Certificate);
        using var _ = socket;
        await using var __ = ssl;

        proxy.Server.StopAccepting();

        Assert.Null(proxy.Server.ListeningOn);
        await Assert.ThrowsAsync<SocketException>(() => ConnectRawAsync(port));
        Assert.Equal("A:still here", await Tls.AskAsync(ssl, "still here"));
        await proxy.Server.DrainAsync(TimeSpan.FromMilliseconds(200)).Within10s("the drain to end");
        await Assert.ThrowsAnyAsync<IOException>(() => Tls.AskAsync(ssl, "gone"));
        await proxy.WaitForAsync(ConnectionOutcome.Forwarded);
    }

    private static IPEndPoint DeadEndpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var address = (IPEndPoint)listener.LocalEndpoint;
        listener.Stop();
        return address;
    }

    private static async Task<Socket> ConnectRawAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port, Ct).AsTask().Within10s($"to connect to port {port}");
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        var all = new List<byte>();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            all.AddRange(buffer.AsSpan(0, read));
        }
        return [.. all];
    }
}
