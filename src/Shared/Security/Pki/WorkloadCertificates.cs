using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federation.Security.Pki;

/// <summary>A workload identity: certificate chain, key and the mesh root, as PEM, with its validity.</summary>
public sealed record WorkloadCertificate(string CertificatePem, string KeyPem, string CaPem, DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    /// <summary>When to renew: at 80 % of the lifetime.</summary>
    public DateTimeOffset RenewAt => NotBefore + (NotAfter - NotBefore) * 0.8;
}

/// <summary>
/// Issues workload certificates from a mesh CA: URI SANs <c>spiffe://&lt;mesh&gt;/&lt;service&gt;</c> for every
/// service and <c>kuma://&lt;tag&gt;/&lt;value&gt;</c> for every inbound tag, so policies can match any tag
/// (e.g. <c>kuma.io/zone</c>) of the caller. ECDSA P-256 keys: cheap to make, understood by Envoy and gRPC.
/// </summary>
public static class WorkloadCertificates
{
    public static string SpiffeId(string mesh, string service) => $"spiffe://{mesh}/{service}";

    public static string TagUri(string tag, string value) => $"kuma://{tag}/{value}";

    public static WorkloadCertificate Issue(MeshCaMaterial ca, string mesh, IEnumerable<string> services, IEnumerable<KeyValuePair<string, string>> tags, DateTimeOffset now, TimeSpan lifetime)
    {
        using var caCert = ca.Load();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serviceList = services.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var subject = serviceList.Count > 0 ? serviceList[0] : "workload";
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var service in serviceList)
        {
            san.AddUri(new Uri(SpiffeId(mesh, service)));
        }
        foreach (var (tag, value) in tags.Distinct().OrderBy(t => t.Key, StringComparer.Ordinal).ThenBy(t => t.Value, StringComparer.Ordinal))
        {
            if (Uri.TryCreate(TagUri(tag, value), UriKind.Absolute, out var uri))
            {
                san.AddUri(uri);
            }
        }
        request.CertificateExtensions.Add(san.Build(critical: true));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        var notBefore = now.AddMinutes(-1);
        var notAfter = now + lifetime;
        if (notAfter > caCert.NotAfter)
        {
            notAfter = caCert.NotAfter;
        }
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caCert, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        // The mesh root is RSA and the workload key ECDSA, so the signature generator is named explicitly.
        using var caKey = caCert.GetRSAPrivateKey() ?? throw new InvalidOperationException($"the CA of mesh '{mesh}' has no RSA private key");
        using var issued = request.Create(caCert.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1), notBefore, notAfter, serial);
        return new WorkloadCertificate(issued.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n", ca.CertificatePem, notBefore, notAfter);
    }
}
