using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Federation.Security;

namespace Federation.Global.Kds;

/// <summary>
/// The KDS server certificate. Unless the operator gives one, the global creates a self-signed CA and a server
/// certificate for loopback and this host in its data directory at first start (and renews the server
/// certificate when it nears expiry); zones trust the CA with <c>--kds-ca-file</c>.
/// </summary>
public static class KdsTls
{
    public const string CaCertFile = "kds-ca.pem";
    public const string CaKeyFile = "kds-ca.key";
    public const string ServerCertFile = "kds-server.pem";
    public const string ServerKeyFile = "kds-server.key";

    public static X509Certificate2 LoadOrCreate(string dataDir, string? certFile, string? keyFile, IEnumerable<string> extraNames, TimeProvider time)
    {
        if (!string.IsNullOrEmpty(certFile))
        {
            return X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        Directory.CreateDirectory(dataDir);
        var now = time.GetUtcNow();
        var caCertPath = Path.Combine(dataDir, CaCertFile);
        var caKeyPath = Path.Combine(dataDir, CaKeyFile);
        if (!File.Exists(caCertPath) || !File.Exists(caKeyPath))
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=Federation KDS CA", caKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            using var ca = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
            SecureFile.WriteAllText(caKeyPath, caKey.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(caCertPath, ca.ExportCertificatePem() + "\n");
            File.Delete(Path.Combine(dataDir, ServerCertFile));
        }

        var serverCertPath = Path.Combine(dataDir, ServerCertFile);
        var serverKeyPath = Path.Combine(dataDir, ServerKeyFile);
        var names = new SortedSet<string>(StringComparer.Ordinal) { "localhost", "127.0.0.1", "::1", Dns.GetHostName() };
        names.UnionWith(extraNames.Where(n => n.Length > 0));
        if (File.Exists(serverCertPath) && File.Exists(serverKeyPath))
        {
            var existing = X509Certificate2.CreateFromPemFile(serverCertPath, serverKeyPath);
            if (existing.NotAfter.ToUniversalTime() > now.UtcDateTime.AddDays(30) && CoversNames(existing, names))
            {
                return existing;
            }
            existing.Dispose();
        }
        using var caCert = X509Certificate2.CreateFromPemFile(caCertPath, caKeyPath);
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=federation-global", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }
        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = serverRequest.Create(caCert, now.AddMinutes(-5), now.AddYears(1), serial);
        SecureFile.WriteAllText(serverKeyPath, serverKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(serverCertPath, issued.ExportCertificatePem() + "\n" + caCert.ExportCertificatePem() + "\n");
        return X509Certificate2.CreateFromPemFile(serverCertPath, serverKeyPath);
    }

    private static bool CoversNames(X509Certificate2 cert, IEnumerable<string> names)
    {
        var ext = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (ext is null)
        {
            return false;
        }
        var present = new HashSet<string>(ext.EnumerateDnsNames().Concat(ext.EnumerateIPAddresses().Select(i => i.ToString())), StringComparer.Ordinal);
        return names.All(present.Contains);
    }
}
