using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Federation.Cli.Client;

namespace Federation.Cli.Commands;

/// <summary>The fedctl command tree and the one place where failures become an <c>Error: ...</c> line and an exit code.</summary>
internal static class Fedctl
{
    public const int ExitError = 1;
    public const int ExitUsage = 2;
    public const int ExitCancelled = 130;

    public static RootCommand Build(CliEnvironment environment)
    {
        var globals = new GlobalOptions();
        var root = new RootCommand("fedctl manages a Federation multi-zone control plane (global or zone) through its HTTP API.");
        globals.AddTo(root);
        root.Subcommands.Add(ConfigCommands.Create(environment, globals));
        root.Subcommands.Add(ApplyCommand.Create(environment, globals));
        root.Subcommands.Add(GetCommand.Create(environment, globals));
        root.Subcommands.Add(DeleteCommand.Create(environment, globals));
        root.Subcommands.Add(GenerateCommands.Create(environment, globals));
        root.Subcommands.Add(InspectCommands.Create(environment, globals));
        root.Subcommands.Add(RevokeCommands.Create(environment, globals));
        return root;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, CliEnvironment environment, CancellationToken cancellationToken = default)
    {
        // No @response-file expansion: an argument starting with '@' is just an argument.
        var parse = Build(environment).Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Action is ParseErrorAction)
        {
            var errors = string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')));
            environment.Error.WriteLine($"Error: {Problems.OneLine(errors)} (see '{CommandPath(parse)} --help')");
            return ExitUsage;
        }
        var invocation = new InvocationConfiguration
        {
            Output = environment.Out,
            Error = environment.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = environment.HandleProcessTermination ? TimeSpan.FromSeconds(2) : null,
        };
        try
        {
            return await parse.InvokeAsync(invocation, cancellationToken);
        }
        catch (Exception e)
        {
            return Fail(environment, e, cancellationToken);
        }
    }

    private static int Fail(CliEnvironment environment, Exception e, CancellationToken cancellationToken)
    {
        var (message, code) = e switch
        {
            CliException or ControlPlaneException => (e.Message, ExitError),
            OperationCanceledException when cancellationToken.IsCancellationRequested => ("cancelled", ExitCancelled),
            _ => ($"unexpected failure: {e.GetType().Name}: {e.Message}", ExitError),
        };
        environment.Error.WriteLine($"Error: {Problems.OneLine(message)}");
        if (environment.Debug)
        {
            environment.Error.WriteLine(e.ToString());
        }
        return code;
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var result = parse.CommandResult; result.Parent is CommandResult parent; result = parent)
        {
            names.Insert(0, result.Command.Name);
        }
        return string.Join(' ', names.Prepend("fedctl"));
    }
}
