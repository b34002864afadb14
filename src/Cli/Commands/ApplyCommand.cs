using System.CommandLine;
using System.Text.Json.Nodes;
using Federation.Cli.Client;
using Federation.Resources;
using Federation.Serialization;
using Federation.Validation;

namespace Federation.Cli.Commands;

/// <summary>
/// <c>fedctl apply -f FILE</c>: validates every document locally first (nothing is sent if any is invalid),
/// then PUTs them in order, Meshes first so one file can create a mesh and what lives in it.
/// </summary>
internal static class ApplyCommand
{
    private const string Stdin = "-";

    /// <summary>A document that passed local validation, with where it came from.</summary>
    private sealed record Manifest(ResourceRef Ref, JsonObject Document);

    public static Command Create(CliEnvironment environment, GlobalOptions globals)
    {
        var files = new Option<string[]>("--file", "-f")
        {
            Description = "YAML or JSON file with one or more resources ('-' reads standard input); may be repeated",
            HelpName = "FILE",
            Required = true,
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Let the server validate everything, write nothing" };
        var command = new Command("apply", "Create or update resources from YAML/JSON manifests") { files, dryRun };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            var sources = parse.GetRequiredValue(files);
            var manifests = Load(sources, environment.In);
            var isDryRun = parse.GetValue(dryRun);

            using var client = context.CreateClient();
            foreach (var manifest in manifests.OrderBy(m => m.Ref.Type.Name == ResourceTypes.Mesh.Name ? 0 : 1))
            {
                PutResult result;
                try
                {
                    result = await client.PutAsync(manifest.Ref, manifest.Document, isDryRun, cancellationToken);
                }
                catch (ControlPlaneException e) when (e.StatusCode is not (null or 401 or 403) && !e.Message.Contains($"\"{manifest.Ref.Name}\"", StringComparison.Ordinal))
                {
                    // Say which resource failed when the server's message does not.
                    throw new ControlPlaneException($"{manifest.Ref}: {e.Message}", e.StatusCode, e);
                }
                var outcome = isDryRun ? "valid (dry run)" : result.Created ? "created" : "updated";
                context.Out.WriteLine($"{manifest.Ref} {outcome}");
            }
            return 0;
        });
        return command;
    }

    /// <summary>Reads and validates every document of every source; throws one error listing every problem found.</summary>
    private static List<Manifest> Load(IReadOnlyList<string> sources, TextReader stdin)
    {
        var manifests = new List<Manifest>();
        var problems = new List<string>();
        var stdinRead = false;
        foreach (var source in sources)
        {
            var name = source == Stdin ? "stdin" : source;
            string text;
            if (source == Stdin)
            {
                if (stdinRead)
                {
                    throw new CliException("'-f -' given twice: standard input can be read only once");
                }
                stdinRead = true;
                text = stdin.ReadToEnd();
            }
            else if (Directory.Exists(source))
            {
                throw new CliException($"cannot read {source}: it is a directory (give files, one -f each)");
            }
            else
            {
                try
                {
                    text = File.ReadAllText(source);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new CliException($"cannot read {source}: {FileErrors.Describe(e)}", e);
                }
            }

            IReadOnlyList<JsonNode?> documents;
            try
            {
                documents = YamlJson.ParseJsonOrYaml(text);
            }
            catch (DocumentFormatException e)
            {
                throw new CliException($"{name}: {e.Message}", e);
            }
            for (var i = 0; i < documents.Count; i++)
            {
                var where = $"{name} document {i + 1}{Describe(documents[i])}";
                try
                {
                    var parsed = ResourceDocument.Parse(documents[i]).Resource;
                    var type = ApiResourceType.From(parsed.Descriptor);
                    manifests.Add(new Manifest(new ResourceRef(type, type.IsMeshScoped ? parsed.Mesh : null, parsed.Name), (JsonObject)documents[i]!));
                }
                catch (ValidationException e)
                {
                    problems.AddRange(e.Errors.Select(error => $"{where}: {error}"));
                }
            }
        }
        if (problems.Count > 0)
        {
            throw new CliException($"nothing applied, invalid manifests: {string.Join("; ", problems)}");
        }
        if (manifests.Count == 0)
        {
            throw new CliException($"no resources found in {string.Join(", ", sources.Select(s => s == Stdin ? "stdin" : s))}");
        }
        return manifests;
    }

    /// <summary><c> (MeshTrafficPermission "x")</c> when the document says that much, so errors point at it.</summary>
    private static string Describe(JsonNode? document)
    {
        if (ResourceDocument.TypeOf(document) is not { } type)
        {
            return "";
        }
        return document!["name"] is JsonValue v && v.TryGetValue<string>(out var name) ? $" ({type} \"{name}\")" : $" ({type})";
    }
}
