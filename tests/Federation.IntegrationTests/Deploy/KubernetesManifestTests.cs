using System.Text.Json.Nodes;
using Federation.Global;
using Federation.Hosting;
using Federation.Serialization;
using Federation.Zone;

namespace Federation.IntegrationTests.Deploy;

/// <summary>
/// No cluster runs here, so the Kubernetes manifests are checked for what can go wrong without one: every document
/// is well-formed and names its kind; every container flag is one the executable accepts; ports referred to by
/// probes and Services exist on the containers; Secrets and claims the pods mount are named consistently.
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

    public static TheoryData<string> Manifests() =>
        [.. Directory.GetFiles(Root, "*.yaml", SearchOption.AllDirectories).Where(f => !f.EndsWith("kustomization.yaml", StringComparison.Ordinal)).Select(f => Path.GetRelativePath(Root, f))];

    private static IReadOnlyList<JsonObject> Load(string file) =>
        [.. YamlJson.ParseDocuments(File.ReadAllText(Path.Combine(Root, file))).Select(d => Assert.IsType<JsonObject>(d))];

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Manifest_EveryDocument_HasApiVersionKindAndName(string file)
    {
        foreach (var doc in Load(file))
        {
            Assert.False(string.IsNullOrEmpty(doc["apiVersion"]?.GetValue<string>()), $"{file}: a document without apiVersion");
            Assert.False(string.IsNullOrEmpty(doc["kind"]?.GetValue<string>()), $"{file}: a document without kind");
            Assert.False(string.IsNullOrEmpty(doc["metadata"]?["name"]?.GetValue<string>()), $"{file}: a {doc["kind"]} without metadata.name");
        }
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Manifest_Containers_UseOnlyFlagsTheExecutablesAccept(string file)
    {
        foreach (var (container, command, args) in Containers(file))
        {
            IReadOnlyList<HostFlag>? flags = command switch
            {
                "federation-global" => GlobalOptions.Flags,
                "federation-zone" => ZoneOptions.Flags,
                _ => null,
            };
            if (flags is null)
            {
                continue;
            }
            foreach (var arg in args)
            {
                var name = arg.Split('=')[0];
                Assert.True(flags.Any(f => f.Name == name), $"{file}: container {container} passes {name}, which {command} does not accept");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Manifest_ProbesAndServices_ReferToDeclaredPorts(string file)
    {
        var docs = Load(file);
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var doc in docs.Where(d => d["kind"]?.GetValue<string>() == "Deployment"))
        {
            foreach (var container in doc["spec"]!["template"]!["spec"]!["containers"]!.AsArray().OfType<JsonObject>())
            {
                foreach (var port in container["ports"]?.AsArray().OfType<JsonObject>() ?? [])
                {
                    declared.Add(port["name"]!.GetValue<string>());
                }
                foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
                {
                    var port = container[probe]?["httpGet"]?["port"] ?? container[probe]?["tcpSocket"]?["port"];
                    if (port is JsonValue v && v.TryGetValue<string>(out var named))
                    {
                        Assert.Contains(named, declared);
                    }
                }
            }
        }
        foreach (var service in docs.Where(d => d["kind"]?.GetValue<string>() == "Service"))
        {
            foreach (var port in service["spec"]!["ports"]!.AsArray().OfType<JsonObject>())
            {
                if (port["targetPort"] is JsonValue v && v.TryGetValue<string>(out var named) && declared.Count > 0)
                {
                    Assert.True(declared.Contains(named), $"{file}: Service {service["metadata"]!["name"]} targets port '{named}', which no container declares");
                }
            }
        }
    }

    [Fact]
    public void Kustomizations_ListOnlyFilesThatExist()
    {
        foreach (var kustomization in Directory.GetFiles(Root, "kustomization.yaml", SearchOption.AllDirectories))
        {
            var doc = Assert.IsType<JsonObject>(YamlJson.ParseDocuments(File.ReadAllText(kustomization)).Single());
            foreach (var resource in doc["resources"]!.AsArray())
            {
                var path = Path.Combine(Path.GetDirectoryName(kustomization)!, resource!.GetValue<string>());
                Assert.True(File.Exists(path), $"{kustomization} lists {resource}, which does not exist");
            }
        }
    }

    private static IEnumerable<(string Name, string Command, IReadOnlyList<string> Args)> Containers(string file)
    {
        foreach (var doc in Load(file).Where(d => d["kind"]?.GetValue<string>() == "Deployment"))
        {
            foreach (var container in doc["spec"]!["template"]!["spec"]!["containers"]!.AsArray().OfType<JsonObject>())
            {
                var command = container["command"]?.AsArray().FirstOrDefault()?.GetValue<string>() ?? "";
                var args = container["args"]?.AsArray().Select(a => a!.GetValue<string>()).ToList() ?? [];
                yield return (container["name"]!.GetValue<string>(), command, args);
            }
        }
    }
}
