using System.Collections.Immutable;
using System.Net;

namespace Federation.Dataplane.ZoneProxy.Routing;

/// <summary>One upstream endpoint of a cluster, as EDS described it.</summary>
internal sealed record UpstreamEndpoint(IPEndPoint Address, uint Weight, bool Healthy);

/// <summary>A locality of a cluster's endpoints: its zone (for stats), weight and priority.</summary>
internal sealed record UpstreamLocality(string Zone, string SubZone, uint Weight, uint Priority, ImmutableArray<UpstreamEndpoint> Endpoints)
{
    public uint HealthyEndpointWeight => (uint)Math.Min(uint.MaxValue, Endpoints.Where(e => e.Healthy).Sum(e => (long)e.Weight));
}

/// <summary>
/// Chooses an upstream endpoint for each new connection the way Envoy's round-robin load balancer does with
/// locality weights: the lowest priority that has a healthy endpoint; within it a locality by smooth weighted round
/// robin on the locality weights, then an endpoint of that locality by smooth weighted round robin on the
/// endpoint weights. Unhealthy endpoints (and localities left with none) are skipped. Built once per config, shared
/// by every connection; a pick takes a short lock (connections are opened far less often than bytes move).
/// </summary>
internal sealed class EndpointPicker
{
    private readonly Lock _lock = new();
    private readonly Wheel? _localities;
    private readonly Wheel[] _endpoints;
    private readonly UpstreamLocality[] _active;

    public EndpointPicker(ImmutableArray<UpstreamLocality> localities)
    {
        Localities = localities;
        var priority = localities.Where(l => l.HealthyEndpointWeight > 0).Select(l => (uint?)l.Priority).Min();
        _active = priority is null ? [] : [.. localities.Where(l => l.Priority == priority && l.HealthyEndpointWeight > 0)];
        if (_active.Length > 0)
        {
            // A locality without a weight of its own weighs what its healthy endpoints weigh.
            _localities = new Wheel([.. _active.Select(l => l.Weight > 0 ? l.Weight : l.HealthyEndpointWeight)]);
        }
        _endpoints = [.. _active.Select(l => new Wheel([.. l.Endpoints.Select(e => e.Healthy ? e.Weight : 0u)]))];
        Priority = priority;
    }

    public static EndpointPicker Empty { get; } = new([]);

    public ImmutableArray<UpstreamLocality> Localities { get; }

    /// <summary>The priority connections go to; null when no endpoint is healthy.</summary>
    public uint? Priority { get; }

    public bool HasHealthyEndpoint => _active.Length > 0;

    /// <summary>How many distinct endpoints a connection may try.</summary>
    public int HealthyEndpoints => _active.Sum(l => l.Endpoints.Count(e => e.Healthy && e.Weight > 0));

    /// <summary>The next endpoint and its locality; null when none is healthy.</summary>
    public (UpstreamEndpoint Endpoint, UpstreamLocality Locality)? Pick()
    {
        if (_localities is null)
        {
            return null;
        }
        lock (_lock)
        {
            var l = _localities.Next();
            var e = _endpoints[l].Next();
            return (_active[l].Endpoints[e], _active[l]);
        }
    }

    /// <summary>
    /// Smooth weighted round robin (as in nginx): each pick adds every weight to its current value, takes the
    /// largest and subtracts the total from it. Over each cycle of <c>sum(weights)</c> picks every entry is chosen
    /// exactly its weight, spread out rather than in runs. Entries of weight 0 are never chosen.
    /// </summary>
    private sealed class Wheel(uint[] weights)
    {
        private readonly long[] _current = new long[weights.Length];
        private readonly long _total = weights.Sum(w => (long)w);

        public int Next()
        {
            var best = -1;
            for (var i = 0; i < weights.Length; i++)
            {
                if (weights[i] == 0)
                {
                    continue;
                }
                _current[i] += weights[i];
                if (best < 0 || _current[i] > _current[best])
                {
                    best = i;
                }
            }
            _current[best] -= _total;
            return best;
        }
    }
}
