using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Federation.Kds.Xds;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Federation.Zone.Tests.Kds.Xds;

public sealed class ResourceNamesTests
{
    [Fact]
    public void NameOf_ListenerWithOtherFieldsFirst_ReadsField1()
    {
        var listener = new Listener
        {
            Name = "inbound:10.0.0.1:8080",
            Address = new Envoy.Config.Core.V3.Address { SocketAddress = new Envoy.Config.Core.V3.SocketAddress { Address = "10.0.0.1", PortValue = 8080 } },
        };

        Assert.Equal("inbound:10.0.0.1:8080", ResourceNames.NameOf(Any.Pack(listener)));
    }

    [Fact]
    public void NameOf_ClusterLoadAssignment_ReadsClusterName()
    {
        Assert.Equal("backend", ResourceNames.NameOf(Any.Pack(new ClusterLoadAssignment { ClusterName = "backend" })));
    }

    [Fact]
    public void NameOf_FieldsBeforeTheName_SkipsThem()
    {
        // A cluster written with connect_timeout (field 4) before the name (field 1): field order is not guaranteed on the wire.
        var timeout = new Cluster { ConnectTimeout = new Duration { Seconds = 5 } }.ToByteString();
        var name = new Cluster { Name = "late", Type = Cluster.Types.DiscoveryType.Eds }.ToByteString();
        var any = new Any { TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster", Value = ByteString.CopyFrom([.. timeout, .. name]) };

        Assert.Equal("late", ResourceNames.NameOf(any));
    }

    [Fact]
    public void NameOf_NoName_Empty()
    {
        Assert.Equal("", ResourceNames.NameOf(Any.Pack(new Cluster { Type = Cluster.Types.DiscoveryType.Eds })));
    }

    [Fact]
    public void NameOf_TruncatedBytes_Null()
    {
        var bytes = Any.Pack(new Cluster { Name = "truncated" }).Value.ToByteArray();

        Assert.Null(ResourceNames.NameOf(new Any { Value = ByteString.CopyFrom(bytes.AsSpan(0, bytes.Length - 3)) }));
    }
}
