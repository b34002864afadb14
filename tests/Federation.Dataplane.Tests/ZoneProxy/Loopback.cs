using System.Collections.Immutable;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Federation.Dataplane.ZoneProxy.Proxy;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Dataplane.ZoneProxy.Stats;
using Microsoft.Extensions.Logging.Abstractions;

namespace Federation.Dataplane.Tests.ZoneProxy;

/// <summary>A server on a loopback port that runs a handler per accepted connection.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _handlers = [];
    private readonly Task _accept;

    public LoopbackServer(Func<Socket, CancellationToken, Task> handler)
    {
        _listener.Start();
        _accept = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                lock (_handlers)
                {
                    _handlers.Add(Task.Run(async () =>
                    {
                        using (socket)
                        {
                            try
                            {
                                await handler(socket, _stop.Token);
                            }
                            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
                            {
                            }
                        }
                    }));
                }
            }
        });
    }

    public IPEndPoint Address => (IPEndPoint)_listener.LocalEndpoint;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        Task[] handlers;
        lock (_handlers)
        {
            handlers = [.. _handlers];
        }
        await Task.WhenAll(handlers).WaitAsync(Within.Default);
        _stop.Dispose();
    }

    /// <summary>A TLS server for <paramref name="certificate"/> that records the SNI each client sent and runs <paramref name="handler"/>.</summary>
    public static LoopbackServer Tls(X509Certificate2 certificate, Func<SslStream, CancellationToken, Task> handler, List<string>? sniSeen = null) =>
        new(async (socket, ct) =>
        {
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, ct);
            if (sniSeen is not null)
            {
                lock (sniSeen)
                {
                    sniSeen.Add(ssl.TargetHostName);
                }
            }
            await handler(ssl, ct);
        });

    /// <summary>Answers each line with <c>&lt;tag&gt;:&lt;line&gt;</c> until the client stops sending, then closes.</summary>
    public static Func<SslStream, CancellationToken, Task> TaggedEcho(string tag) => async (ssl, ct) =>
    {
        using var reader = new StreamReader(ssl, leaveOpen: true);
        await using var writer = new StreamWriter(ssl, leaveOpen: true) { AutoFlush = true, NewLine = "\n" };
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            await writer.WriteLineAsync($"{tag}:{line}".AsMemory(), ct);
        }
    };
}

/// <summary>TLS material and clients for the loopback tests.</summary>
internal static class Tls
{
    public static X509Certificate2 SelfSigned(string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Exported and loaded again: SslStream on Linux needs a certificate whose key it can use as a server.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A TLS client through <paramref name="port"/> with <paramref name="sni"/>, trusting exactly <paramref name="server"/>.</summary>
    public static async Task<(Socket Socket, SslStream Ssl)> ConnectAsync(int port, string sni, X509Certificate2 server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken).AsTask().Within10s($"to connect to the proxy on port {port}");
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = sni,
            // The proxy must not terminate TLS: the certificate the client sees is the server's own.
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == server.GetCertHashString(),
        }, TestContext.Current.CancellationToken).Within10s($"the TLS handshake through the proxy with SNI {sni}");
        return (socket, ssl);
    }

    public static async Task<string?> AskAsync(SslStream ssl, string line)
    {
        using var reader = new StreamReader(ssl, leaveOpen: true);
        await using var writer = new StreamWriter(ssl, leaveOpen: true) { AutoFlush = true, NewLine = "\n" };
        await writer.WriteLineAsync(line.AsMemory(), TestContext.Current.CancellationToken).Within10s($"to send '{line}'");
        return await reader.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().Within10s($"the answer to '{line}'");
    }
}

/// <summary>A <see cref="ZoneProxyServer"/> on a loopback port with a routing table the test sets, and its counters.</summary>
internal sealed class ProxyUnderTest : IAsyncDisposable
{
    public const string Sni = "backend.default.mesh";
    public const string Cluster = "backend.default";

    public ProxyUnderTest(ZoneProxyOptions? options = null, TimeProvider? time = null)
    {
        Stats.ConnectionEnded += _ => Ended.Set();
        Server = new ZoneProxyServer(options ?? new ZoneProxyOptions(), Stats, time ?? TimeProvider.System, NullLogger.Instance);
    }

    public ZoneProxyStats Stats { get; } = new();

    public ZoneProxyServer Server { get; }

    public Pulse Ended { get; } = new();

    public int Port => Server.ListeningOn?.Port ?? throw new InvalidOperationException("the proxy is not listening");

    /// <summary>Listener on <paramref name="listenPort"/> (0: any free port), one chain per (SNI, cluster), clusters with their endpoints.</summary>
    public static RoutingTable Table(string version, int listenPort, (string Sni, string Cluster)[] chains, params (string Cluster, IPEndPoint[] Endpoints)[] clusters) =>
        new(
            new ListenerRoute("test", new IPEndPoint(IPAddress.Loopback, listenPort), [.. chains.Select(c => new ChainRoute(c.Sni, [c.Sni], c.Cluster, c.Sni))]),
            clusters.ToImmutableDictionary(
                c => c.Cluster,
                c => new ClusterRoute(c.Cluster, TimeSpan.FromSeconds(2), new EndpointPicker([new UpstreamLocality("zone-2", "", 1, 0, [.. c.Endpoints.Select(e => new UpstreamEndpoint(e, 1, true))])]), true)),
            version);

    /// <summary>The usual table: <see cref="Sni"/> → <see cref="Cluster"/> → <paramref name="endpoints"/>.</summary>
    public static RoutingTable Backend(string version, params IPEndPoint[] endpoints) =>
        Table(version, 0, [(Sni, Cluster)], (Cluster, endpoints));

    public Task WaitForAsync(ConnectionOutcome outcome, long count = 1) =>
        Ended.WaitUntilAsync(() => Stats.Closed(outcome) >= count, $"{count} connection(s) closed with outcome {ZoneProxyStats.Name(outcome)}",
            () => string.Join(", ", Stats.ClosedByOutcome.Where(o => o.Count > 0).Select(o => $"{ZoneProxyStats.Name(o.Outcome)}={o.Count}")) + $", active={Stats.Active}");

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
