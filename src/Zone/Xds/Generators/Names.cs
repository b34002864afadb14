namespace Federation.Zone.Xds.Generators;

/// <summary>
/// Resource and SNI names. The SNI grammar <c>&lt;service&gt;.&lt;mesh&gt;.mesh</c> is a contract between zones
/// (version 1): ingresses route on it, and proxyless clients send their target host as SNI, so it is also the
/// name they dial (<c>xds:///backend.default.mesh</c>).
/// </summary>
public static class XdsNames
{
    public const int SniGrammarVersion = 1;

    public static string Sni(string service, string mesh) => $"{service}.{mesh}.mesh";

    public static string OutboundCluster(string service) => $"outbound:{service}";

    public static string OutboundRoute(string service) => $"outbound:{service}";

    public static string OutboundListener(string address, int port) => $"outbound:{address}:{port}";

    public static string InboundListener(string address, int port) => $"inbound:{address}:{port}";

    public static string LocalCluster(int port) => $"localhost:{port}";

    /// <summary>Transparent proxying: the listener (and the original-destination cluster) traffic is redirected to.</summary>
    public const string OutboundPassthrough = "outbound:passthrough:ipv4";

    public const string InboundPassthrough = "inbound:passthrough:ipv4";

    public const string ProxylessServerTemplate = "grpc/server?xds.resource.listening_address=%s";

    public static string ProxylessServerListener(string address, int port) => $"grpc/server?xds.resource.listening_address={address}:{port}";

    public static string IdentitySecret(string mesh) => $"identity_cert:secret:{mesh}";

    public static string CaSecret(string mesh) => $"mesh_ca:secret:{mesh}";
}
