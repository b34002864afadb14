using Federation.Kds.Conversion;
using Federation.Kds.Protocol;
using Federation.Resources;
using Federation.Validation;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static Federation.Kds.Tests.Fakes.TestResources;
using DeltaResource = Envoy.Service.Discovery.V3.Resource;

namespace Federation.Kds.Tests.Conversion;

public sealed class KdsConversionTests
{
    private static readonly ResourceTypeDescriptor Mtp = ResourceTypes.MeshTrafficPermission;

    [Fact]
    public void ToWireFromWire_Policy_RoundTripsKeyLabelsAndSpec()
    {
        var policy = Policy("allow-web", labels: [("team", "payments"), (WellKnownLabels.Origin, WellKnownLabels.OriginGlobal)]);

        var wire = KdsConversion.ToWire(policy);
        var back = KdsConversion.FromWire(Mtp, wire);

        Assert.Equal("allow-web.default", wire.Name);
        Assert.Equal(policy.ContentHash, wire.Version);
        Assert.Equal(KdsConversion.KdsResourceTypeUrl, wire.Resource_.TypeUrl);
        Assert.Equal(policy.Key, back.Key);
        Assert.Equal(policy.Labels, back.Labels);
        Assert.Equal(policy.Spec, back.Spec);
        Assert.Equal(policy.ContentHash, back.ContentHash);
    }

    [Fact]
    public void WithTrace_TracedWrite_ReceiverReadsTheSameContextBackAsRemote()
    {
        var trace = new System.Diagnostics.ActivityContext(System.Diagnostics.ActivityTraceId.CreateRandom(),
            System.Diagnostics.ActivitySpanId.CreateRandom(), System.Diagnostics.ActivityTraceFlags.Recorded);

        var wire = DeltaResource.Parser.ParseFrom(KdsConversion.WithTrace(KdsConversion.ToWire(Policy("allow-web")), trace).ToByteArray());
        var back = KdsConversion.TraceOf(wire);

        Assert.Equal(trace.TraceId, back.TraceId);
        Assert.Equal(trace.SpanId, back.SpanId);
        Assert.Equal(System.Diagnostics.ActivityTraceFlags.Recorded, back.TraceFlags);
        Assert.True(back.IsRemote);
    }

    [Fact]
    public void WithTrace_NoTrace_LeavesMetadataOut()
    {
        var wire = KdsConversion.WithTrace(KdsConversion.ToWire(Policy("allow-web")), default);

        Assert.Null(wire.Metadata);
        Assert.Equal(default, KdsConversion.TraceOf(wire));
    }

    [Theory]
    [InlineData("not a traceparent")]
    [InlineData("00-00000000000000000000000000000000-0000000000000000-01")]
    public void TraceOf_MalformedTraceparent_IsNoTraceNotAnError(string traceparent)
    {
        var wire = KdsConversion.ToWire(Policy("allow-web"));
        var fields = new Struct();
        fields.Fields["traceparent"] = Value.ForString(traceparent);
        wire.Metadata = new Envoy.Config.Core.V3.Metadata { FilterMetadata = { [KdsConversion.TraceFilter] = fields } };

        Assert.Equal(default, KdsConversion.TraceOf(wire));
        Assert.Equal(Policy("allow-web").Key, KdsConversion.FromWire(Mtp, wire).Key);
    }

    [Fact]
    public void ToWireFromWire_FlatGlobalScopedType_RoundTrips()
    {
        var ingress = Ingress("ingress-1", labels: [(WellKnownLabels.Zone, "zone-1")]);

        var back = KdsConversion.FromWire(ResourceTypes.ZoneIngress, KdsConversion.ToWire(ingress));

        Assert.Equal("ingress-1", KdsConversion.WireName(ingress.Key));
        Assert.Equal(ingress.Key, back.Key);
        Assert.Equal(ingress.Spec, back.Spec);
        Assert.Equal("zone-1", back.GetLabel(WellKnownLabels.Zone));
    }

    [Fact]
    public void ToWireFromWire_Status_Kept()
    {
        var withStatus = Dataplane("dp-1") with { Status = """{"healthy":true}""" };

        var back = KdsConversion.FromWire(ResourceTypes.Dataplane, KdsConversion.ToWire(withStatus));

        Assert.Equal("""{"healthy":true}""", back.Status);
        Assert.Equal(withStatus.ContentHash, back.ContentHash);
    }

    [Fact]
    public void ToWire_SameContentDifferentStoreVersion_SameWireVersion()
    {
        var a = Policy("a") with { Version = 1 };
        var b = Policy("a") with { Version = 7, ModificationTime = DateTimeOffset.UnixEpoch };

        Assert.Equal(KdsConversion.ToWire(a).Version, KdsConversion.ToWire(b).Version);
        Assert.NotEqual(KdsConversion.ToWire(a).Version, KdsConversion.ToWire(Policy("a", action: "Deny")).Version);
    }

    [Theory]
    [InlineData("allow-web.default", "allow-web", "default")]
    [InlineData("backend-1.zone-1.default", "backend-1.zone-1", "default")]
    [InlineData("a.b", "a", "b")]
    public void ParseWireName_MeshScoped_SplitsOnTheLastDot(string wireName, string name, string mesh)
    {
        var key = KdsConversion.ParseWireName(Mtp, wireName);

        Assert.Equal(new ResourceKey(Mtp.Name, mesh, name), key);
        Assert.Equal(wireName, KdsConversion.WireName(key));
    }

    [Fact]
    public void ParseWireName_GlobalScoped_WholeNameWithItsDots()
    {
        var key = KdsConversion.ParseWireName(ResourceTypes.ZoneIngress, "ingress-1.zone-1");

        Assert.Equal(ResourceKey.Global(ResourceTypes.ZoneIngress.Name, "ingress-1.zone-1"), key);
    }

    [Theory]
    [InlineData("no-dot")]
    [InlineData(".default")]
    [InlineData("name.")]
    public void ParseWireName_MalformedMeshScoped_ThrowsNamingIt(string wireName)
    {
        var error = Assert.Throws<FormatException>(() => KdsConversion.ParseWireName(Mtp, wireName));
        Assert.Contains($"'{wireName}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromWire_NotAKdsResource_Throws()
    {
        var wire = new DeltaResource { Name = "a.default", Resource_ = new Any { TypeUrl = "type.googleapis.com/other.Thing" } };

        var error = Assert.Throws<ValidationException>(() => KdsConversion.FromWire(Mtp, wire));
        Assert.Contains("other.Thing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromWire_ResourceOfAnotherTypeInTheStream_Throws()
    {
        var wire = KdsConversion.ToWire(Dataplane("a"));

        var error = Assert.Throws<ValidationException>(() => KdsConversion.FromWire(Mtp, wire));
        Assert.Contains("a Dataplane was sent in the MeshTrafficPermission stream", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromWire_WireNameDisagreesWithMeta_Throws()
    {
        var wire = KdsConversion.ToWire(Policy("a"));
        wire.Name = "b.default";

        var error = Assert.Throws<ValidationException>(() => KdsConversion.FromWire(Mtp, wire));
        Assert.Contains("does not match", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromWire_SpecNotJson_Throws()
    {
        var kds = new KdsResource { Meta = new ResourceMeta { Type = Mtp.Name, Name = "a", Mesh = "default" }, Spec = ByteString.CopyFromUtf8("{not json") };
        var wire = new DeltaResource { Name = "a.default", Resource_ = new Any { TypeUrl = KdsConversion.KdsResourceTypeUrl, Value = kds.ToByteString() } };

        var error = Assert.Throws<ValidationException>(() => KdsConversion.FromWire(Mtp, wire));
        Assert.Contains("is not JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromWire_InvalidSpec_ThrowsWithTheApisValidationMessage()
    {
        var wire = KdsConversion.ToWire(Policy("a", action: "Alow"));

        var error = Assert.Throws<ValidationException>(() => KdsConversion.FromWire(Mtp, wire));
        Assert.Contains("Alow", error.Message, StringComparison.Ordinal);
    }
}
