using System.CommandLine;

namespace Federation.Hosting;

/// <summary>One command-line flag of a control-plane executable and the configuration key it sets.</summary>
public sealed record HostFlag(string Name, string ConfigKey, string Description, string? DefaultText = null);

/// <summary>
/// Parses a control plane's flags with System.CommandLine (so unknown flags and typos are errors and
/// <c>--help</c> works) and turns them into configuration overrides that win over appsettings and environment.
/// </summary>
public static class HostCommandLine
{
    /// <returns>The overrides, or null when the process should exit with <paramref name="exitCode"/> (help, or bad flags).</returns>
    public static Dictionary<string, string?>? Parse(string[] args, string description, IReadOnlyList<HostFlag> flags, out int exitCode)
    {
        var root = new RootCommand(description);
        var options = flags.Select(f =>
        {
            var o = new Option<string>(f.Name) { Description = f.DefaultText is null ? f.Description : $"{f.Description} [default: {f.DefaultText}]" };
            root.Options.Add(o);
            return (Flag: f, Option: o);
        }).ToList();
        Dictionary<string, string?>? result = null;
        root.SetAction(parse =>
        {
            result = [];
            foreach (var (flag, option) in options)
            {
                if (parse.GetResult(option) is { Implicit: false } && parse.GetValue(option) is { } value)
                {
                    result[flag.ConfigKey] = value;
                }
            }
            return 0;
        });
        exitCode = root.Parse(args).Invoke();
        return result;
    }
}
