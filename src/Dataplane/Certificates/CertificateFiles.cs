using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Files;

namespace Federation.Dataplane.Certificates;

/// <summary>
/// The workload certificate, its key and the mesh CA as three PEM files in one directory, where a file-watching
/// certificate provider (gRPC's <c>file_watcher</c>) reads them.
/// </summary>
internal sealed class CertificateFiles(string directory)
{
    public const string CertificateFileName = "cert.pem";
    public const string PrivateKeyFileName = "key.pem";
    public const string CaFileName = "ca.pem";

    public string Directory { get; } = Path.GetFullPath(directory);

    public string CertificateFile => Path.Combine(Directory, CertificateFileName);

    public string PrivateKeyFile => Path.Combine(Directory, PrivateKeyFileName);

    public string CaFile => Path.Combine(Directory, CaFileName);

    /// <summary>Creates the directory (owner-only when fed-dp creates it).</summary>
    public void EnsureDirectory()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>
    /// Replaces the three files, each atomically. The CA goes first so a new chain is trusted before it is presented.
    /// A reader polling between the key and the certificate can pair an old one with a new one; it sees the matching
    /// pair on its next read (the renewal leaves 20 % of the lifetime, far longer than any refresh interval).
    /// </summary>
    public void Write(IssuedCertificate certificate)
    {
        EnsureDirectory();
        AtomicFile.Write(CaFile, certificate.CaCertificatePem, AtomicFile.Public);
        AtomicFile.Write(PrivateKeyFile, certificate.PrivateKeyPem, AtomicFile.Private);
        AtomicFile.Write(CertificateFile, certificate.CertificatePem, AtomicFile.Public);
    }
}
