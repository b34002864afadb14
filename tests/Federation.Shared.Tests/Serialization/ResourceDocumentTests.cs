using System.Text.Json.Nodes;
using Federation.Resources.Types;
using Federation.Serialization;
using Federation.Validation;

namespace Federation.Tests.Serialization;

public sealed class ResourceDocumentTests
{
    private const string Manifests = """
        type: Mesh
        name: default
        mtls: {enabledBackend: ca-1, backends: [{name: ca-1, type: builtin, dpCert: {rotation: {expiration: 24h}}}]}
        routing: {zoneEgress: false, localityAwareLoadBalancing: false}
        ---
        type: MeshTrafficPermission
        mesh: default
        name: allow-web
        spec:
          targetRef: {kind: MeshService, name: backend}
          from: [{targetRef: {kind: MeshSubset, tags: {kuma.io/service: web}}, default: {action: Allow}}]
        ---
        type: Dataplane
        mesh: default
        name: backend-1
        networking:
          address: 127.0.0.1
          inbound: [{port: 18080, tags: {kuma.io/service: backend, kuma.io/protocol: grpc, version: v1}}]
          transparentProxying: {redirectPortInbound: 15006, redirectPortOutbound: 15001, reachableServices: [web]}
        """;

    private static IReadOnlyList<ParsedResource> ParseAll(string yaml) =>
        [.. YamlJson.ParseDocuments(yaml).Select(ResourceDocument.Parse)];

    private static IReadOnlyList<ValidationError> ErrorsOf(string yaml)
    {
        var e = Assert.Throws<ValidationException>(() => ParseAll(yaml));
        return e.Errors;
    }

    [Fact]
    public void Parse_KumaUniversalManifests_RoundTripsSameFieldsAndValues()
    {
        var docs = YamlJson.ParseDocuments(Manifests);
        var parsed = docs.Select(ResourceDocument.Parse).ToList();

        Assert.Equal(["Mesh", "MeshTrafficPermission", "Dataplane"], parsed.Select(p => p.Resource.Type));
        for (var i = 0; i < docs.Count; i++)
        {
            var back = ResourceDocument.ToDocument(parsed[i].Resource);
            Assert.True(JsonNode.DeepEquals(docs[i], back), $"document {i}: {docs[i]!.ToJsonString()} != {back.ToJsonString()}");
        }
        var mesh = parsed[0].Resource.GetSpec<MeshSpec>();
        Assert.True(mesh.MtlsEnabled);
        Assert.Equal("24h", mesh.EnabledBackend!.DpCert!.Rotation!.Expiration);
        var mtp = parsed[1].Resource.GetSpec<MeshTrafficPermissionSpec>();
        Assert.Equal(MtpAction.Allow, mtp.From[0].Default.Action);
        Assert.Equal(18080, parsed[2].Resource.GetSpec<DataplaneSpec>().Networking.Inbound![0].Port);
    }

    [Fact]
    public void Parse_UnknownEnumValue_ReportsFieldPathAndAllowedValues()
    {
        var errors = ErrorsOf("""
            type: MeshTrafficPermission
            mesh: default
            name: x
            spec:
              targetRef: {kind: MeshService, name: backend}
              from: [{targetRef: {kind: Mesh}, default: {action: Alow}}]
            """);
        var e = Assert.Single(errors);
        Assert.Equal("spec.from[0].default.action", e.Field);
        Assert.Contains("Alow", e.Message);
        Assert.Contains("AllowWithShadowDeny", e.Message);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsEveryOne()
    {
        var errors = ErrorsOf("""
            type: MeshTrafficPermission
            mesh: Default.Mesh
            name: Bad_Name
            spec:
              targetRef: {kind: MeshService}
              from: [{targetRef: {kind: Meh}, default: {action: Allow, extra: 1}}]
              unknownField: true
            """);
        var fields = errors.Select(e => e.Field).ToHashSet();
        Assert.Contains("name", fields);
        Assert.Contains("mesh", fields);
        Assert.Contains("spec.unknownField", fields);
        Assert.Contains("spec.from[0].targetRef.kind", fields);
        Assert.Contains("spec.from[0].default.extra", fields);
    }

    [Fact]
    public void Parse_SemanticErrors_ReportedWithPaths()
    {
        var errors = ErrorsOf("""
            type: Mesh
            name: default
            mtls: {enabledBackend: ca-2, backends: [{name: ca-1, type: vault, dpCert: {rotation: {expiration: soon}}}]}
            """);
        Assert.Contains(errors, e => e.Field == "mtls.enabledBackend" && e.Message.Contains("ca-2"));
        Assert.Contains(errors, e => e.Field == "mtls.backends[0].type" && e.Message.Contains("vault"));
        Assert.Contains(errors, e => e.Field == "mtls.backends[0].dpCert.rotation.expiration");
    }

    [Theory]
    [InlineData("name: x\nmesh: default", "type")]
    [InlineData("type: Frobnicator\nname: x", "type")]
    [InlineData("type: Mesh\nname: my.mesh", "name")]
    [InlineData("type: Dataplane\nname: x\nnetworking: {address: 1.2.3.4, inbound: [{port: 1, tags: {kuma.io/service: a}}]}", "mesh")]
    [InlineData("type: Mesh\nname: default\nmesh: default", "mesh")]
    [InlineData("type: Dataplane\nmesh: default\nname: x\nnetworking: {address: 1.2.3.4, inbound: [{port: 70000, tags: {}}]}", "networking.inbound[0].port")]
    [InlineData("type: Dataplane\nmesh: default\nname: x\nnetworking: {address: 1.2.3.4, inbound: [{port: \"80\", tags: {kuma.io/service: a}}]}", "networking.inbound[0].port")]
    [InlineData("type: Dataplane\nmesh: default\nname: x\nnetworking: {address: 1.2.3.4, inbound: [{port: 1, tags: {kuma.io/service: a}}], transparentProxying: {redirectPortOutbound: 0}}", "networking.transparentProxying.redirectPortOutbound")]
    [InlineData("type: Dataplane\nmesh: default\nname: x\nnetworking: {address: 1.2.3.4, inbound: [{port: 1, tags: {kuma.io/service: a}}], transparentProxying: {}}", "networking.transparentProxying")]
    [InlineData("type: Dataplane\nmesh: default\nname: x\nnetworking: {address: 1.2.3.4, inbound: [{port: 1, tags: {kuma.io/service: a}}], transparentProxying: {redirectPortInbound: 15001, redirectPortOutbound: 15001}}", "networking.transparentProxying.redirectPortOutbound")]
    [InlineData("type: Dataplane\nmesh: default\nname: x\nnetworking: {address: 1.2.3.4, inbound: [{port: 1, tags: {kuma.io/service: a}}], transparentProxying: {redirectPortOutbound: 15001, ipFamilyMode: ipv6}}", "networking.transparentProxying.ipFamilyMode")]
    public void Parse_BadDocument_ReportsField(string yaml, string field)
    {
        Assert.Contains(ErrorsOf(yaml), e => e.Field == field);
    }

    [Fact]
    public void Parse_NameOf254Characters_Rejected()
    {
        var errors = ErrorsOf($"type: MeshTrafficPermission\nmesh: default\nname: {new string('a', 254)}\nspec: {{from: [{{targetRef: {{kind: Mesh}}, default: {{action: Allow}}}}]}}");
        Assert.Contains(errors, e => e.Field == "name" && e.Message.Contains("253"));
    }

    [Fact]
    public void ParseDocuments_MalformedYaml_SaysWhere()
    {
        var e = Assert.Throws<DocumentFormatException>(() => YamlJson.ParseDocuments("type: Mesh\nname: [unclosed\n"));
        Assert.Contains("line", e.Message);
    }

    [Fact]
    public void ParseJsonOrYaml_MalformedJson_SaysWhere()
    {
        var e = Assert.Throws<DocumentFormatException>(() => YamlJson.ParseJsonOrYaml("{\"type\": \"Mesh\", "));
        Assert.Contains("malformed JSON", e.Message);
    }

    [Fact]
    public void ToYaml_StringsThatLookLikeOtherTypes_AreQuoted()
    {
        var yaml = YamlJson.ToYaml(new JsonObject { ["a"] = "123", ["b"] = "true", ["c"] = "plain", ["d"] = 5, ["e"] = "" });
        var back = YamlJson.ParseDocuments(yaml).Single()!;
        Assert.Equal("123", back["a"]!.GetValue<string>());
        Assert.Equal("true", back["b"]!.GetValue<string>());
        Assert.Equal("plain", back["c"]!.GetValue<string>());
        Assert.Equal(5, back["d"]!.GetValue<long>());
        Assert.Equal("", back["e"]!.GetValue<string>());
    }

    [Fact]
    public void ParseDocuments_AliasBomb_Refused()
    {
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
        var prev = "a";
        for (var i = 0; i < 8; i++)
        {
            var name = $"l{i}";
            bomb += $"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n";
            prev = name;
        }
        Assert.Throws<DocumentFormatException>(() => YamlJson.ParseDocuments(bomb));
    }
}
