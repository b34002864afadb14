using System.CommandLine;
using Federation.Serialization;

namespace Federation.Cli.Commands;

/// <summary><c>fedctl generate ...</c>: tokens issued by the control plane, printed alone so they can be redirected to a file.</summary>
internal static class GenerateCommands
{
    private const string DefaultValidity = "24h";

    public static Command Create(CliEnvironment environment, GlobalOptions globals)
    {
        var generate = new Command("generate", "Generate tokens");
        generate.Subcommands.Add(ZoneToken(environment, globals));
        generate.Subcommands.Add(DataplaneToken(environment, globals));
        return generate;
    }

    private static Command ZoneToken(CliEnvironment environment, GlobalOptions globals)
    {
        var zone = new Option<string>("--zone") { Description = "Zone the token is for", Required = true, HelpName = "ZONE" };
        var validFor = ValidForOption();
        var scope = new Option<string[]>("--scope")
        {
            Description = "Limit what the token may be used for (repeatable; default: all)",
            HelpName = "cp|ingress|egress",
            AllowMultipleArgumentsPerToken = true,
        };
        scope.AcceptOnlyFromAmong("cp", "ingress", "egress");
        var command = new Command("zone-token", "Generate a token a zone control plane (or its ingress/egress) presents to the global") { zone, validFor, scope };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            using var client = context.CreateClient();
            var token = await client.GenerateZoneTokenAsync(
                parse.GetRequiredValue(zone), parse.GetRequiredValue(validFor), [.. (parse.GetValue(scope) ?? []).Distinct(StringComparer.Ordinal)], cancellationToken);
            context.Out.WriteLine(token);
            return 0;
        });
        return command;
    }

    private static Command DataplaneToken(CliEnvironment environment, GlobalOptions globals)
    {
        var mesh = new Option<string>("--mesh", "-m") { Description = "Mesh of the dataplane", HelpName = "MESH", DefaultValueFactory = _ => CommandContext.DefaultMesh };
        var name = new Option<string>("--name") { Description = "Dataplane name", Required = true, HelpName = "NAME" };
        var validFor = ValidForOption();
        var command = new Command("dataplane-token", "Generate a token a data-plane proxy presents to its zone") { mesh, name, validFor };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            using var client = context.CreateClient();
            var token = await client.GenerateDataplaneTokenAsync(
                parse.GetRequiredValue(mesh), parse.GetRequiredValue(name), parse.GetRequiredValue(validFor), cancellationToken);
            context.Out.WriteLine(token);
            return 0;
        });
        return command;
    }

    private static Option<string> ValidForOption()
    {
        var validFor = new Option<string>("--valid-for") { Description = "Lifetime, e.g. 24h, 30m, 720h", HelpName = "DURATION", DefaultValueFactory = _ => DefaultValidity };
        validFor.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!GoDuration.TryParse(value, out var duration) || duration <= TimeSpan.Zero)
            {
                result.AddError($"--valid-for: '{value}' is not a positive duration (examples: 24h, 90m, 30s)");
            }
        });
        return validFor;
    }
}
