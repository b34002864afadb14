using Federation.Cli.Config;

namespace Federation.Cli.Tests.Config;

public sealed class ConfigStoreTests
{
    [Fact]
    public void SaveThenLoad_RoundTripsAndReplacesLooseFileWithOwnerOnly()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fedctl-store-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var path = Path.Combine(directory, "config.yaml");
            File.WriteAllText(path, "");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            }
            var store = new ConfigStore(path);
            var config = FedctlConfig.Empty
                .WithControlPlane(new ControlPlaneEntry("a", "http://a:5681", "t-a"))
                .WithControlPlane(new ControlPlaneEntry("b", "http://b:5681", null));

            store.Save(config);

            Assert.Equal(config, store.Load());
            Assert.Equal("b", store.Load().CurrentControlPlane);
            Assert.Equal(["config.yaml"], Directory.GetFiles(directory).Select(Path.GetFileName));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void DefaultPath_PrefersVariableThenHome()
    {
        Assert.Equal("/x/c.yaml", ConfigStore.DefaultPath(_ => "/x/c.yaml", "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".fedctl", "config.yaml"), ConfigStore.DefaultPath(_ => null, "/home/u"));
    }

    [Fact]
    public void WithoutControlPlane_Current_FallsBackToNewestRemaining()
    {
        var config = FedctlConfig.Empty
            .WithControlPlane(new ControlPlaneEntry("a", "http://a", null))
            .WithControlPlane(new ControlPlaneEntry("b", "http://b", null))
            .WithControlPlane(new ControlPlaneEntry("c", "http://c", null));

        Assert.Equal("b", config.WithoutControlPlane("c").CurrentControlPlane);
        Assert.Equal("c", config.WithoutControlPlane("a").CurrentControlPlane);
        Assert.Null(FedctlConfig.Empty.WithControlPlane(new ControlPlaneEntry("a", "http://a", null)).WithoutControlPlane("a").CurrentControlPlane);
    }
}
