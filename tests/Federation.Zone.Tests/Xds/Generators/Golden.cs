using System.Text;
using Federation.Zone.Xds.Server;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace Federation.Zone.Tests.Xds.Generators;

/// <summary>
/// Golden files: a snapshot rendered as proto-JSON (Any unpacked through our own protos), compared with the file
/// committed under Golden/, and parsed back through the same protos. Set UPDATE_GOLDEN=1 to rewrite the files
/// after an intended change, then review the diff.
/// </summary>
internal static class Golden
{
    private static readonly TypeRegistry Registry = TypeRegistry.FromFiles(
        Envoy.Config.Listener.V3.ListenerReflection.Descriptor,
        Envoy.Config.Route.V3.RouteReflection.Descriptor,
        Envoy.Config.Cluster.V3.ClusterReflection.Descriptor,
        Envoy.Config.Endpoint.V3.EndpointReflection.Descriptor,
        Envoy.Extensions.TransportSockets.Tls.V3.TlsReflection.Descriptor,
        Envoy.Extensions.TransportSockets.Tls.V3.SecretReflection.Descriptor,
        Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManagerReflection.Descriptor,
        Envoy.Extensions.Filters.Http.Router.V3.RouterReflection.Descriptor,
        Envoy.Extensions.Filters.Http.Rbac.V3.RbacReflection.Descriptor,
        Envoy.Extensions.Filters.Network.Rbac.V3.RbacReflection.Descriptor,
        Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxyReflection.Descriptor,
        Envoy.Extensions.Filters.Listener.TlsInspector.V3.TlsInspectorReflection.Descriptor);

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(Registry).WithIndentation());
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithTypeRegistry(Registry));

    public static string Render(ProxySnapshot snapshot)
    {
        var text = new StringBuilder();
        foreach (var type in XdsTypes.All)
        {
            foreach (var resource in snapshot.Of(type).Values.OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                text.Append("# ").Append(type).Append(' ').Append(resource.Name).Append('\n');
                text.Append(Formatter.Format(resource.Resource)).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>Every resource survives a trip through JSON and back to identical bytes.</summary>
    public static void AssertRoundTrips(ProxySnapshot snapshot)
    {
        foreach (var resource in snapshot.Resources.Values.SelectMany(r => r.Values))
        {
            var json = Formatter.Format(resource.Resource);
            var back = Parser.Parse<Any>(json);
            Assert.True(back.Value == resource.Resource.Value, $"{resource.Name} does not round-trip through our protos");
        }
    }

    public static void AssertMatches(string name, string actual)
    {
        var path = Path.Combine(SourceDirectory(), "Golden", name);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1" || !File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            Assert.True(Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1", $"golden file {name} was missing and has been written; review and commit it");
            return;
        }
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(expected == actual, $"generated config differs from Golden/{name}; if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff.\n{FirstDifference(expected, actual)}");
    }

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (var i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            var el = i < e.Length ? e[i] : "<end>";
            var al = i < a.Length ? a[i] : "<end>";
            if (el != al)
            {
                return $"line {i + 1}:\n  expected: {el}\n  actual:   {al}";
            }
        }
        return "";
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string file = "") => Path.GetDirectoryName(file)!;
}
