using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Federation.Resources;
using Federation.Resources.Types;
using Federation.Serialization;

namespace Federation.Security.Pki;

/// <summary>The root certificate and key of a mesh's builtin CA backend.</summary>
public sealed record MeshCaMaterial(string CertificatePem, string KeyPem)
{
    public X509Certificate2 Load() => X509Certificate2.CreateFromPem(CertificatePem, KeyPem);
}

/// <summary>
/// A mesh's builtin CA: one self-signed root per (mesh, backend), created on the global and synced to every zone
/// as two Secrets (Kuma's names: <c>&lt;mesh&gt;.ca-builtin-cert-&lt;backend&gt;</c> and
/// <c>&lt;mesh&gt;.ca-builtin-key-&lt;backend&gt;</c>), so workload certificates from every zone chain to one root.
/// </summary>
public static class MeshCa
{
    public static string CertSecretName(string mesh, string backend) => $"{mesh}.ca-builtin-cert-{backend}";

    public static string KeySecretName(string mesh, string backend) => $"{mesh}.ca-builtin-key-{backend}";

    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(3650);

    /// <summary>Creates a new root for a mesh backend (RSA, <c>RSAbits</c> from the backend conf, default 2048).</summary>
    public static MeshCaMaterial Create(string mesh, MtlsBackend backend, DateTimeOffset now)
    {
        var bits = backend.Conf?.CaCert?.RsaBits ?? 2048;
        var lifetime = backend.Conf?.CaCert?.Expiration is { } e && GoDuration.TryParse(e, out var d) ? d : DefaultLifetime;
        using var key = RSA.Create(bits);
        var request = new CertificateRequest($"CN={mesh} mesh CA ({backend.Name}), O=Federation", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri($"spiffe://{mesh}"));
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(now.AddMinutes(-5), now + lifetime);
        return new MeshCaMaterial(cert.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>The two Secrets that hold a CA.</summary>
    public static IReadOnlyList<Resource> ToSecrets(string mesh, string backend, MeshCaMaterial ca) =>
    [
        Secret(mesh, CertSecretName(mesh, backend), ca.CertificatePem),
        Secret(mesh, KeySecretName(mesh, backend), ca.KeyPem),
    ];

    private static Resource Secret(string mesh, string name, string pem) =>
        new(new ResourceKey(ResourceTypes.Secret.Name, mesh, name),
            ResourceTypes.Secret.SerializeSpec(new SecretSpec { Data = Convert.ToBase64String(Encoding.UTF8.GetBytes(pem)) }));

    /// <summary>Reads a CA back from its Secrets; null when either is missing.</summary>
    public static MeshCaMaterial? FromSecrets(Resource? cert, Resource? key) =>
        cert is null || key is null
            ? null
            : new MeshCaMaterial(
                Encoding.UTF8.GetString(cert.GetSpec<SecretSpec>().Bytes),
                Encoding.UTF8.GetString(key.GetSpec<SecretSpec>().Bytes));
}
