using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Federation.Dataplane.Certificates;
using Federation.Dataplane.Files;

namespace Federation.Dataplane.Bootstrap;

/// <summary>
/// The gRPC xDS bootstrap of a proxyless application (the file <c>GRPC_XDS_BOOTSTRAP</c> names), in the shape
/// grpc-js-xds 1.14 requires: a plaintext ADS server (<c>insecure</c> is the only usable channel credential), a
/// node with a locality (mandatory, even empty), the server listener template, and a <c>file_watcher</c>
/// certificate provider named <c>default</c> (the instance the zone's TLS contexts reference) whose
/// <c>refresh_interval</c> is mandatory and must read like <c>10s</c>.
/// </summary>
internal sealed record XdsBootstrap(string ServerUri, string NodeId, string Zone, string Token, CertificateFiles Certificates)
{
    /// <summary>Node metadata carrying the dataplane token: gRPC clients cannot set headers on their xDS channel.</summary>
    public const string TokenMetadataKey = "dataplane.token";

    public const string ProxyTypeMetadataKey = "federation.io/proxy-type";

    public const string ServerListenerTemplate = "grpc/server?xds.resource.listening_address=%s";

    /// <summary>The certificate provider instance the zone's Upstream/DownstreamTlsContexts name.</summary>
    public const string CertificateProviderInstance = "default";

    /// <summary>How often the application re-reads the certificate files.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(10);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public JsonObject ToJson() => new()
    {
        ["xds_servers"] = new JsonArray(new JsonObject
        {
            ["server_uri"] = ServerUri,
            ["channel_creds"] = new JsonArray(new JsonObject { ["type"] = "insecure" }),
            // ignore_resource_deletion: a Listener or Cluster missing from one response (a zone that restarted and is
            // still refilling its inventory) must not tear down what the application is using (gRPC A53).
            ["server_features"] = new JsonArray("xds_v3", "ignore_resource_deletion"),
        }),
        ["node"] = new JsonObject
        {
            ["id"] = NodeId,
            ["locality"] = new JsonObject { ["zone"] = Zone },
            ["metadata"] = new JsonObject
            {
                [TokenMetadataKey] = Token,
                [ProxyTypeMetadataKey] = "proxyless",
            },
        },
        ["server_listener_resource_name_template"] = ServerListenerTemplate,
        ["certificate_providers"] = new JsonObject
        {
            [CertificateProviderInstance] = new JsonObject
            {
                ["plugin_name"] = "file_watcher",
                ["config"] = new JsonObject
                {
                    ["certificate_file"] = Certificates.CertificateFile,
                    ["private_key_file"] = Certificates.PrivateKeyFile,
                    ["ca_certificate_file"] = Certificates.CaFile,
                    ["refresh_interval"] = FormatSeconds(RefreshInterval),
                },
            },
        },
    };

    /// <summary>Writes the bootstrap atomically, readable by its owner only (it holds the dataplane token).</summary>
    public void Write(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        AtomicFile.Write(path, ToJson().ToJsonString(Indented) + "\n", AtomicFile.Private);
    }

    /// <summary>A protobuf-JSON Duration in seconds (<c>10s</c>, <c>2.5s</c>): the only form grpc-js accepts here.</summary>
    public static string FormatSeconds(TimeSpan interval) =>
        interval.TotalSeconds.ToString("0.#########", CultureInfo.InvariantCulture) + "s";
}
