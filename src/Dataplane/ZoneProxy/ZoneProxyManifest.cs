using System.Text.Json.Nodes;

namespace Federation.Dataplane.ZoneProxy;

/// <summary>Which zone proxy fed-dp runs.</summary>
internal enum ZoneProxyKind
{
    Ingress,
    Egress,
}

/// <summary>
/// The ZoneIngress or ZoneEgress a zone proxy registers for itself. Only what the proxy owns is sent: the zone
/// computes an ingress's <c>availableServices</c> and its <c>zone</c> itself.
/// </summary>
internal sealed record ZoneProxyManifest(ZoneProxyKind Kind, string Name, string Address, int Port, string? AdvertisedAddress = null, int? AdvertisedPort = null)
{
    /// <summary>The resource type: <c>ZoneIngress</c> or <c>ZoneEgress</c>.</summary>
    public string Type => Kind == ZoneProxyKind.Ingress ? "ZoneIngress" : "ZoneEgress";

    /// <summary>The path on the zone API, e.g. <c>zoneingresses/ingress-1</c>.</summary>
    public string Path => $"{(Kind == ZoneProxyKind.Ingress ? "zoneingresses" : "zoneegresses")}/{Uri.EscapeDataString(Name)}";

    /// <summary>For messages: <c>ZoneIngress ingress-1</c>.</summary>
    public string Id => $"{Type} {Name}";

    /// <summary><c>node.metadata["federation.io/proxy-type"]</c> on the xDS stream.</summary>
    public string ProxyType => Kind == ZoneProxyKind.Ingress ? "ingress" : "egress";

    public JsonObject Document
    {
        get
        {
            var networking = new JsonObject { ["address"] = Address, ["port"] = Port };
            if (Kind == ZoneProxyKind.Ingress)
            {
                networking["advertisedAddress"] = AdvertisedAddress ?? Address;
                networking["advertisedPort"] = AdvertisedPort ?? Port;
            }
            return new JsonObject { ["type"] = Type, ["name"] = Name, ["networking"] = networking };
        }
    }

    /// <summary>Whether what the zone holds has our networking (anything else in it is the zone's own business).</summary>
    public bool IsRegisteredAs(JsonObject stored)
    {
        if (stored["networking"] is not JsonObject networking)
        {
            return false;
        }
        var wanted = (JsonObject)Document["networking"]!;
        return wanted.All(field => JsonNode.DeepEquals(field.Value, networking[field.Key]));
    }
}
