using Federation.Policies;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Serialization;

namespace Federation.Tests.Policies;

public sealed class TrafficPermissionsTests
{
    private static readonly Dictionary<string, string> Backend = new()
    {
        [WellKnownLabels.Service] = "backend",
        ["version"] = "v1",
        [WellKnownLabels.Zone] = "zone-2",
    };

    private static Dictionary<string, string> Caller(string service, string zone = "zone-1", string version = "v1") => new()
    {
        [WellKnownLabels.Service] = service,
        [WellKnownLabels.Zone] = zone,
        ["version"] = version,
    };

    private static Resource Mtp(string name, string yamlSpec, string? origin = null)
    {
        var doc = YamlJson.ParseDocuments($"type: MeshTrafficPermission\nmesh: default\nname: {name}\nspec:\n{Indent(yamlSpec)}").Single();
        var resource = ResourceDocument.Parse(doc).Resource;
        return origin is null ? resource : resource.WithLabel(WellKnownLabels.Origin, origin);
    }

    private static string Indent(string text) => string.Join('\n', text.Split('\n').Select(l => "  " + l));

    [Fact]
    public void Resolve_NoPolicy_DecidesNothing()
    {
        var rules = TrafficPermissions.Resolve([], "backend-1", Backend);
        Assert.Null(rules.Decide(Caller("web")));
    }

    [Fact]
    public void Resolve_AllowFromService_AllowsOnlyThatService()
    {
        var rules = TrafficPermissions.Resolve([Mtp("allow-web", """
            targetRef: {kind: MeshService, name: backend}
            from: [{targetRef: {kind: MeshService, name: web}, default: {action: Allow}}]
            """)], "backend-1", Backend);
        Assert.Equal(MtpAction.Allow, rules.Decide(Caller("web")));
        Assert.Null(rules.Decide(Caller("other")));
    }

    [Fact]
    public void Resolve_PolicyForAnotherService_DoesNotApply()
    {
        var rules = TrafficPermissions.Resolve([Mtp("allow-web", """
            targetRef: {kind: MeshService, name: payments}
            from: [{targetRef: {kind: Mesh}, default: {action: Allow}}]
            """)], "backend-1", Backend);
        Assert.Empty(rules.Rules);
    }

    [Fact]
    public void Resolve_MoreSpecificCallerSelector_WinsOverMeshWide()
    {
        var rules = TrafficPermissions.Resolve([Mtp("p", """
            targetRef: {kind: MeshService, name: backend}
            from:
              - {targetRef: {kind: Mesh}, default: {action: Allow}}
              - {targetRef: {kind: MeshService, name: evil}, default: {action: Deny}}
            """)], "backend-1", Backend);
        Assert.Equal(MtpAction.Allow, rules.Decide(Caller("web")));
        Assert.Equal(MtpAction.Deny, rules.Decide(Caller("evil")));
    }

    [Fact]
    public void Resolve_MoreSpecificTargetRef_OverridesSameCaller()
    {
        var rules = TrafficPermissions.Resolve([
            Mtp("mesh-wide", """
                targetRef: {kind: Mesh}
                from: [{targetRef: {kind: MeshService, name: web}, default: {action: Allow}}]
                """),
            Mtp("backend-only", """
                targetRef: {kind: MeshService, name: backend}
                from: [{targetRef: {kind: MeshService, name: web}, default: {action: Deny}}]
                """),
        ], "backend-1", Backend);
        Assert.Equal(MtpAction.Deny, rules.Decide(Caller("web")));
        Assert.Equal("backend-only", rules.Rules.Single().Policy);
    }

    [Fact]
    public void Resolve_DataplaneTarget_IsMostSpecific()
    {
        var rules = TrafficPermissions.Resolve([
            Mtp("a", """
                targetRef: {kind: MeshServiceSubset, name: backend, tags: {version: v1}}
                from: [{targetRef: {kind: Mesh}, default: {action: Deny}}]
                """),
            Mtp("b", """
                targetRef: {kind: Dataplane, name: backend-1}
                from: [{targetRef: {kind: Mesh}, default: {action: Allow}}]
                """),
        ], "backend-1", Backend);
        Assert.Equal(MtpAction.Allow, rules.Decide(Caller("web")));
        var other = TrafficPermissions.Resolve([
            Mtp("b", """
                targetRef: {kind: Dataplane, name: backend-1}
                from: [{targetRef: {kind: Mesh}, default: {action: Allow}}]
                """),
        ], "backend-2", Backend);
        Assert.Empty(other.Rules);
    }

    [Fact]
    public void Resolve_EqualSpecificity_ZoneOriginBeatsGlobal()
    {
        var rules = TrafficPermissions.Resolve([
            Mtp("from-zone", """
                targetRef: {kind: MeshService, name: backend}
                from: [{targetRef: {kind: Mesh}, default: {action: Deny}}]
                """, WellKnownLabels.OriginZone),
            Mtp("from-global", """
                targetRef: {kind: MeshService, name: backend}
                from: [{targetRef: {kind: Mesh}, default: {action: Allow}}]
                """, WellKnownLabels.OriginGlobal),
        ], "backend-1", Backend);
        Assert.Equal(MtpAction.Deny, rules.Decide(Caller("web")));
    }

    [Fact]
    public void Resolve_SubsetByZoneTag_MatchesOnlyThatZone()
    {
        var rules = TrafficPermissions.Resolve([Mtp("zone-1-only", """
            targetRef: {kind: MeshService, name: backend}
            from: [{targetRef: {kind: MeshSubset, tags: {kuma.io/zone: zone-1}}, default: {action: Allow}}]
            """)], "backend-1", Backend);
        Assert.Equal(MtpAction.Allow, rules.Decide(Caller("web", zone: "zone-1")));
        Assert.Null(rules.Decide(Caller("web", zone: "zone-3")));
    }

    [Fact]
    public void Resolve_AllowWithShadowDeny_IsAnAllow()
    {
        var rules = TrafficPermissions.Resolve([Mtp("shadow", """
            targetRef: {kind: MeshService, name: backend}
            from: [{targetRef: {kind: MeshService, name: web}, default: {action: AllowWithShadowDeny}}]
            """)], "backend-1", Backend);
        Assert.Equal(MtpAction.AllowWithShadowDeny, rules.Decide(Caller("web")));
    }

    [Fact]
    public void Resolve_MeshServiceSubsetCaller_NeedsServiceAndTags()
    {
        var rules = TrafficPermissions.Resolve([Mtp("v2-web", """
            targetRef: {kind: MeshService, name: backend}
            from: [{targetRef: {kind: MeshServiceSubset, name: web, tags: {version: v2}}, default: {action: Allow}}]
            """)], "backend-1", Backend);
        Assert.Equal(MtpAction.Allow, rules.Decide(Caller("web", version: "v2")));
        Assert.Null(rules.Decide(Caller("web", version: "v1")));
        Assert.Null(rules.Decide(Caller("other", version: "v2")));
    }
}
