using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Federation.Zone.Xds.Server;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Federation.Zone.Tests.Xds.Server.Fakes;

/// <summary>Proxies whose snapshots the test sets, and a record of what the ADS server told each of them.</summary>
internal sealed class FakeSnapshotSource : IXdsSnapshotSource
{
    private readonly ConcurrentDictionary<string, FakeProxy> _proxies = new(StringComparer.Ordinal);

    /// <summary>When set, ConnectAsync throws what it returns (null = accept).</summary>
    public Func<Node, RpcException?>? Refuse { get; set; }

    public FakeProxy Proxy(string nodeId) => _proxies.GetOrAdd(nodeId, id => new FakeProxy(id));

    public ValueTask<IProxyWatch> ConnectAsync(Node node, ServerCallContext context, CancellationToken cancellationToken)
    {
        if (Refuse?.Invoke(node) is { } refused)
        {
            throw refused;
        }
        return ValueTask.FromResult<IProxyWatch>(Proxy(node.Id).Connect(node));
    }
}

internal sealed record Answer(string TypeUrl, string Version, string? Reason);

/// <summary>One proxy: its current snapshot (set by the test) and what every stream of it did.</summary>
internal sealed class FakeProxy(string id)
{
    private readonly Lock _lock = new();
    private readonly List<Answer> _acks = [];
    private readonly List<Answer> _nacks = [];
    private readonly List<(string TypeUrl, string Version, int Resources)> _sent = [];
    private readonly List<FakeWatch> _watches = [];
    private ProxySnapshot _current = Snapshots.Empty;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _kick = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Id => id;

    public Pulse Changes { get; } = new();

    public ProxySnapshot Current => Volatile.Read(ref _current);

    public IReadOnlyList<Answer> Acks { get { lock (_lock) { return [.. _acks]; } } }

    public IReadOnlyList<Answer> Nacks { get { lock (_lock) { return [.. _nacks]; } } }

    public IReadOnlyList<(string TypeUrl, string Version, int Resources)> Sent { get { lock (_lock) { return [.. _sent]; } } }

    public IReadOnlyList<FakeWatch> Watches { get { lock (_lock) { return [.. _watches]; } } }

    public FakeWatch Connect(Node node)
    {
        var watch = new FakeWatch(this, node);
        lock (_lock)
        {
            _watches.Add(watch);
        }
        Changes.Set();
        return watch;
    }

    /// <summary>Publishes a snapshot built from <paramref name="build"/> with the next version; returns that version.</summary>
    public long Publish(Action<SnapshotBuilder> build)
    {
        var builder = new SnapshotBuilder();
        build(builder);
        TaskCompletionSource changed;
        long version;
        lock (_lock)
        {
            version = _current.Version + 1;
            Volatile.Write(ref _current, builder.Build(version));
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
        return version;
    }

    public async Task WaitForNewerAsync(long version, CancellationToken cancellationToken)
    {
        Task kicked;
        lock (_lock)
        {
            kicked = _kick.Task;
        }
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_current.Version > version)
                {
                    return;
                }
                changed = _changed.Task;
            }
            var done = await Task.WhenAny(changed, kicked).WaitAsync(cancellationToken);
            await done;
        }
    }

    /// <summary>Fails the streams of this proxy that are open now (their watch throws Unavailable); later ones are fine.</summary>
    public void Kick()
    {
        TaskCompletionSource kick;
        lock (_lock)
        {
            kick = _kick;
            _kick = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        kick.TrySetException(new RpcException(new Status(StatusCode.Unavailable, "kicked by the test")));
    }

    public void Record(Action<List<Answer>, List<Answer>, List<(string, string, int)>> record)
    {
        lock (_lock)
        {
            record(_acks, _nacks, _sent);
        }
        Changes.Set();
    }

    public Task WaitUntilAsync(Func<FakeProxy, bool> condition, string what) =>
        Changes.WaitUntilAsync(() => condition(this), $"{what} ({id})",
            () => $"sent [{string.Join(", ", Sent.Select(s => $"{Short(s.TypeUrl)} {s.Version}x{s.Resources}"))}], " +
                  $"acks [{string.Join(", ", Acks.Select(a => $"{Short(a.TypeUrl)} {a.Version}"))}], " +
                  $"nacks [{string.Join(", ", Nacks.Select(a => $"{Short(a.TypeUrl)} {a.Version}: {a.Reason}"))}], watches {Watches.Count}");

    private static string Short(string typeUrl) => typeUrl[(typeUrl.LastIndexOf('.') + 1)..];
}

/// <summary>The watch of one stream. Knows the highest version its stream has waited beyond (a barrier for tests).</summary>
internal sealed class FakeWatch(FakeProxy proxy, Node node) : IProxyWatch
{
    private long _observed = -1;

    public Node Node => node;

    public bool Disposed { get; private set; }

    public string ProxyId => proxy.Id;

    public ProxySnapshot Current => proxy.Current;

    public Task WaitForNewerAsync(long version, CancellationToken cancellationToken)
    {
        // The server's watch loop has handed every version up to this one to its stream before asking for newer.
        if (version > Interlocked.Read(ref _observed))
        {
            Interlocked.Exchange(ref _observed, version);
            proxy.Changes.Set();
        }
        return proxy.WaitForNewerAsync(version, cancellationToken);
    }

    /// <summary>Completes once the stream has taken in snapshot <paramref name="version"/>.</summary>
    public Task ObservedAsync(long version) =>
        proxy.Changes.WaitUntilAsync(() => Interlocked.Read(ref _observed) >= version, $"the stream of {proxy.Id} to take in snapshot {version}",
            () => $"observed {Interlocked.Read(ref _observed)}");

    public void OnAck(string typeUrl, string version) => proxy.Record((acks, _, _) => acks.Add(new Answer(typeUrl, version, null)));

    public void OnNack(string typeUrl, string version, string reason) => proxy.Record((_, nacks, _) => nacks.Add(new Answer(typeUrl, version, reason)));

    public void OnSent(string typeUrl, string version, int resources) => proxy.Record((_, _, sent) => sent.Add((typeUrl, version, resources)));

    public void Dispose()
    {
        Disposed = true;
        proxy.Changes.Set();
    }
}

/// <summary>Builds snapshots: resources with explicit versions, type versions derived from them.</summary>
internal sealed class SnapshotBuilder
{
    /// <summary>Every snapshot holds this Secret: tests subscribe to it as a barrier (see StreamHarness.ProbeAsync).</summary>
    public const string ProbeSecret = "probe";

    private readonly Dictionary<string, Dictionary<string, XdsResource>> _types = new(StringComparer.Ordinal);

    public SnapshotBuilder()
    {
        Add(XdsTypes.Secret, ProbeSecret, "1");
    }

    public SnapshotBuilder Listener(string name, string version = "1") => Add(XdsTypes.Listener, name, version);

    public SnapshotBuilder Route(string name, string version = "1") => Add(XdsTypes.RouteConfiguration, name, version);

    public SnapshotBuilder Cluster(string name, string version = "1", int connectTimeoutSeconds = 1) =>
        Add(XdsTypes.Cluster, name, version, Any.Pack(new Cluster { Name = name, ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(connectTimeoutSeconds)) }));

    public SnapshotBuilder Endpoints(string name, string version = "1") => Add(XdsTypes.ClusterLoadAssignment, name, version);

    public SnapshotBuilder Add(string typeUrl, string name, string version, Any? packed = null)
    {
        if (!_types.TryGetValue(typeUrl, out var resources))
        {
            _types[typeUrl] = resources = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        }
        resources[name] = new XdsResource(name, version, packed ?? Pack(typeUrl, name));
        return this;
    }

    public ProxySnapshot Build(long version)
    {
        var resources = _types.ToImmutableDictionary(t => t.Key, t => t.Value.ToImmutableDictionary(StringComparer.Ordinal), StringComparer.Ordinal);
        var versions = _types.ToImmutableDictionary(t => t.Key, t => TypeVersion(t.Value.Values), StringComparer.Ordinal);
        return new ProxySnapshot(version, resources, versions);
    }

    public static Any Pack(string typeUrl, string name) => typeUrl switch
    {
        XdsTypes.Listener => Any.Pack(new Listener { Name = name }),
        XdsTypes.RouteConfiguration => Any.Pack(new RouteConfiguration { Name = name }),
        XdsTypes.Cluster => Any.Pack(new Cluster { Name = name }),
        XdsTypes.ClusterLoadAssignment => Any.Pack(new ClusterLoadAssignment { ClusterName = name }),
        XdsTypes.Secret => Any.Pack(new Secret { Name = name }),
        _ => throw new ArgumentException($"no such type {typeUrl}", nameof(typeUrl)),
    };

    private static string TypeVersion(IEnumerable<XdsResource> resources)
    {
        var text = string.Join("\n", resources.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => $"{r.Name}={r.Version}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
    }
}

/// <summary>Snapshots used by the tests.</summary>
internal static class Snapshots
{
    public static readonly ProxySnapshot Empty = new SnapshotBuilder().Build(0);
}
