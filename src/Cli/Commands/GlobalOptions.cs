using System.CommandLine;

namespace Federation.Cli.Commands;

/// <summary>Options every command accepts (declared once on the root, recursive).</summary>
internal sealed class GlobalOptions
{
    public Option<string?> Api { get; } = new("--api")
    {
        Description = "Talk to the API at this URL instead of the current control plane (e.g. a zone at http://127.0.0.1:15681)",
        HelpName = "URL",
        Recursive = true,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = $"Admin token to present; overrides the stored one and ${CliEnvironment.TokenVariable}",
        HelpName = "TOKEN",
        Recursive = true,
    };

    public Option<string?> ConfigFile { get; } = new("--config-file")
    {
        Description = "Config file to use (default: $FEDCTL_CONFIG or ~/.fedctl/config.yaml)",
        HelpName = "FILE",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Options.Add(Api);
        root.Options.Add(Token);
        root.Options.Add(ConfigFile);
    }
}
