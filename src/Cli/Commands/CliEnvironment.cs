namespace Federation.Cli.Commands;

/// <summary>
/// Everything fedctl takes from its surroundings, so tests can run the real command tree in-process with
/// their own writers, environment, config location and HTTP handler.
/// </summary>
internal sealed record CliEnvironment
{
    public const string TokenVariable = "FEDCTL_TOKEN";
    public const string DebugVariable = "FEDCTL_DEBUG";

    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Standard input, read by <c>apply -f -</c>.</summary>
    public required TextReader In { get; init; }

    public Func<string, string?> GetVariable { get; init; } = Environment.GetEnvironmentVariable;

    public string HomeDirectory { get; init; } = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>Null: real sockets. Tests pass a fake control plane.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    public TimeSpan HttpTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Whether Ctrl-C cancels the running command gracefully (the process does; in-process tests do not hook signals).</summary>
    public bool HandleProcessTermination { get; init; }

    public bool Debug => GetVariable(DebugVariable) is "1" or "true";

    public static CliEnvironment FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        In = Console.In,
        HandleProcessTermination = true,
    };
}
