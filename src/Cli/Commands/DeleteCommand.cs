using System.CommandLine;
using Federation.Cli.Client;

namespace Federation.Cli.Commands;

/// <summary><c>fedctl delete TYPE NAME [-m MESH]</c>.</summary>
internal static class DeleteCommand
{
    public static Command Create(CliEnvironment environment, GlobalOptions globals)
    {
        var type = GetCommand.TypeArgument();
        var name = new Argument<string>("NAME") { Description = "The resource to delete" };
        var mesh = GetCommand.MeshOption("Mesh of a mesh-scoped type (default: 'default')");
        var command = new Command("delete", "Delete a resource") { type, name, mesh };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            using var client = context.CreateClient();
            var resourceType = await ResourceTypeResolver.ResolveAsync(parse.GetRequiredValue(type), client, cancellationToken);
            var meshName = CommandContext.ResolveMesh(resourceType, parse.GetValue(mesh), namesOneResource: true);
            var resource = new ResourceRef(resourceType, meshName, parse.GetRequiredValue(name));
            await client.DeleteAsync(resource, cancellationToken);
            context.Out.WriteLine($"deleted {resource}");
            return 0;
        });
        return command;
    }
}
