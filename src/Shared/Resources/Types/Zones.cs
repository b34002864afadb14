using Federation.Validation;

namespace Federation.Resources.Types;

/// <summary>A zone's ingress proxy: where other zones send traffic for the services it advertises.</summary>
public sealed record ZoneIngressSpec : IResourceSpec
{
    public string? Zone { get; init; }

    public required ZoneProxyNetworking Networking { get; init; }

    public IReadOnlyList<AvailableService>? AvailableServices { get; init; }

    public void Validate(ValidationContext context)
    {
        var n = context.At("networking");
        Networking.Validate(n);
        if (Networking.AdvertisedAddress is { } aa)
        {
            Addresses.Check(n.At("advertisedAddress"), aa);
            if (Networking.AdvertisedPort is null)
            {
                n.Error("advertisedPort", "is required when advertisedAddress is set");
            }
        }
        if (Networking.AdvertisedPort is { } ap)
        {
            Addresses.CheckPort(n.At("advertisedPort"), ap);
        }
        if (Zone is not null && Names.CheckDnsLabelName(Zone) is { } zoneProblem)
        {
            context.Error("zone", zoneProblem);
        }
        var services = AvailableServices ?? [];
        for (var i = 0; i < services.Count; i++)
        {
            var s = services[i];
            var sc = context.At("availableServices", i);
            if (Names.CheckDnsLabelName(s.Mesh) is { } meshProblem)
            {
                sc.Error("mesh", meshProblem);
            }
            if (s.Instances < 0)
            {
                sc.Error("instances", "must not be negative");
            }
            if (!s.Tags.ContainsKey(WellKnownLabels.Service))
            {
                sc.At("tags").Error($"tag {WellKnownLabels.Service} is required");
            }
            Tagging.Validate(sc.At("tags"), s.Tags);
        }
    }
}

/// <summary>Where a zone ingress or egress listens, and (ingress) where other zones reach it.</summary>
public sealed record ZoneProxyNetworking
{
    public required string Address { get; init; }

    public required int Port { get; init; }

    public string? AdvertisedAddress { get; init; }

    public int? AdvertisedPort { get; init; }

    public AdminEndpoint? Admin { get; init; }

    public void Validate(ValidationContext n)
    {
        Addresses.Check(n.At("address"), Address);
        Addresses.CheckPort(n.At("port"), Port);
        if (Admin?.Port is { } adminPort)
        {
            Addresses.CheckPort(n.At("admin").At("port"), adminPort);
        }
    }
}

/// <summary>One service (per mesh and tag set) reachable through an ingress, with how many healthy instances serve it.</summary>
public sealed record AvailableService
{
    public required IReadOnlyDictionary<string, string> Tags { get; init; }

    public int Instances { get; init; }

    public required string Mesh { get; init; }

    public bool? ExternalService { get; init; }
}

/// <summary>A zone's egress proxy: the way out of a zone when the mesh routes through egress.</summary>
public sealed record ZoneEgressSpec : IResourceSpec
{
    public string? Zone { get; init; }

    public required ZoneProxyNetworking Networking { get; init; }

    public void Validate(ValidationContext context)
    {
        Networking.Validate(context.At("networking"));
        if (Zone is not null && Names.CheckDnsLabelName(Zone) is { } zoneProblem)
        {
            context.Error("zone", zoneProblem);
        }
    }
}

/// <summary>A zone known to the global. Created when the zone first connects, or ahead of time by an admin.</summary>
public sealed record ZoneSpec : IResourceSpec
{
    /// <summary>A disabled zone keeps its connection but its ingresses are not relayed to other zones.</summary>
    public bool? Enabled { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEnabled => Enabled != false;

    public void Validate(ValidationContext context)
    {
    }
}

/// <summary>What the global knows of a zone's KDS streams (written by the global only).</summary>
public sealed record ZoneInsightSpec
{
    public IReadOnlyList<KdsSubscription>? Subscriptions { get; init; }
}

/// <summary>One KDS connection of a zone: when, from which version, and what flowed over it.</summary>
public sealed record KdsSubscription
{
    public required string Id { get; init; }

    public string? GlobalInstanceId { get; init; }

    public DateTimeOffset ConnectTime { get; init; }

    public DateTimeOffset? DisconnectTime { get; init; }

    public DateTimeOffset? LastHealthCheck { get; init; }

    public string? ZoneVersion { get; init; }

    public string? TokenId { get; init; }

    public KdsSubscriptionStatus? Status { get; init; }
}

public sealed record KdsSubscriptionStatus
{
    public DateTimeOffset? LastUpdateTime { get; init; }

    public KdsCounters? Total { get; init; }

    public IReadOnlyDictionary<string, KdsCounters>? Stat { get; init; }
}

/// <summary>Counters of one KDS type (or the total) over one subscription, in both directions.</summary>
public sealed record KdsCounters
{
    /// <summary>Responses the global sent down.</summary>
    public long ResponsesSent { get; init; }

    public long ResponsesAcknowledged { get; init; }

    /// <summary>Responses the zone NACKed.</summary>
    public long ResponsesRejected { get; init; }

    public string? LastNackReason { get; init; }

    /// <summary>Responses the zone sent up.</summary>
    public long ResponsesReceived { get; init; }

    /// <summary>Responses from the zone the global NACKed (e.g. a name conflict).</summary>
    public long ResponsesRefused { get; init; }

    public string? LastRefusalReason { get; init; }
}

/// <summary>Whether a zone is connected and healthy right now, derived from its insight.</summary>
public static class ZoneStatus
{
    public const string Online = "Online";
    public const string Offline = "Offline";

    public static string Compute(ZoneInsightSpec? insight, DateTimeOffset now, TimeSpan timeout)
    {
        var last = insight?.Subscriptions is { Count: > 0 } subs ? subs[^1] : null;
        if (last is null || last.DisconnectTime is not null)
        {
            return Offline;
        }
        var seen = last.LastHealthCheck ?? last.ConnectTime;
        return now - seen <= timeout ? Online : Offline;
    }
}
