using System.CommandLine;
using System.Text.Json.Nodes;
using Federation.Cli.Client;
using Federation.Cli.Output;

namespace Federation.Cli.Commands;

/// <summary><c>fedctl get TYPE [NAME]</c>: one resource or a list (every page), as a table, YAML or JSON.</summary>
internal static class GetCommand
{
    public static Command Create(CliEnvironment environment, GlobalOptions globals)
    {
        var type = TypeArgument();
        var name = new Argument<string?>("NAME") { Description = "One resource to show; without it, list them", Arity = ArgumentArity.ZeroOrOne };
        var mesh = MeshOption("Mesh of a mesh-scoped type (default: 'default' with NAME, every mesh without)");
        var output = new Option<string>("--output", "-o")
        {
            Description = "Output format",
            HelpName = "table|yaml|json",
            DefaultValueFactory = _ => "table",
        };
        output.AcceptOnlyFromAmong("table", "yaml", "json");
        var size = new Option<int?>("--size") { Description = "Page size to ask the server for (every page is read)", HelpName = "N" };
        size.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is <= 0)
            {
                result.AddError("--size must be a positive number");
            }
        });
        var command = new Command("get", "Show resources: fedctl get meshes | dataplanes -m default | mtp allow-web -o yaml") { type, name, mesh, output, size };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            using var client = context.CreateClient();
            var resourceType = await ResourceTypeResolver.ResolveAsync(parse.GetRequiredValue(type), client, cancellationToken);
            var resourceName = parse.GetValue(name);
            var format = parse.GetRequiredValue(output);
            var now = environment.Time.GetUtcNow();
            var meshName = CommandContext.ResolveMesh(resourceType, parse.GetValue(mesh), namesOneResource: resourceName is not null);

            if (resourceName is not null)
            {
                var document = await client.GetAsync(new ResourceRef(resourceType, meshName, resourceName), cancellationToken);
                Print(context.Out, format, resourceType, [document], document, withMesh: false, now);
            }
            else
            {
                var list = await client.ListAsync(resourceType, meshName, parse.GetValue(size), cancellationToken);
                Print(context.Out, format, resourceType, list.Items, list.ToJson(), withMesh: resourceType.IsMeshScoped && meshName is null, now);
            }
            return 0;
        });
        return command;
    }

    internal static Argument<string> TypeArgument() => new("TYPE")
    {
        Description = "Resource type: plural, singular, type name or alias, any case (meshes, mesh, Mesh, mtp, ...)",
    };

    internal static Option<string?> MeshOption(string description) => new("--mesh", "-m") { Description = description, HelpName = "MESH" };

    private static void Print(TextWriter output, string format, ApiResourceType type, IReadOnlyList<JsonObject> items, JsonNode json, bool withMesh, DateTimeOffset now)
    {
        switch (format)
        {
            case "yaml":
                DocumentPrinter.WriteYaml(output, items);
                break;
            case "json":
                DocumentPrinter.WriteJson(output, json);
                break;
            default:
                var columns = ResourceColumns.For(type, withMesh, now);
                var rows = items.Select(item => (IReadOnlyList<string>)[.. columns.Select(c => c.Cell(item))]).ToList();
                TablePrinter.Write(output, [.. columns.Select(c => c.Header)], rows);
                break;
        }
    }
}
