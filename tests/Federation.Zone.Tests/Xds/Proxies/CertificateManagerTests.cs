using Federation.Resources;
using Federation.Resources.Types;
using Federation.Security.Pki;
using Federation.Zone.Tests.Xds.Generators;
using Federation.Zone.Xds.Proxies;
using Federation.Zone.Xds.State;
using Microsoft.Extensions.Time.Testing;

namespace Federation.Zone.Tests.Xds.Proxies;

/// <summary>When a Dataplane's workload certificate is reused and when it is reissued.</summary>
public sealed class CertificateManagerTests
{
    private const string MeshYaml = "type: Mesh\nname: default\nmtls: {enabledBackend: ca-1, backends: [{name: ca-1, type: builtin}]}";
    private const string DataplaneYaml = "type: Dataplane\nmesh: default\nname: web-1\nnetworking: {address: 127.0.0.1, inbound: [{port: 8080, tags: {kuma.io/service: web, version: v1}}]}";

    private static readonly MeshSpec Spec = Scenario.Parse(MeshYaml).GetSpec<MeshSpec>();
    private static readonly MeshCaMaterial Ca = MeshCa.Create("default", Spec.EnabledBackend!, DateTimeOffset.UtcNow);
    private static readonly MeshCaMaterial OtherCa = MeshCa.Create("default", Spec.EnabledBackend!, DateTimeOffset.UtcNow);

    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly CertificateManager _manager;

    public CertificateManagerTests() => _manager = new CertificateManager(new ZoneOptions { Zone = "zone-1" }, _time);

    private static MeshView Mesh(MeshCaMaterial ca) =>
        new("default", 1, Spec, ca, "ca-1", System.Collections.Immutable.ImmutableSortedDictionary<string, ServiceView>.Empty, [], System.Collections.Immutable.ImmutableDictionary<string, Resource>.Empty);

    [Fact]
    public void Get_SameDataplaneAgain_ReturnsTheSameCertificate()
    {
        var dataplane = Scenario.Parse(DataplaneYaml);
        var first = _manager.Get(Mesh(Ca), dataplane);

        Assert.Same(first, _manager.Get(Mesh(Ca), dataplane));
    }

    [Fact]
    public void Get_DataplaneRewrittenWithSameContent_ReturnsTheSameCertificate()
    {
        var first = _manager.Get(Mesh(Ca), Scenario.Parse(DataplaneYaml));

        Assert.Same(first, _manager.Get(Mesh(Ca), Scenario.Parse(DataplaneYaml)));
    }

    [Fact]
    public void Get_TagsChanged_IssuesANewCertificate()
    {
        var first = _manager.Get(Mesh(Ca), Scenario.Parse(DataplaneYaml));
        var retagged = Scenario.Parse(DataplaneYaml.Replace("version: v1", "version: v2", StringComparison.Ordinal));

        var second = _manager.Get(Mesh(Ca), retagged);

        Assert.NotSame(first, second);
        Assert.Same(second, _manager.Get(Mesh(Ca), retagged));
    }

    [Fact]
    public void Get_CaChanged_IssuesANewCertificate()
    {
        var dataplane = Scenario.Parse(DataplaneYaml);
        var first = _manager.Get(Mesh(Ca), dataplane);

        var second = _manager.Get(Mesh(OtherCa), dataplane);

        Assert.NotSame(first, second);
        Assert.Equal(OtherCa.CertificatePem, second!.CaPem);
    }

    [Fact]
    public void Get_PastRenewalTime_IssuesANewCertificate()
    {
        var dataplane = Scenario.Parse(DataplaneYaml);
        var first = _manager.Get(Mesh(Ca), dataplane)!;

        _time.Advance(first.RenewAt - _time.GetUtcNow());

        Assert.NotSame(first, _manager.Get(Mesh(Ca), dataplane));
    }
}
