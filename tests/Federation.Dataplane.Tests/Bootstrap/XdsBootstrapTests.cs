using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Federation.Dataplane.Bootstrap;
using Federation.Dataplane.Certificates;
using Federation.Dataplane.Tests.Testing;

namespace Federation.Dataplane.Tests.Bootstrap;

public sealed partial class XdsBootstrapTests
{
    private static XdsBootstrap Sample(string certsDir) =>
        new("127.0.0.1:15678", "default.backend-1", "zone-1", "tok.en.sig", new CertificateFiles(certsDir));

    [Fact]
    public void ToJson_HasExactlyTheShapeGrpcJsXdsRequires()
    {
        var certs = Path.Combine(Path.GetTempPath(), "certs");

        var json = Sample(certs).ToJson();

        // Insecure channel creds (the only usable kind), a locality (mandatory), the server listener template, and a
        // file_watcher provider named "default" with a refresh_interval in the "<n>s" form (mandatory).
        var expected = new JsonObject
        {
            ["xds_servers"] = new JsonArray(new JsonObject
            {
                ["server_uri"] = "127.0.0.1:15678",
                ["channel_creds"] = new JsonArray(new JsonObject { ["type"] = "insecure" }),
                ["server_features"] = new JsonArray("xds_v3", "ignore_resource_deletion"),
            }),
            ["node"] = new JsonObject
            {
                ["id"] = "default.backend-1",
                ["locality"] = new JsonObject { ["zone"] = "zone-1" },
                ["metadata"] = new JsonObject { ["dataplane.token"] = "tok.en.sig", ["federation.io/proxy-type"] = "proxyless" },
            },
            ["server_listener_resource_name_template"] = "grpc/server?xds.resource.listening_address=%s",
            ["certificate_providers"] = new JsonObject
            {
                ["default"] = new JsonObject
                {
                    ["plugin_name"] = "file_watcher",
                    ["config"] = new JsonObject
                    {
                        ["certificate_file"] = Path.Combine(certs, "cert.pem"),
                        ["private_key_file"] = Path.Combine(certs, "key.pem"),
                        ["ca_certificate_file"] = Path.Combine(certs, "ca.pem"),
                        ["refresh_interval"] = "10s",
                    },
                },
            },
        };
        Assert.True(JsonNode.DeepEquals(expected, json), json.ToJsonString());
    }

    [Fact]
    public void ToJson_CertificatePaths_AreAbsolute()
    {
        var config = Sample("relative/certs").ToJson()["certificate_providers"]!["default"]!["config"]!.AsObject();

        foreach (var field in new[] { "certificate_file", "private_key_file", "ca_certificate_file" })
        {
            Assert.True(Path.IsPathFullyQualified(config[field]!.GetValue<string>()), field);
        }
    }

    [Theory]
    [InlineData(10, "10s")]
    [InlineData(2.5, "2.5s")]
    [InlineData(0.25, "0.25s")]
    [InlineData(600, "600s")]
    public void FormatSeconds_UsesTheOnlyFormGrpcJsAccepts(double seconds, string expected)
    {
        var text = XdsBootstrap.FormatSeconds(TimeSpan.FromSeconds(seconds));

        Assert.Equal(expected, text);
        Assert.Matches(RefreshInterval(), text);
    }

    [Fact]
    public void Write_IsOwnerOnlyAndReadsBackAsTheSameJson()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "out", "bootstrap.json");
        var bootstrap = Sample(dir.File("certs"));

        bootstrap.Write(path);

        Assert.True(JsonNode.DeepEquals(bootstrap.ToJson(), JsonNode.Parse(File.ReadAllText(path))));
        if (!OperatingSystem.IsWindows())
        {
            // It holds the dataplane token.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    // The pattern grpc-js-xds 1.14 validates refresh_interval against.
    [GeneratedRegex(@"^\d+(\.\d+)?s$")]
    private static partial Regex RefreshInterval();
}
