using Federation.Resources.Types;
using Federation.Zone.Xds.Generators;
using Federation.Zone.Xds.Server;

namespace Federation.Zone.Xds.Proxies;

/// <summary>One connected xDS stream of a proxy: its current snapshot and what it did with what it got.</summary>
public sealed class ProxyWatch : IProxyWatch
{
    private readonly ProxyRegistry _registry;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, XdsCounters> _stat = new(StringComparer.Ordinal);
    private ProxySnapshot _current = ProxySnapshot.Pending;
    private TaskCompletionSource _changed = NewSignal();
    private DateTimeOffset? _lastUpdate;

    internal ProxyWatch(ProxyRegistry registry, string id, string mesh, string name, ProxyKind kind, string protocol, string? proxyVersion, DateTimeOffset connectTime)
    {
        _registry = registry;
        Id = id;
        Mesh = mesh;
        Name = name;
        Kind = kind;
        Protocol = protocol;
        ProxyVersion = proxyVersion;
        ConnectTime = connectTime;
    }

    public string Id { get; }

    public string Mesh { get; }

    public string Name { get; }

    public ProxyKind Kind { get; }

    public string Protocol { get; }

    public string? ProxyVersion { get; }

    public DateTimeOffset ConnectTime { get; }

    public DateTimeOffset? DisconnectTime { get; internal set; }

    public string ProxyId => Mesh.Length == 0 ? $"{Kind.ToString().ToLowerInvariant()} {Name}" : $"{Mesh}.{Name}";

    public ProxySnapshot Current => Volatile.Read(ref _current);

    public async Task WaitForNewerAsync(long version, CancellationToken cancellationToken)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _changed);
            if (Current.Version > version)
            {
                return;
            }
            await signal.Task.WaitAsync(cancellationToken);
        }
    }

    internal void Publish(ProxySnapshot snapshot)
    {
        Volatile.Write(ref _current, snapshot);
        Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    public void OnAck(string typeUrl, string version) =>
        Update(typeUrl, c => c with { ResponsesAcknowledged = c.ResponsesAcknowledged + 1, AckedVersion = version });

    public void OnNack(string typeUrl, string version, string reason) =>
        Update(typeUrl, c => c with { ResponsesRejected = c.ResponsesRejected + 1, LastNackReason = reason });

    public void OnSent(string typeUrl, string version, int resources) =>
        Update(typeUrl, c => c with { ResponsesSent = c.ResponsesSent + 1 });

    private void Update(string typeUrl, Func<XdsCounters, XdsCounters> change)
    {
        var type = ShortType(typeUrl);
        lock (_lock)
        {
            _stat[type] = change(_stat.GetValueOrDefault(type) ?? new XdsCounters());
            _lastUpdate = _registry.Now;
        }
        _registry.MarkDirty(Mesh, Name);
    }

    private static string ShortType(string typeUrl)
    {
        var slash = typeUrl.LastIndexOf('/');
        var full = slash >= 0 ? typeUrl[(slash + 1)..] : typeUrl;
        var dot = full.LastIndexOf('.');
        return dot >= 0 ? full[(dot + 1)..] : full;
    }

    internal XdsSubscription ToSubscription(string controlPlaneInstance)
    {
        lock (_lock)
        {
            var total = _stat.Values.Aggregate(new XdsCounters(), (a, c) => a with
            {
                ResponsesSent = a.ResponsesSent + c.ResponsesSent,
                ResponsesAcknowledged = a.ResponsesAcknowledged + c.ResponsesAcknowledged,
                ResponsesRejected = a.ResponsesRejected + c.ResponsesRejected,
                LastNackReason = c.LastNackReason ?? a.LastNackReason,
            });
            return new XdsSubscription
            {
                Id = Id,
                ControlPlaneInstanceId = controlPlaneInstance,
                ConnectTime = ConnectTime,
                DisconnectTime = DisconnectTime,
                Protocol = Protocol,
                ProxyType = Kind == ProxyKind.Proxyless ? "proxyless" : "envoy",
                ProxyVersion = ProxyVersion,
                ConfigVersion = Current.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Status = new XdsSubscriptionStatus
                {
                    LastUpdateTime = _lastUpdate,
                    Total = total,
                    Stat = new SortedDictionary<string, XdsCounters>(_stat, StringComparer.Ordinal),
                },
            };
        }
    }

    public void Dispose() => _registry.Remove(this);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
