using System.Collections.Immutable;
using Envoy.Config.Core.V3;
using Federation.Zone.Xds.Server;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.Tests.Testing;

/// <summary>
/// The zone's real ADS server (SotW and delta) on a loopback port, serving one config the test publishes to whoever
/// connects, and recording who connected (node, authorization) and what they ACKed and NACKed.
/// </summary>
internal sealed class FakeXdsServer : IAsyncDisposable, IXdsSnapshotSource
{
    private readonly Lock _lock = new();
    private readonly List<(Node Node, string? Authorization)> _connections = [];
    private readonly List<(string TypeUrl, string Version)> _acks = [];
    private readonly List<(string TypeUrl, string Version, string Reason)> _nacks = [];
    private WebApplication _app = null!;
    private ProxySnapshot _current = ProxySnapshot.Empty;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Address { get; private set; } = "";

    /// <summary>Pulses on every connection, ACK and NACK.</summary>
    public Pulse Events { get; } = new();

    public IReadOnlyList<(Node Node, string? Authorization)> Connections { get { lock (_lock) { return [.. _connections]; } } }

    public IReadOnlyList<(string TypeUrl, string Version)> Acks { get { lock (_lock) { return [.. _acks]; } } }

    public IReadOnlyList<(string TypeUrl, string Version, string Reason)> Nacks { get { lock (_lock) { return [.. _nacks]; } } }

    public static async Task<FakeXdsServer> StartAsync()
    {
        var server = new FakeXdsServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton<IXdsSnapshotSource>(server);
        builder.Services.AddAdsServer();
        server._app = builder.Build();
        server._app.MapGrpcService<AdsService>();
        await server._app.StartAsync();
        server.Address = new Uri(server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Authority;
        return server;
    }

    /// <summary>Serves these resources (by type URL) from now on, as the next version.</summary>
    public void Publish(params (string TypeUrl, string Name, IMessage Message)[] resources)
    {
        var current = Volatile.Read(ref _current);
        var version = current.Version + 1;
        var byType = resources.GroupBy(r => r.TypeUrl).ToImmutableDictionary(
            g => g.Key,
            g => g.ToImmutableDictionary(r => r.Name, r => new XdsResource(r.Name, $"{version}", Any.Pack(r.Message)), StringComparer.Ordinal),
            StringComparer.Ordinal);
        // Every type the proxy asks for gets an answer, empty or not, with a version that moves with each publish.
        var types = new[] { XdsTypes.Listener, XdsTypes.Cluster, XdsTypes.ClusterLoadAssignment }.Union(byType.Keys).ToImmutableDictionary(
            t => t,
            t => byType.GetValueOrDefault(t) ?? ImmutableDictionary<string, XdsResource>.Empty,
            StringComparer.Ordinal);
        Volatile.Write(ref _current, new ProxySnapshot(version, types, types.Keys.ToImmutableDictionary(t => t, _ => $"{version}", StringComparer.Ordinal)));
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public ValueTask<IProxyWatch> ConnectAsync(Node node, ServerCallContext context, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _connections.Add((node, context.RequestHeaders.GetValue("authorization")));
        }
        Events.Set();
        return ValueTask.FromResult<IProxyWatch>(new Watch(this, node.Id));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class Watch(FakeXdsServer server, string id) : IProxyWatch
    {
        public string ProxyId => id;

        public ProxySnapshot Current => Volatile.Read(ref server._current);

        public async Task WaitForNewerAsync(long version, CancellationToken cancellationToken)
        {
            while (true)
            {
                var changed = Volatile.Read(ref server._changed).Task;
                if (Current.Version > version)
                {
                    return;
                }
                await changed.WaitAsync(cancellationToken);
            }
        }

        public void OnAck(string typeUrl, string version)
        {
            lock (server._lock)
            {
                server._acks.Add((typeUrl, version));
            }
            server.Events.Set();
        }

        public void OnNack(string typeUrl, string version, string reason)
        {
            lock (server._lock)
            {
                server._nacks.Add((typeUrl, version, reason));
            }
            server.Events.Set();
        }

        public void OnSent(string typeUrl, string version, int resources)
        {
        }

        public void Dispose()
        {
        }
    }
}
