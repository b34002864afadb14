using System.Collections.Immutable;
using System.Net;
using System.Threading.Channels;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Stores;
using Federation.Zone.Xds.State;

namespace Federation.Zone.Dns;

/// <summary>
/// Gives every (mesh, service) this zone can reach — local or only in other zones — a stable virtual IP from
/// 240.0.0.0/4. Allocations are stored (the <c>VirtualIps</c> resource <c>zone</c>), never collide within the zone,
/// survive restarts, and are freed when the service is gone everywhere.
/// </summary>
public sealed partial class VipAllocator : BackgroundService
{
    public const string ResourceName = "zone";

    private static readonly uint First = Ip(IPAddress.Parse("240.0.0.1"));
    private static readonly uint Last = Ip(IPAddress.Parse("255.255.255.254"));

    private readonly ZoneStateBuilder _state;
    private readonly IResourceStore _store;
    private readonly ILogger<VipAllocator> _logger;
    private readonly Channel<bool> _kick = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private ImmutableDictionary<string, IPAddress> _current = ImmutableDictionary<string, IPAddress>.Empty;

    public VipAllocator(ZoneStateBuilder state, IResourceStore store, ILogger<VipAllocator> logger)
    {
        _state = state;
        _store = store;
        _logger = logger;
        _state.Changed += (_, _) => _kick.Writer.TryWrite(true);
    }

    /// <summary>The current table, <c>&lt;service&gt;.&lt;mesh&gt;</c> → VIP; readers take no lock.</summary>
    public ImmutableDictionary<string, IPAddress> Current => Volatile.Read(ref _current);

    public static string Key(string service, string mesh) => $"{service}.{mesh}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _state.Loaded.WaitAsync(stoppingToken);
            _kick.Writer.TryWrite(true);
            await foreach (var _ in _kick.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await ReconcileAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var key = ResourceKey.Global(ResourceTypes.VirtualIps.Name, ResourceName);
        for (var attempt = 0; ; attempt++)
        {
            var stored = await _store.GetAsync(key, cancellationToken);
            var existing = stored?.GetSpec<VirtualIpsSpec>().Vips ?? new Dictionary<string, string>();
            var wanted = _state.Current.Meshes.Values
                .SelectMany(m => m.Services.Values.Where(s => !s.IsGone).Select(s => Key(s.Name, m.Name)))
                .ToHashSet(StringComparer.Ordinal);
            var table = Allocate(existing, wanted);
            var changed = table.Count != existing.Count || table.Any(kv => !existing.TryGetValue(kv.Key, out var v) || v != kv.Value);
            if (changed)
            {
                var spec = new VirtualIpsSpec { Vips = new SortedDictionary<string, string>(table, StringComparer.Ordinal) };
                try
                {
                    await _store.PutAsync(new Resource(key, ResourceTypes.VirtualIps.SerializeSpec(spec)), stored?.Version ?? 0, cancellationToken);
                }
                catch (ResourceConflictException) when (attempt < 5)
                {
                    continue;
                }
            }
            Volatile.Write(ref _current, table.ToImmutableDictionary(kv => kv.Key, kv => IPAddress.Parse(kv.Value), StringComparer.Ordinal));
            return;
        }
    }

    /// <summary>Keeps every existing address that is still wanted; gives each new service the lowest free one.</summary>
    public static Dictionary<string, string> Allocate(IReadOnlyDictionary<string, string> existing, IReadOnlySet<string> wanted)
    {
        var table = existing.Where(kv => wanted.Contains(kv.Key) && IPAddress.TryParse(kv.Value, out _))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var used = table.Values.Select(v => Ip(IPAddress.Parse(v))).ToHashSet();
        var next = First;
        foreach (var service in wanted.Where(w => !table.ContainsKey(w)).Order(StringComparer.Ordinal))
        {
            while (used.Contains(next) || (next & 0xFF) is 0 or 255)
            {
                next = next < Last ? next + 1 : throw new InvalidOperationException("the 240.0.0.0/4 VIP range is exhausted");
            }
            used.Add(next);
            table[service] = ToAddress(next).ToString();
        }
        return table;
    }

    private static uint Ip(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return ((uint)b[0] << 24) | ((uint)b[1] << 16) | ((uint)b[2] << 8) | b[3];
    }

    private static IPAddress ToAddress(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);

    [LoggerMessage(EventId = 90, EventName = "VipAllocationFailed", Level = LogLevel.Warning, Message = "Could not allocate virtual IPs")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
