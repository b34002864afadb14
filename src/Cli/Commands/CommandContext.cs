using System.CommandLine;
using Federation.Cli.Client;
using Federation.Cli.Config;

namespace Federation.Cli.Commands;

/// <summary>One invocation's view of the environment and the global options: config, target control plane, client.</summary>
internal sealed class CommandContext(CliEnvironment environment, GlobalOptions globals, ParseResult parse)
{
    /// <summary>Where fedctl looks when nothing is configured: the default API port on this machine.</summary>
    public const string DefaultAddress = "http://127.0.0.1:5681";

    public const string DefaultMesh = "default";

    public CliEnvironment Environment { get; } = environment;

    public TextWriter Out => Environment.Out;

    public ParseResult Parse { get; } = parse;

    public ConfigStore ConfigStore { get; } = new(
        parse.GetValue(globals.ConfigFile) is { Length: > 0 } file ? file : ConfigStore.DefaultPath(environment.GetVariable, environment.HomeDirectory));

    /// <summary>The token given on the command line, if any.</summary>
    public string? ExplicitToken => Parse.GetValue(globals.Token);

    /// <summary>
    /// <c>--api</c> if given (with the stored token of a control plane at that address, if one is), else the
    /// current control plane, else <see cref="DefaultAddress"/>. <c>--token</c> and <c>$FEDCTL_TOKEN</c> override the stored token.
    /// </summary>
    public ControlPlaneTarget ResolveTarget()
    {
        var overrideToken = ExplicitToken is { Length: > 0 } explicitToken
            ? explicitToken
            : Environment.GetVariable(CliEnvironment.TokenVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        if (Parse.GetValue(globals.Api) is { } api)
        {
            var target = ControlPlaneTarget.Create(api, overrideToken, "--api");
            var config = LoadQuietly();
            var stored = config.ControlPlanes.FirstOrDefault(c =>
                ControlPlaneTarget.TryNormalize(c.Address, out var address) && address == target.Address);
            return target with { Token = overrideToken ?? stored?.Token };
        }
        if (ConfigStore.Load().Current is { } current)
        {
            return ControlPlaneTarget.Create(current.Address, overrideToken ?? current.Token, $"control plane \"{current.Name}\" in {ConfigStore.Path}");
        }
        return ControlPlaneTarget.Create(DefaultAddress, overrideToken, "default");
    }

    public ControlPlaneClient CreateClient() => CreateClient(ResolveTarget());

    public ControlPlaneClient CreateClient(ControlPlaneTarget target) =>
        new(target, Environment.HttpHandler, Environment.HttpTimeout);

    /// <summary>
    /// The mesh a command addresses: for a mesh-scoped type, <c>-m</c>, else <c>default</c> when one resource is
    /// named (null when listing, meaning every mesh); a global-scoped type takes no mesh.
    /// </summary>
    public static string? ResolveMesh(ApiResourceType type, string? mesh, bool namesOneResource)
    {
        if (!type.IsMeshScoped)
        {
            return mesh is null ? null : throw new CliException($"{type.Name} is not mesh-scoped; drop --mesh");
        }
        return mesh ?? (namesOneResource ? DefaultMesh : null);
    }

    /// <summary>With <c>--api</c> the config only lends a stored token; a broken config file must not block that.</summary>
    private FedctlConfig LoadQuietly()
    {
        try
        {
            return ConfigStore.Load();
        }
        catch (CliException)
        {
            return FedctlConfig.Empty;
        }
    }
}
