using System.Net;
using System.Text.Json.Serialization;
using Federation.Validation;

namespace Federation.Resources.Types;

/// <summary>A Dataplane: one proxy (or proxyless application) and the services it serves on its inbounds.</summary>
public sealed record DataplaneSpec : IResourceSpec
{
    public required DataplaneNetworking Networking { get; init; }

    /// <summary>The services this proxy serves, from its inbound tags.</summary>
    [JsonIgnore]
    public IEnumerable<string> Services =>
        (Networking.Inbound ?? []).Select(i => i.Tags.GetValueOrDefault(WellKnownLabels.Service)).OfType<string>().Distinct();

    public void Validate(ValidationContext context)
    {
        var n = context.At("networking");
        Addresses.Check(n.At("address"), Networking.Address);
        if (Networking.AdvertisedAddress is { } advertised)
        {
            Addresses.Check(n.At("advertisedAddress"), advertised);
        }
        var inbound = Networking.Inbound ?? [];
        if (inbound.Count == 0 && Networking.Gateway is null)
        {
            n.Error("inbound", "a Dataplane needs at least one inbound (or a gateway)");
        }
        var ports = new HashSet<(string, int)>();
        for (var i = 0; i < inbound.Count; i++)
        {
            var ib = inbound[i];
            var ic = n.At("inbound", i);
            Addresses.CheckPort(ic.At("port"), ib.Port);
            if (ib.ServicePort is { } sp)
            {
                Addresses.CheckPort(ic.At("servicePort"), sp);
            }
            if (ib.ServiceAddress is { } sa)
            {
                Addresses.Check(ic.At("serviceAddress"), sa);
            }
            if (ib.Address is { } a)
            {
                Addresses.Check(ic.At("address"), a);
            }
            if (!ports.Add((ib.Address ?? Networking.Address, ib.Port)))
            {
                ic.Error("port", $"port {ib.Port} is used by another inbound");
            }
            if (!ib.Tags.TryGetValue(WellKnownLabels.Service, out var service) || service.Length == 0)
            {
                ic.At("tags").Error($"tag {WellKnownLabels.Service} is required");
            }
            Tagging.Validate(ic.At("tags"), ib.Tags);
        }
        var outbound = Networking.Outbound ?? [];
        for (var i = 0; i < outbound.Count; i++)
        {
            var oc = n.At("outbound", i);
            Addresses.CheckPort(oc.At("port"), outbound[i].Port);
            if (outbound[i].Address is { } a)
            {
                Addresses.Check(oc.At("address"), a);
            }
            if (outbound[i].Tags is { } tags)
            {
                if (!tags.ContainsKey(WellKnownLabels.Service))
                {
                    oc.At("tags").Error($"tag {WellKnownLabels.Service} is required");
                }
                Tagging.Validate(oc.At("tags"), tags);
            }
        }
        if (Networking.Gateway is { } gw)
        {
            if (!gw.Tags.ContainsKey(WellKnownLabels.Service))
            {
                n.At("gateway").At("tags").Error($"tag {WellKnownLabels.Service} is required");
            }
            Tagging.Validate(n.At("gateway").At("tags"), gw.Tags);
        }
        if (Networking.Admin?.Port is { } adminPort)
        {
            Addresses.CheckPort(n.At("admin").At("port"), adminPort);
        }
        if (Networking.TransparentProxying is { } tp)
        {
            var tc = n.At("transparentProxying");
            if (tp.RedirectPortInbound is null && tp.RedirectPortOutbound is null)
            {
                tc.Error("redirectPortInbound and redirectPortOutbound: set at least one (the ports traffic is redirected to)");
            }
            if (tp.RedirectPortInbound is { } rin)
            {
                Addresses.CheckPort(tc.At("redirectPortInbound"), rin);
            }
            if (tp.RedirectPortOutbound is { } rout)
            {
                Addresses.CheckPort(tc.At("redirectPortOutbound"), rout);
            }
            if (tp.RedirectPortInbound is { } a && a == tp.RedirectPortOutbound)
            {
                tc.Error("redirectPortOutbound", $"port {a} is also redirectPortInbound");
            }
            var reachable = tp.ReachableServices ?? [];
            for (var i = 0; i < reachable.Count; i++)
            {
                if (string.IsNullOrEmpty(reachable[i]))
                {
                    tc.At("reachableServices", i).Error("a service name is required");
                }
            }
        }
    }
}

/// <summary>
/// The proxy's traffic is redirected to it (iptables): outbound connections to <see cref="RedirectPortOutbound"/>,
/// inbound ones to <see cref="RedirectPortInbound"/>. The zone then serves listeners that pick up the original
/// destination: every service's VIP (port 80, as the zone's DNS answers it), and passthrough for the rest.
/// </summary>
public sealed record DataplaneTransparentProxying
{
    public int? RedirectPortInbound { get; init; }

    public int? RedirectPortOutbound { get; init; }

    /// <summary>Only these services get VIP listeners (all services of the mesh when absent).</summary>
    public IReadOnlyList<string>? ReachableServices { get; init; }
}

public sealed record DataplaneNetworking
{
    public required string Address { get; init; }

    public string? AdvertisedAddress { get; init; }

    public IReadOnlyList<DataplaneInbound>? Inbound { get; init; }

    public IReadOnlyList<DataplaneOutbound>? Outbound { get; init; }

    public DataplaneGateway? Gateway { get; init; }

    public AdminEndpoint? Admin { get; init; }

    public DataplaneTransparentProxying? TransparentProxying { get; init; }
}

public enum InboundState
{
    Ready,
    NotReady,
    Ignored,
}

public sealed record DataplaneInbound
{
    public required int Port { get; init; }

    public int? ServicePort { get; init; }

    public string? ServiceAddress { get; init; }

    public string? Address { get; init; }

    public string? Name { get; init; }

    public required IReadOnlyDictionary<string, string> Tags { get; init; }

    public InboundHealth? Health { get; init; }

    public InboundState? State { get; init; }

    /// <summary>Ready unless the proxy or a health check said otherwise.</summary>
    [JsonIgnore]
    public bool IsReady => State is null or InboundState.Ready && Health?.Ready != false;
}

public sealed record InboundHealth
{
    public bool? Ready { get; init; }
}

public sealed record DataplaneOutbound
{
    public required int Port { get; init; }

    public string? Address { get; init; }

    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}

public sealed record DataplaneGateway
{
    public string? Type { get; init; }

    public required IReadOnlyDictionary<string, string> Tags { get; init; }
}

public sealed record AdminEndpoint
{
    public int? Port { get; init; }
}

/// <summary>Address and port rules.</summary>
public static class Addresses
{
    public static void Check(ValidationContext ctx, string address)
    {
        if (address.Length == 0)
        {
            ctx.Error("must not be empty");
        }
        else if (!IPAddress.TryParse(address, out _) && Uri.CheckHostName(address) != UriHostNameType.Dns)
        {
            ctx.Error($"'{address}' is neither an IP address nor a host name");
        }
    }

    public static void CheckPort(ValidationContext ctx, int port)
    {
        if (port is < 1 or > 65535)
        {
            ctx.Error($"must be between 1 and 65535, got {port}");
        }
    }
}
