using System.CommandLine;
using System.Text.Json;
using Federation.Cli.Client;
using Federation.Cli.Config;
using Federation.Cli.Output;

namespace Federation.Cli.Commands;

/// <summary><c>fedctl config ...</c>: the control planes fedctl knows and which one it talks to.</summary>
internal static class ConfigCommands
{
    public static Command Create(CliEnvironment environment, GlobalOptions globals)
    {
        var planes = new Command("control-planes", "Manage the control planes fedctl knows");
        planes.Subcommands.Add(Add(environment, globals));
        planes.Subcommands.Add(List(environment, globals));
        planes.Subcommands.Add(Use(environment, globals));
        planes.Subcommands.Add(Remove(environment, globals));

        var config = new Command("config", "Manage fedctl's configuration");
        config.Subcommands.Add(planes);
        config.Subcommands.Add(View(environment, globals));
        return config;
    }

    private static Command Add(CliEnvironment environment, GlobalOptions globals)
    {
        var name = new Option<string>("--name") { Description = "Name for this control plane", Required = true, HelpName = "NAME" };
        var address = new Option<string>("--address") { Description = "Its API URL, e.g. http://127.0.0.1:5681", Required = true, HelpName = "URL" };
        var tokenFile = new Option<FileInfo?>("--token-file") { Description = "File holding the admin token (its contents are stored; or give --token)", HelpName = "FILE" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace a control plane of the same name" };
        var skipVerify = new Option<bool>("--skip-verify") { Description = "Save without checking that the address answers" };
        var command = new Command("add", "Add a control plane and make it the current one") { name, address, tokenFile, overwrite, skipVerify };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CommandContext(environment, globals, parse);
            var planeName = parse.GetRequiredValue(name).Trim();
            if (planeName.Length == 0 || planeName.Any(char.IsWhiteSpace))
            {
                throw new CliException($"invalid --name \"{planeName}\": use a name without spaces, e.g. global");
            }
            var token = ReadToken(context.ExplicitToken, parse.GetValue(tokenFile));
            var url = parse.GetRequiredValue(address).Trim().TrimEnd('/');
            var target = ControlPlaneTarget.Create(url, token, "--address");

            var store = context.ConfigStore;
            var config = store.Load();
            if (config.Find(planeName) is not null && !parse.GetValue(overwrite))
            {
                throw new CliException($"control plane \"{planeName}\" already exists in {store.Path}; use --overwrite to replace it");
            }
            var description = "";
            if (!parse.GetValue(skipVerify))
            {
                description = await VerifyAsync(context, target, cancellationToken);
            }
            store.Save(config.WithControlPlane(new ControlPlaneEntry(planeName, url, token)));
            context.Out.WriteLine($"added control plane \"{planeName}\" at {url}{description}; it is now the current one");
            return 0;
        });
        return command;
    }

    private static Command List(CliEnvironment environment, GlobalOptions globals)
    {
        var command = new Command("list", "List the control planes fedctl knows (* marks the current one)");
        command.SetAction(parse =>
        {
            var context = new CommandContext(environment, globals, parse);
            var config = context.ConfigStore.Load();
            var rows = config.ControlPlanes
                .Select(c => (IReadOnlyList<string>)[c.Name, c.Address, c.Name == config.CurrentControlPlane ? "*" : ""])
                .ToList();
            TablePrinter.Write(context.Out, ["NAME", "ADDRESS", "ACTIVE"], rows);
            return 0;
        });
        return command;
    }

    private static Command Use(CliEnvironment environment, GlobalOptions globals)
    {
        var name = new Argument<string>("NAME") { Description = "The control plane to talk to from now on" };
        var command = new Command("use", "Make a control plane the current one") { name };
        command.SetAction(parse =>
        {
            var context = new CommandContext(environment, globals, parse);
            var config = context.ConfigStore.Load();
            var entry = config.Find(parse.GetRequiredValue(name)) ?? throw NotFound(parse.GetRequiredValue(name), config);
            context.ConfigStore.Save(config.WithControlPlane(entry));
            context.Out.WriteLine($"switched to control plane \"{entry.Name}\" ({entry.Address})");
            return 0;
        });
        return command;
    }

    private static Command Remove(CliEnvironment environment, GlobalOptions globals)
    {
        var name = new Argument<string>("NAME") { Description = "The control plane to forget" };
        var command = new Command("remove", "Forget a control plane (and its stored token)") { name };
        command.SetAction(parse =>
        {
            var context = new CommandContext(environment, globals, parse);
            var config = context.ConfigStore.Load();
            var entry = config.Find(parse.GetRequiredValue(name)) ?? throw NotFound(parse.GetRequiredValue(name), config);
            var updated = config.WithoutControlPlane(entry.Name);
            context.ConfigStore.Save(updated);
            var current = updated.CurrentControlPlane is { } now && now != config.CurrentControlPlane
                ? $"; the current one is now \"{now}\""
                : updated.CurrentControlPlane is null ? "; no control plane is current" : "";
            context.Out.WriteLine($"removed control plane \"{entry.Name}\"{current}");
            return 0;
        });
        return command;
    }

    private static Command View(CliEnvironment environment, GlobalOptions globals)
    {
        var raw = new Option<bool>("--raw") { Description = "Show tokens instead of REDACTED" };
        var command = new Command("view", "Print the config file (tokens redacted unless --raw)") { raw };
        command.SetAction(parse =>
        {
            var context = new CommandContext(environment, globals, parse);
            context.Out.Write(ConfigStore.Render(context.ConfigStore.Load(), redactTokens: !parse.GetValue(raw)));
            return 0;
        });
        return command;
    }

    private static string? ReadToken(string? token, FileInfo? tokenFile)
    {
        if (tokenFile is null)
        {
            return string.IsNullOrWhiteSpace(token) ? null : token.Trim();
        }
        if (token is not null)
        {
            throw new CliException("give either --token or --token-file, not both");
        }
        string text;
        try
        {
            text = File.ReadAllText(tokenFile.FullName).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the token file {tokenFile}: {FileErrors.Describe(e)}", e);
        }
        return text.Length > 0 ? text : throw new CliException($"the token file {tokenFile} is empty");
    }

    /// <summary>Checks the address answers <c>GET /</c> as a Federation control plane; returns how to describe it.</summary>
    private static async Task<string> VerifyAsync(CommandContext context, ControlPlaneTarget target, CancellationToken cancellationToken)
    {
        using var client = context.CreateClient(target);
        var index = await client.GetIndexAsync(cancellationToken);
        if (Text(index, "product") != "Federation")
        {
            throw new CliException($"{target.Display} answered, but not as a Federation control plane (GET / has no \"product\": \"Federation\"); use --skip-verify to save it anyway");
        }
        var mode = Text(index, "mode") ?? "unknown mode";
        var zone = Text(index, "zone") is { } z ? $" \"{z}\"" : "";
        var version = Text(index, "version") is { } v ? $", version {v}" : "";
        return $" ({mode}{zone}{version})";
    }

    private static CliException NotFound(string name, FedctlConfig config) =>
        new(config.ControlPlanes.IsEmpty
            ? $"no control plane named \"{name}\"; none are configured (add one with 'fedctl config control-planes add')"
            : $"no control plane named \"{name}\"; known: {string.Join(", ", config.ControlPlanes.Select(c => c.Name))}");

    private static string? Text(System.Text.Json.Nodes.JsonObject obj, string field) =>
        obj[field] is System.Text.Json.Nodes.JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
