using Federation.Dataplane.Files;
using Federation.Dataplane.Tests.Testing;

namespace Federation.Dataplane.Tests.Files;

public sealed class AtomicFileTests
{
    [Fact]
    public void Write_ReplacesTheContentAndLeavesNoTemporaryFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("cert.pem");
        File.WriteAllText(path, "old");

        AtomicFile.Write(path, "new", AtomicFile.Public);

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["cert.pem"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_Private_IsBornOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix file modes only
        }
        using var dir = new TempDirectory();
        var path = dir.File("key.pem");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, AtomicFile.Public);

        AtomicFile.Write(path, "secret", AtomicFile.Private);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task Write_WhileAReaderPolls_TheReaderSeesOnlyWholeVersions()
    {
        using var dir = new TempDirectory();
        var path = dir.File("ca.pem");
        var versions = new[] { new string('a', 256 * 1024), new string('b', 256 * 1024) };
        AtomicFile.Write(path, versions[0], AtomicFile.Public);
        using var stop = new CancellationTokenSource();
        var reads = 0;
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var text = File.ReadAllText(path);
                Assert.True(text == versions[0] || text == versions[1], $"a partial file of {text.Length} characters");
                Interlocked.Increment(ref reads);
            }
        }, TestContext.Current.CancellationToken);

        // Keep replacing the file until the reader has really raced the writer a number of times (on a busy
        // machine the reader may not get a core during the first writes).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        for (var i = 0; (i < 200 || Volatile.Read(ref reads) < 20) && DateTime.UtcNow < deadline; i++)
        {
            AtomicFile.Write(path, versions[i % 2], AtomicFile.Public);
        }
        await stop.CancelAsync();
        await reader.Within10s("the polling reader to stop");

        Assert.True(reads > 0);
    }

    [Fact]
    public void Write_IntoAMissingDirectory_ThrowsAndLeavesNothing()
    {
        using var dir = new TempDirectory();

        Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(dir.Path, "missing", "x.pem"), "x", AtomicFile.Public));

        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }
}
