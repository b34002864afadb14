using Federation.Dataplane.Certificates;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Tests.Testing;

namespace Federation.Dataplane.Tests.Certificates;

public sealed class CertificateFilesTests
{
    [Fact]
    public void Write_CreatesTheDirectoryAndTheThreeFiles_KeyOwnerOnly()
    {
        using var dir = new TempDirectory();
        var files = new CertificateFiles(Path.Combine(dir.Path, "certs"));
        var now = DateTimeOffset.UnixEpoch;

        files.Write(new IssuedCertificate("CERT", "KEY", "CA", now, now.AddHours(24), now.AddHours(19)));

        Assert.Equal("CERT", File.ReadAllText(files.CertificateFile));
        Assert.Equal("KEY", File.ReadAllText(files.PrivateKeyFile));
        Assert.Equal("CA", File.ReadAllText(files.CaFile));
        Assert.Equal(["ca.pem", "cert.pem", "key.pem"], Directory.GetFiles(files.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.PrivateKeyFile));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(files.Directory));
        }
    }
}
