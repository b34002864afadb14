using Envoy.Config.Rbac.V3;
using Federation.Policies;
using Federation.Resources.Types;
using Federation.Security.Pki;
using RbacPolicy = Envoy.Config.Rbac.V3.Policy;

namespace Federation.Zone.Xds.Generators;

/// <summary>
/// Turns the effective MeshTrafficPermission rules of an inbound into Envoy RBAC. Rules are ordered most specific
/// caller first and the first match decides; RBAC has one action, so each allowing rule becomes an ALLOW policy
/// "matches this selector and none of the more specific denying selectors". Callers matching no ALLOW policy are
/// denied (deny by default under mTLS). AllowWithShadowDeny allows and adds the selector to the shadow (DENY)
/// rules, so the proxy reports what a Deny would have refused.
/// </summary>
internal static class RbacBuilder
{
    public static (RBAC Rules, RBAC? Shadow) Build(string mesh, PermissionRules rules)
    {
        var allow = new RBAC { Action = RBAC.Types.Action.Allow };
        var shadow = new RBAC { Action = RBAC.Types.Action.Deny };
        var denyBefore = new List<Principal>();
        for (var i = 0; i < rules.Rules.Count; i++)
        {
            var rule = rules.Rules[i];
            var principal = Principal(mesh, rule.From);
            if (rule.Action == MtpAction.Deny)
            {
                denyBefore.Add(principal);
                continue;
            }
            var effective = denyBefore.Count == 0
                ? principal
                : new Principal { AndIds = new Principal.Types.Set { Ids = { principal, new Principal { NotId = Or(denyBefore) } } } };
            var policy = new RbacPolicy { Permissions = { new Permission { Any = true } }, Principals = { effective } };
            allow.Policies[$"{i:D3}-{rule.Policy}"] = policy;
            if (rule.Action == MtpAction.AllowWithShadowDeny)
            {
                shadow.Policies[$"{i:D3}-{rule.Policy}"] = new RbacPolicy { Permissions = { new Permission { Any = true } }, Principals = { effective.Clone() } };
            }
        }
        return (allow, shadow.Policies.Count > 0 ? shadow : null);
    }

    private static Principal Or(List<Principal> principals) =>
        principals.Count == 1 ? principals[0].Clone() : new Principal { OrIds = new Principal.Types.Set { Ids = { principals.Select(p => p.Clone()) } } };

    /// <summary>A caller selector as principals over the caller's certificate URI SANs.</summary>
    public static Principal Principal(string mesh, CallerSelector selector)
    {
        if (selector.Tags.Count == 0)
        {
            // Every workload of the mesh: its certificate carries spiffe://<mesh>/<service>.
            return Authenticated(new Envoy.Type.Matcher.V3.StringMatcher { Prefix = $"spiffe://{mesh}/" });
        }
        var parts = selector.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key == Resources.WellKnownLabels.Service
            ? Authenticated(XdsBuild.Exact(WorkloadCertificates.SpiffeId(mesh, t.Value)))
            : Authenticated(XdsBuild.Exact(WorkloadCertificates.TagUri(t.Key, t.Value)))).ToList();
        return parts.Count == 1 ? parts[0] : new Principal { AndIds = new Principal.Types.Set { Ids = { parts } } };
    }

    private static Principal Authenticated(Envoy.Type.Matcher.V3.StringMatcher matcher) =>
        new() { Authenticated = new Principal.Types.Authenticated { PrincipalName = matcher } };
}
