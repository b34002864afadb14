using System.Collections.Immutable;
using System.Net;
using Envoy.Config.Core.V3;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.ZoneProxy.Proxy;
using Federation.Dataplane.ZoneProxy.Routing;
using Federation.Kds.Xds;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.ZoneProxy;

/// <summary>What a zone ingress/egress needs beyond the zone client.</summary>
internal sealed record ZoneProxySettings
{
    public required ZoneProxyManifest Proxy { get; init; }

    /// <summary>The zone token (scope ingress/egress), sent on the xDS stream (read once at start).</summary>
    public required string Token { get; init; }

    /// <summary><c>--xds-address</c>; null: the address the zone reports.</summary>
    public string? XdsAddress { get; init; }

    /// <summary>How often the agent makes sure the zone still has its ZoneIngress/ZoneEgress.</summary>
    public TimeSpan RegistrationInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long start-up keeps retrying a zone that is unreachable or not ready.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long established connections may take to end after a stop before they are reset.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public ZoneProxyOptions Data { get; init; } = new();

    /// <summary>First xDS reconnect delay (doubles up to 30 s).</summary>
    public TimeSpan XdsMinBackoff { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// Runs a zone ingress or egress: registers its ZoneIngress/ZoneEgress with the zone (and again whenever the zone
/// lost it), takes its config from the zone's xDS server like Envoy would (LDS/CDS/EDS over ADS, every response
/// validated, anything fed-dp cannot honour NACKed with the reason), and proxies TLS connections by SNI with
/// <see cref="ZoneProxyServer"/>. On stop it stops accepting, unregisters, and lets established connections drain.
/// </summary>
internal sealed partial class ZoneProxyAgent(
    ZoneProxySettings settings,
    IZoneProxyApi zone,
    ZoneProxyServer server,
    ZoneProxyXdsState xdsState,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger<ZoneProxyAgent>();

    private ZoneProxyManifest Proxy => settings.Proxy;

    /// <summary>Runs until <paramref name="stop"/>; returns fed-dp's exit code.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        var xds = await StartupAsync(zone.GetXdsServerAsync, stop);
        var serverUri = settings.XdsAddress ?? Proxyless.ProxylessAgent.Dialable(xds.Address, zone.Address);
        await StartupAsync(EnsureRegisteredAsync, stop);
        LogRegistered(_logger, Proxy.Id, zone.Address, xds.Zone);
        try
        {
            using var channel = XdsClient.CreateChannel(new Uri($"http://{serverUri}"));
            await using var client = new XdsClient(channel, new XdsClientOptions
            {
                Node = Node(),
                Headers = new Grpc.Core.Metadata { { "authorization", $"Bearer {settings.Token}" } },
                Validator = Validate,
                TimeProvider = time,
                MinBackoff = settings.XdsMinBackoff,
            }, loggers.CreateLogger<XdsClient>());
            client.Updated += OnUpdated;
            foreach (var type in RoutingConfig.Types)
            {
                await client.SubscribeAsync(type, null, stop);
            }
            xdsState.Client = client;
            client.Start();
            LogXdsConnecting(_logger, serverUri, Proxy.Id);
            using var watching = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var watch = WatchAsync(client, watching.Token);
            try
            {
                await SuperviseAsync(stop);
            }
            finally
            {
                server.StopAccepting();
                await UnregisterAsync();
                await server.DrainAsync(settings.DrainTimeout);
                await watching.CancelAsync();
                await watch;
            }
        }
        finally
        {
            xdsState.Client = null;
        }
        LogStopped(_logger, Proxy.Id);
        return 0;
    }

    private Node Node()
    {
        var metadata = new Struct();
        metadata.Fields["federation.io/proxy-type"] = Value.ForString(Proxy.ProxyType);
        return new Node
        {
            Id = Proxy.Name,
            UserAgentName = "fed-dp",
            UserAgentVersion = ZoneApiClient.Version,
            Metadata = metadata,
        };
    }

    /// <summary>Structure first; a Listener is accepted only once its address could be bound.</summary>
    private string? Validate(string typeUrl, IReadOnlyList<XdsClientResource> resources)
    {
        var error = RoutingConfig.Validate(typeUrl, resources);
        if (error is null && typeUrl == RoutingConfig.ListenerType)
        {
            var table = RoutingConfig.Build(new XdsClientSnapshot(0, XdsClientSnapshot.Empty.Types.SetItem(typeUrl,
                new XdsTypeState(typeUrl, "", resources.ToImmutableDictionary(r => r.Name, StringComparer.Ordinal), null))));
            if (table.Listener is { } listener)
            {
                error = server.Prepare(listener.Address);
            }
        }
        return error;
    }

    private void OnUpdated(XdsClient client, XdsUpdate update)
    {
        if (update.Accepted)
        {
            xdsState.Acked(update);
        }
        else
        {
            xdsState.Nacked(update);
            LogNacked(_logger, RoutingConfig.ShortName(update.TypeUrl), update.Version, update.Error ?? "");
        }
    }

    /// <summary>Each new snapshot becomes a routing table, swapped in whole.</summary>
    private async Task WatchAsync(XdsClient client, CancellationToken cancellationToken)
    {
        IPEndPoint? lastListener = null;
        var lastVersion = "";
        try
        {
            await foreach (var snapshot in client.WatchAsync(cancellationToken))
            {
                var table = RoutingConfig.Build(snapshot);
                server.Apply(table);
                if (table.Version != lastVersion)
                {
                    lastVersion = table.Version;
                    var healthy = table.Clusters.Values.Count(c => c.Endpoints.HasHealthyEndpoint);
                    LogConfig(_logger, table.Version, table.Listener?.Chains.Length ?? 0, table.Clusters.Count, healthy);
                }
                var address = table.Listener?.Address;
                if (address is not null && !address.Equals(lastListener))
                {
                    lastListener = address;
                    var flags = new IPEndPoint(IPAddress.Parse(Proxy.Address), Proxy.Port);
                    if (!address.Equals(flags))
                    {
                        LogListenerElsewhere(_logger, address, flags);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task SuperviseAsync(CancellationToken stop)
    {
        var reachability = new ZoneReachability();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(settings.RegistrationInterval, time, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            await reachability.CheckAsync(EnsureRegisteredAsync,
                reregistered: () => LogReregistered(_logger, Proxy.Id, zone.Address),
                back: () => LogZoneBack(_logger, zone.Address),
                failed: reason => LogRegistrationCheckFailed(_logger, reason),
                stop);
        }
        LogStopRequested(_logger);
    }

    /// <summary>
    /// Registers unless the zone already holds this proxy with this networking; true when it wrote. A PUT would
    /// drop what the zone filled in (an ingress's availableServices), so an unchanged registration is not rewritten.
    /// </summary>
    private async Task<bool> EnsureRegisteredAsync(CancellationToken cancellationToken)
    {
        var stored = await zone.GetZoneProxyAsync(Proxy, cancellationToken);
        if (stored is not null && Proxy.IsRegisteredAs(stored))
        {
            return false;
        }
        await zone.RegisterZoneProxyAsync(Proxy, cancellationToken);
        return true;
    }

    private async Task UnregisterAsync()
    {
        if (await ZoneCalls.UnregisterAsync(ct => zone.UnregisterZoneProxyAsync(Proxy, ct), Proxy.Id, zone.Address, time) is { } failure)
        {
            LogUnregisterFailed(_logger, failure);
        }
        else
        {
            LogUnregistered(_logger, Proxy.Id, zone.Address);
        }
    }

    private Task<T> StartupAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken stop) =>
        ZoneCalls.RetryStartupAsync(call, time, settings.StartupTimeout, (reason, delay) => LogStartupRetry(_logger, reason, delay.TotalSeconds), stop);

    [LoggerMessage(EventId = 50, EventName = "ZoneProxyRegistered", Level = LogLevel.Information, Message = "registered {Proxy} on {ControlPlane} (zone {Zone})")]
    private static partial void LogRegistered(ILogger logger, string proxy, string controlPlane, string zone);

    [LoggerMessage(EventId = 51, EventName = "XdsConnecting", Level = LogLevel.Information, Message = "taking config from the xDS server {Server} as node {Node}")]
    private static partial void LogXdsConnecting(ILogger logger, string server, string node);

    [LoggerMessage(EventId = 52, EventName = "ConfigApplied", Level = LogLevel.Information, Message = "config {Version}: {Chains} filter chains, {Clusters} clusters ({Healthy} with a healthy endpoint)")]
    private static partial void LogConfig(ILogger logger, string version, int chains, int clusters, int healthy);

    [LoggerMessage(EventId = 53, EventName = "ConfigNacked", Level = LogLevel.Warning, Message = "rejected (NACK) {Type} version {Version}: {Reason}; keeping the previous config")]
    private static partial void LogNacked(ILogger logger, string type, string version, string reason);

    [LoggerMessage(EventId = 54, EventName = "ListenerElsewhere", Level = LogLevel.Warning, Message = "the zone's Listener is on {Listener}, not on --address/--port {Flags}; listening where the Listener says")]
    private static partial void LogListenerElsewhere(ILogger logger, IPEndPoint listener, IPEndPoint flags);

    [LoggerMessage(EventId = 55, EventName = "ZoneProxyReregistered", Level = LogLevel.Warning, Message = "the zone had lost {Proxy} (or holds other networking for it); registered it again on {ControlPlane}")]
    private static partial void LogReregistered(ILogger logger, string proxy, string controlPlane);

    [LoggerMessage(EventId = 56, EventName = "ZoneProxyRegistrationCheckFailed", Level = LogLevel.Warning, Message = "{Reason}; the proxy keeps its last config, checking again later")]
    private static partial void LogRegistrationCheckFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 57, EventName = "ZoneProxyZoneBack", Level = LogLevel.Information, Message = "the zone at {ControlPlane} answers again")]
    private static partial void LogZoneBack(ILogger logger, string controlPlane);

    [LoggerMessage(EventId = 58, EventName = "ZoneProxyStopRequested", Level = LogLevel.Information, Message = "stopping: no new connections; unregistering, then draining the established ones")]
    private static partial void LogStopRequested(ILogger logger);

    [LoggerMessage(EventId = 59, EventName = "ZoneProxyUnregistered", Level = LogLevel.Information, Message = "unregistered {Proxy} from {ControlPlane}")]
    private static partial void LogUnregistered(ILogger logger, string proxy, string controlPlane);

    [LoggerMessage(EventId = 60, EventName = "ZoneProxyUnregisterFailed", Level = LogLevel.Warning, Message = "{Reason}")]
    private static partial void LogUnregisterFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 61, EventName = "ZoneProxyStartupRetry", Level = LogLevel.Information, Message = "{Reason}; retrying in {DelaySeconds}s")]
    private static partial void LogStartupRetry(ILogger logger, string reason, double delaySeconds);

    [LoggerMessage(EventId = 62, EventName = "ZoneProxyStopped", Level = LogLevel.Information, Message = "{Proxy} stopped")]
    private static partial void LogStopped(ILogger logger, string proxy);
}
