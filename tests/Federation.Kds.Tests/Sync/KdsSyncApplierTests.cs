using Federation.Kds.Conversion;
using Federation.Kds.Sync;
using Federation.Resources;
using Federation.Stores;
using static Federation.Kds.Tests.Fakes.TestResources;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace Federation.Kds.Tests.Sync;

public sealed class KdsSyncApplierTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly ResourceTypeDescriptor Mtp = ResourceTypes.MeshTrafficPermission;
    private static readonly ResourceTypeDescriptor Dp = ResourceTypes.Dataplane;

    private readonly MemoryStore _store = new();

    private static DeltaResource[] Wire(params Resource[] resources) => [.. resources.Select(KdsConversion.ToWire)];

    private async Task SeedAsync(params Resource[] resources) => await _store.CommitAsync([.. resources.Select(r => new PutResource(r))], Ct);

    private async Task<string[]> NamesAsync(ResourceTypeDescriptor type) =>
        [.. (await _store.ListAllAsync(type.Name, cancellationToken: Ct)).Select(r => r.Name)];

    private async Task<Resource> GetAsync(ResourceTypeDescriptor type, string name, string mesh = "default") =>
        await _store.GetAsync(new ResourceKey(type.Name, mesh, name), Ct) ?? throw new Xunit.Sdk.XunitException($"{type.Name} {name} is not in the store");

    // On a zone: what the global sends.

    [Fact]
    public async Task Apply_FromGlobal_StoresWithGlobalOriginAndKeepsTheName()
    {
        var applier = new KdsSyncApplier(_store, new FromGlobalScope());

        var rejected = await applier.ApplyAsync(Mtp, fullState: false, Wire(Policy("a")), [], Ct);

        Assert.Empty(rejected);
        var stored = await GetAsync(Mtp, "a");
        Assert.Equal(WellKnownLabels.OriginGlobal, stored.GetLabel(WellKnownLabels.Origin));
        Assert.Equal(Policy("a").Spec, stored.Spec);
    }

    [Fact]
    public async Task Apply_FromGlobalFullState_DeletesOnlyGlobalOriginResourcesItLacks()
    {
        await SeedAsync(Policy("kept", labels: FromGlobal), Policy("gone", labels: FromGlobal), Policy("local"));
        var applier = new KdsSyncApplier(_store, new FromGlobalScope());

        var rejected = await applier.ApplyAsync(Mtp, fullState: true, Wire(Policy("kept"), Policy("new")), [], Ct);

        Assert.Empty(rejected);
        Assert.Equal(["kept", "local", "new"], await NamesAsync(Mtp));
    }

    [Fact]
    public async Task Apply_FromGlobalRemovalOfLocalResource_LeavesItAlone()
    {
        await SeedAsync(Policy("local"), Policy("synced", labels: FromGlobal));
        var applier = new KdsSyncApplier(_store, new FromGlobalScope());

        var rejected = await applier.ApplyAsync(Mtp, fullState: false, [], ["local.default", "synced.default", "never-existed.default"], Ct);

        Assert.Empty(rejected);
        Assert.Equal(["local"], await NamesAsync(Mtp));
    }

    [Fact]
    public async Task Apply_FromGlobalNameTakenByLocalResource_RejectedWithReasonAndTheRestApplied()
    {
        await SeedAsync(Policy("x", fromService: "local-web"));
        var applier = new KdsSyncApplier(_store, new FromGlobalScope());

        var rejected = await applier.ApplyAsync(Mtp, fullState: true, Wire(Policy("x"), Policy("y")), [], Ct);

        var reason = Assert.Single(rejected);
        Assert.Equal("MeshTrafficPermission 'x.default': conflicts with a resource created locally of the same name; rename one of them", reason);
        var x = await GetAsync(Mtp, "x");
        Assert.Null(x.GetLabel(WellKnownLabels.Origin));
        Assert.Contains("local-web", x.Spec, StringComparison.Ordinal);
        Assert.Equal(WellKnownLabels.OriginGlobal, (await GetAsync(Mtp, "y")).GetLabel(WellKnownLabels.Origin));
    }

    [Fact]
    public async Task Apply_InvalidResource_RejectedWithValidationReasonAndTheRestApplied()
    {
        var applier = new KdsSyncApplier(_store, new FromGlobalScope());

        var rejected = await applier.ApplyAsync(Mtp, fullState: false, Wire(Policy("bad", action: "Alow"), Policy("good")), [], Ct);

        var reason = Assert.Single(rejected);
        Assert.StartsWith("MeshTrafficPermission 'bad.default': ", reason, StringComparison.Ordinal);
        Assert.Contains("Alow", reason, StringComparison.Ordinal);
        Assert.Equal(["good"], await NamesAsync(Mtp));
    }

    [Fact]
    public async Task Apply_FullStateWithAnInvalidNewVersion_KeepsTheLastGoodOne()
    {
        await SeedAsync(Policy("a", labels: FromGlobal));
        var applier = new KdsSyncApplier(_store, new FromGlobalScope());

        var rejected = await applier.ApplyAsync(Mtp, fullState: true, Wire(Policy("a", action: "Alow")), [], Ct);

        Assert.Single(rejected);
        Assert.Contains("\"Allow\"", (await GetAsync(Mtp, "a")).Spec, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_MalformedRemovalName_RejectedAndNothingElseAffected()
    {
        await SeedAsync(Policy("a", labels: FromGlobal));
        var applier = new KdsSyncApplier(_store, new FromGlobalScope());

        var rejected = await applier.ApplyAsync(Mtp, fullState: false, [], ["no-mesh-part"], Ct);

        Assert.Contains("removal of 'no-mesh-part'", Assert.Single(rejected), StringComparison.Ordinal);
        Assert.Equal(["a"], await NamesAsync(Mtp));
    }

    [Fact]
    public async Task Apply_ManyResources_AppliedInOneCommit()
    {
        var applier = new KdsSyncApplier(_store, new FromGlobalScope());
        using var changes = _store.Subscribe();

        await applier.ApplyAsync(Mtp, fullState: true, Wire([.. Enumerable.Range(0, 40).Select(i => Policy($"p-{i}"))]), [], Ct);

        var revisions = new HashSet<long>();
        while (changes.Reader.TryRead(out var change))
        {
            revisions.Add(change.Revision);
        }
        Assert.Single(revisions);
        Assert.Equal(40, (await NamesAsync(Mtp)).Length);
    }

    // On the global: what one zone sends.

    [Fact]
    public async Task Apply_FromZone_RenamedPerZoneAndStampedFromTheIdentityNotThePayload()
    {
        var applier = new KdsSyncApplier(_store, new FromZoneScope("zone-1"));
        var spoofed = Dataplane("backend-1", labels: [(WellKnownLabels.Zone, "zone-2"), (WellKnownLabels.Origin, WellKnownLabels.OriginGlobal), ("team", "payments")]);

        var rejected = await applier.ApplyAsync(Dp, fullState: false, Wire(spoofed), [], Ct);

        Assert.Empty(rejected);
        var stored = await GetAsync(Dp, "backend-1.zone-1");
        Assert.Equal("zone-1", stored.GetLabel(WellKnownLabels.Zone));
        Assert.Equal(WellKnownLabels.OriginZone, stored.GetLabel(WellKnownLabels.Origin));
        Assert.Equal("backend-1", stored.GetLabel(WellKnownLabels.DisplayName));
        Assert.Equal("payments", stored.GetLabel("team"));
    }

    [Fact]
    public async Task Apply_FromZoneFullState_NeverTouchesOtherZonesOrTheGlobalsOwn()
    {
        await SeedAsync(
            Dataplane("a.zone-1", labels: [.. FromZone("zone-1"), (WellKnownLabels.DisplayName, "a")]),
            Dataplane("b.zone-1", labels: [.. FromZone("zone-1"), (WellKnownLabels.DisplayName, "b")]),
            Dataplane("a.zone-2", labels: [.. FromZone("zone-2"), (WellKnownLabels.DisplayName, "a")]),
            Dataplane("made-here"));
        var applier = new KdsSyncApplier(_store, new FromZoneScope("zone-1"));

        var rejected = await applier.ApplyAsync(Dp, fullState: true, Wire(Dataplane("a")), [], Ct);

        Assert.Empty(rejected);
        Assert.Equal(["a.zone-1", "a.zone-2", "made-here"], await NamesAsync(Dp));
    }

    [Fact]
    public async Task Apply_FromZoneRemovalOfAnotherZonesResource_Ignored()
    {
        await SeedAsync(Dataplane("a.zone-2", labels: FromZone("zone-2")));
        var applier = new KdsSyncApplier(_store, new FromZoneScope("zone-1"));

        // zone-1 naming "a" means "a.zone-1"; even a crafted name cannot reach zone-2's resource.
        var rejected = await applier.ApplyAsync(Dp, fullState: false, [], ["a.default", "a.zone-2.default"], Ct);

        Assert.Empty(rejected);
        Assert.Equal(["a.zone-2"], await NamesAsync(Dp));
    }

    [Fact]
    public async Task Apply_FromZoneNameTakenByAResourceOutsideItsScope_RejectedNamingTheOwner()
    {
        await SeedAsync(Dataplane("a.zone-1"));
        var applier = new KdsSyncApplier(_store, new FromZoneScope("zone-1"));

        var rejected = await applier.ApplyAsync(Dp, fullState: true, Wire(Dataplane("a"), Dataplane("b")), [], Ct);

        Assert.Contains("conflicts with a resource created locally", Assert.Single(rejected), StringComparison.Ordinal);
        Assert.Null((await GetAsync(Dp, "a.zone-1")).GetLabel(WellKnownLabels.Zone));
        Assert.Equal(["a.zone-1", "b.zone-1"], await NamesAsync(Dp));
    }

    [Fact]
    public async Task Apply_FromZoneNameTooLongOnceRenamed_RejectedWithReason()
    {
        var applier = new KdsSyncApplier(_store, new FromZoneScope("zone-1"));
        // Valid on the zone (251 characters), too long once ".zone-1" is appended.
        var longName = string.Join('.', Enumerable.Repeat(new string('a', 62), 4));

        var rejected = await applier.ApplyAsync(Dp, fullState: false, Wire(Dataplane(longName)), [], Ct);

        Assert.Contains($"the name on the global would be '{longName}.zone-1', which is invalid", Assert.Single(rejected), StringComparison.Ordinal);
        Assert.Empty(await NamesAsync(Dp));
    }

    [Fact]
    public async Task Apply_FromZoneGlobalScopedType_RenamedToo()
    {
        var applier = new KdsSyncApplier(_store, new FromZoneScope("zone-1"));

        await applier.ApplyAsync(ResourceTypes.ZoneIngress, fullState: true, Wire(Ingress("ingress-1")), [], Ct);

        var stored = await _store.GetAsync(ResourceKey.Global(ResourceTypes.ZoneIngress.Name, "ingress-1.zone-1"), Ct);
        Assert.Equal("zone-1", stored!.GetLabel(WellKnownLabels.Zone));
    }
}
