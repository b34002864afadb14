using Federation.Resources;
using Federation.Resources.Types;

namespace Federation.Policies;

/// <summary>Who a rule is about: callers carrying all these tags (empty: every caller in the mesh).</summary>
public sealed record CallerSelector(IReadOnlyDictionary<string, string> Tags)
{
    public static readonly CallerSelector Everyone = new(new Dictionary<string, string>());

    /// <summary>Broader selectors first: Mesh (0), then by how many tags they pin.</summary>
    public int Specificity => Tags.Count == 0 ? 0 : Tags.ContainsKey(WellKnownLabels.Service) ? 100 + Tags.Count : Tags.Count;

    public bool Matches(IReadOnlyDictionary<string, string> callerTags) =>
        Tags.All(t => callerTags.TryGetValue(t.Key, out var v) && v == t.Value);

    public override string ToString() => Tags.Count == 0 ? "everyone" : string.Join(",", Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));

    public bool Equals(CallerSelector? other) =>
        other is not null && other.Tags.Count == Tags.Count && Tags.All(t => other.Tags.TryGetValue(t.Key, out var v) && v == t.Value);

    public override int GetHashCode() => Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Aggregate(0, (h, t) => HashCode.Combine(h, t.Key, t.Value));
}

/// <summary>One effective rule for a destination: callers matching <see cref="From"/> get <see cref="Action"/>.</summary>
public sealed record PermissionRule(CallerSelector From, MtpAction Action, string Policy);

/// <summary>
/// The effective MeshTrafficPermission rules of one destination inbound, ordered most specific caller first:
/// the first rule whose selector matches a caller decides. A caller that matches none is denied (when mTLS is on).
/// </summary>
public sealed record PermissionRules(IReadOnlyList<PermissionRule> Rules)
{
    /// <summary>The action for a caller with these tags; null when no rule matches (deny by default under mTLS).</summary>
    public MtpAction? Decide(IReadOnlyDictionary<string, string> callerTags) =>
        Rules.FirstOrDefault(r => r.From.Matches(callerTags))?.Action;
}

/// <summary>
/// Kuma's MeshTrafficPermission semantics: policies whose top-level <c>targetRef</c> selects the destination are
/// ordered by how specific that selection is (Mesh &lt; MeshSubset &lt; MeshService &lt; MeshServiceSubset &lt;
/// Dataplane; at equal specificity a zone-origin policy beats a global one, then names order); their
/// <c>from</c> entries are merged so the more specific policy's setting wins for the same caller selector; the
/// result is ordered by caller specificity so the most specific matching selector decides.
/// </summary>
public static class TrafficPermissions
{
    public static PermissionRules Resolve(IEnumerable<Resource> policies, string dataplaneName, IReadOnlyDictionary<string, string> destinationTags)
    {
        var matching = policies
            .Where(p => p.Type == ResourceTypes.MeshTrafficPermission.Name)
            .Select(p => (Policy: p, Spec: p.GetSpec<MeshTrafficPermissionSpec>()))
            .Select(p => (p.Policy, p.Spec, Rank: TargetRank(p.Spec.TargetRef, dataplaneName, destinationTags)))
            .Where(p => p.Rank >= 0)
            .OrderBy(p => p.Rank)
            .ThenBy(p => p.Policy.GetLabel(WellKnownLabels.Origin) == WellKnownLabels.OriginZone ? 1 : 0)
            .ThenByDescending(p => p.Policy.Name, StringComparer.Ordinal)
            .ToList();

        // Later (more specific) policies override earlier ones for the same caller selector.
        var merged = new Dictionary<CallerSelector, PermissionRule>();
        foreach (var (policy, spec, _) in matching)
        {
            foreach (var from in spec.From)
            {
                if (ToSelector(from.TargetRef) is { } selector)
                {
                    merged[selector] = new PermissionRule(selector, from.Default.Action, policy.Name);
                }
            }
        }
        return new PermissionRules([.. merged.Values.OrderByDescending(r => r.From.Specificity).ThenBy(r => r.From.ToString(), StringComparer.Ordinal)]);
    }

    /// <summary>How specifically a top-level targetRef selects the destination; -1 when it does not select it.</summary>
    public static int TargetRank(TargetRef? target, string dataplaneName, IReadOnlyDictionary<string, string> tags)
    {
        if (target is null)
        {
            return 0;
        }
        var service = tags.GetValueOrDefault(WellKnownLabels.Service);
        return target.Kind switch
        {
            TargetRefKind.Mesh => 0,
            TargetRefKind.MeshSubset => SubsetMatches(target.Tags, tags) ? 1 : -1,
            TargetRefKind.MeshService => target.Name == service ? 2 : -1,
            TargetRefKind.MeshServiceSubset => target.Name == service && SubsetMatches(target.Tags, tags) ? 3 : -1,
            TargetRefKind.Dataplane => target.Name == dataplaneName ? 4 : -1,
            _ => -1,
        };
    }

    private static bool SubsetMatches(IReadOnlyDictionary<string, string>? wanted, IReadOnlyDictionary<string, string> tags) =>
        (wanted ?? new Dictionary<string, string>()).All(t => tags.TryGetValue(t.Key, out var v) && v == t.Value);

    /// <summary>A <c>from</c> targetRef as the tags a caller must carry.</summary>
    public static CallerSelector? ToSelector(TargetRef from)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        switch (from.Kind)
        {
            case TargetRefKind.Mesh:
                break;
            case TargetRefKind.MeshSubset:
                foreach (var (k, v) in from.Tags ?? new Dictionary<string, string>())
                {
                    tags[k] = v;
                }
                break;
            case TargetRefKind.MeshService:
                tags[WellKnownLabels.Service] = from.Name!;
                break;
            case TargetRefKind.MeshServiceSubset:
                foreach (var (k, v) in from.Tags ?? new Dictionary<string, string>())
                {
                    tags[k] = v;
                }
                tags[WellKnownLabels.Service] = from.Name!;
                break;
            default:
                return null;
        }
        return new CallerSelector(tags);
    }
}
