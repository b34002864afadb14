using System.IO.Hashing;
using Envoy.Config.Core.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using Federation.Zone.Xds.Server;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Federation.Zone.Xds.Generators;

/// <summary>Small builders shared by the generators: packing, addresses, ADS config sources, TLS contexts.</summary>
internal static class XdsBuild
{
    public const string HcmFilterName = "envoy.filters.network.http_connection_manager";
    public const string RouterFilterName = "envoy.filters.http.router";
    public const string HttpRbacFilterName = "envoy.filters.http.rbac";
    public const string NetworkRbacFilterName = "envoy.filters.network.rbac";
    public const string TcpProxyFilterName = "envoy.filters.network.tcp_proxy";
    public const string TlsTransportSocketName = "envoy.transport_sockets.tls";
    public const string TlsInspectorName = "envoy.filters.listener.tls_inspector";

    /// <summary>The certificate provider instance proxyless clients declare in their bootstrap (written by fed-dp).</summary>
    public const string ProxylessCertificateProvider = "default";

    public static XdsResource Resource(string name, IMessage message)
    {
        var any = Any.Pack(message);
        return new XdsResource(name, Hash(any.Value.Span), any);
    }

    public static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(XxHash64.Hash(bytes));

    public static Address SocketAddress(string address, int port) =>
        new() { SocketAddress = new SocketAddress { Address = address, PortValue = (uint)port } };

    public static ConfigSource Ads() => new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

    public static HttpFilter Router() => new() { Name = RouterFilterName, TypedConfig = Any.Pack(new Router()) };

    public static Any Pack(IMessage message) => Any.Pack(message);

    public static TransportSocket Tls(IMessage context) => new() { Name = TlsTransportSocketName, TypedConfig = Any.Pack(context) };

    public static StringMatcher Exact(string value) => new() { Exact = value };

    public static SdsSecretConfig Sds(string name) => new() { Name = name, SdsConfig = Ads() };

    public static CertificateProviderPluginInstance Provider() => new() { InstanceName = ProxylessCertificateProvider };

    public static HttpConnectionManager Hcm(string statPrefix) => new() { StatPrefix = statPrefix, CodecType = HttpConnectionManager.Types.CodecType.Auto };
}
