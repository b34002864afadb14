using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using Federation.Zone.Dns;

namespace Federation.Zone.Tests.Dns;

public sealed class MeshDnsServerTests
{
    private static readonly Dictionary<string, IPAddress> Table = new()
    {
        ["backend.default"] = IPAddress.Parse("240.0.0.1"),
        ["payments.shop"] = IPAddress.Parse("240.0.0.2"),
    };

    private static DnsMessage Ask(string name)
    {
        var query = new DnsMessage();
        query.Questions.Add(new DnsQuestion(DomainName.Parse(name), RecordType.A, RecordClass.INet));
        return MeshDnsServer.Answer(query, Table);
    }

    [Theory]
    [InlineData("backend.default.mesh", "240.0.0.1")]
    [InlineData("backend.mesh", "240.0.0.1")]
    [InlineData("payments.shop.mesh", "240.0.0.2")]
    [InlineData("BACKEND.Default.Mesh", "240.0.0.1")]
    public void Answer_KnownService_ReturnsItsVip(string name, string vip)
    {
        var answer = Ask(name);
        Assert.Equal(ReturnCode.NoError, answer.ReturnCode);
        Assert.Equal(vip, Assert.IsType<ARecord>(Assert.Single(answer.AnswerRecords)).Address.ToString());
    }

    [Fact]
    public void Answer_UnknownMeshName_NxDomain() => Assert.Equal(ReturnCode.NxDomain, Ask("nope.default.mesh").ReturnCode);

    [Fact]
    public void Answer_NameOutsideMesh_Refused() => Assert.Equal(ReturnCode.Refused, Ask("example.com").ReturnCode);
}
