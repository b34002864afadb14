using System.Text.Json.Nodes;
using Federation.Dataplane.Commands;
using Federation.Serialization;

namespace Federation.Dataplane.Tests.Commands;

/// <summary>
/// The fed-dp containers in deploy/kubernetes pass a command line fed-dp's own parser accepts, for the type they run,
/// and listen where their container ports, probes and Services say.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Federation.sln")))
            {
                return Path.Combine(dir.FullName, "deploy", "kubernetes");
            }
        }
        throw new DirectoryNotFoundException("Federation.sln not found above the test directory");
    }

    public static TheoryData<string, string> FedDpContainers()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in Directory.GetFiles(Root, "*.yaml", SearchOption.AllDirectories).Where(f => !f.EndsWith("kustomization.yaml", StringComparison.Ordinal)))
        {
            foreach (var container in Containers(file).Where(c => c["command"]?.AsArray().FirstOrDefault()?.GetValue<string>() == "fed-dp"))
            {
                data.Add(Path.GetRelativePath(Root, file), container["name"]!.GetValue<string>());
            }
        }
        return data;
    }

    private static IEnumerable<JsonObject> Containers(string file) =>
        YamlJson.ParseDocuments(File.ReadAllText(file)).OfType<JsonObject>()
            .Where(d => d["kind"]?.GetValue<string>() == "Deployment")
            .SelectMany(d => d["spec"]!["template"]!["spec"]!["containers"]!.AsArray().OfType<JsonObject>());

    [Fact]
    public void Manifests_RunAnIngressUnderFedDp() =>
        Assert.Contains(FedDpContainers(), row => row.Data.Item2 == "ingress");

    [Theory]
    [MemberData(nameof(FedDpContainers))]
    public async Task Container_CommandLine_ParsesToTheSettingsItsPortsDeclare(string file, string name)
    {
        var container = Containers(Path.Combine(Root, file)).Single(c => c["name"]!.GetValue<string>() == name);
        string[] commandLine =
        [
            .. container["command"]!.AsArray().Skip(1).Select(a => a!.GetValue<string>()),
            .. container["args"]?.AsArray().Select(a => a!.GetValue<string>()) ?? [],
        ];
        RunSettings? settings = null;
        var parse = FedDp.Build((s, _) =>
        {
            settings = s;
            return Task.FromResult(0);
        }).Parse(commandLine);

        Assert.True(parse.Errors.Count == 0, $"{file} {name}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        Assert.Equal(0, await parse.InvokeAsync(cancellationToken: TestContext.Current.CancellationToken));
        Assert.NotNull(settings);
        Assert.Equal(name, settings.Type);
        var ports = container["ports"]!.AsArray().OfType<JsonObject>().Select(p => (int)p["containerPort"]!.GetValue<long>()).ToList();
        Assert.Contains(settings.Port ?? (settings.Type == "ingress" ? 10001 : 10002), ports);
    }
}
