using System.Text.Json.Nodes;
using Federation.Dataplane.ZoneProxy;

namespace Federation.Dataplane.Tests.ZoneProxy;

public sealed class ZoneProxyManifestTests
{
    [Fact]
    public void Document_Ingress_AdvertisesItsAddressUnlessToldOtherwise()
    {
        var manifest = new ZoneProxyManifest(ZoneProxyKind.Ingress, "ingress-1", "127.0.0.1", 10001);

        Assert.Equal("""{"type":"ZoneIngress","name":"ingress-1","networking":{"address":"127.0.0.1","port":10001,"advertisedAddress":"127.0.0.1","advertisedPort":10001}}""", manifest.Document.ToJsonString());
        Assert.Equal("zoneingresses/ingress-1", manifest.Path);
    }

    [Fact]
    public void Document_Egress_HasNoAdvertisedCoordinates()
    {
        var manifest = new ZoneProxyManifest(ZoneProxyKind.Egress, "egress-1", "127.0.0.1", 10002, "10.0.0.1", 1);

        Assert.Equal("""{"type":"ZoneEgress","name":"egress-1","networking":{"address":"127.0.0.1","port":10002}}""", manifest.Document.ToJsonString());
        Assert.Equal("zoneegresses/egress-1", manifest.Path);
    }

    [Theory]
    [InlineData("""{"networking":{"port":10002,"address":"127.0.0.1","advertisedAddress":null,"admin":null},"zone":"zone-1"}""", true)]
    [InlineData("""{"networking":{"address":"127.0.0.1","port":10003}}""", false)]
    [InlineData("""{"name":"egress-1"}""", false)]
    public void IsRegisteredAs_ComparesOnlyTheNetworkingItOwns(string stored, bool expected) =>
        Assert.Equal(expected, new ZoneProxyManifest(ZoneProxyKind.Egress, "egress-1", "127.0.0.1", 10002).IsRegisteredAs(JsonNode.Parse(stored)!.AsObject()));
}
