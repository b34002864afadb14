using Federation.Dataplane.Processes;

namespace Federation.Dataplane.Commands;

/// <summary>Everything fed-dp takes from its surroundings, so tests can run the real command in-process.</summary>
internal sealed record DataplaneEnvironment
{
    /// <summary>Log lines and the failure line.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Help and version.</summary>
    public required TextWriter Out { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Null: real sockets. Tests pass a fake zone.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    public TimeSpan HttpTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public IApplicationLauncher Launcher { get; init; } = new ApplicationLauncher();

    /// <summary>Called with a zone proxy's counters when it starts (tests await its connections through them).</summary>
    public Action<ZoneProxy.Stats.ZoneProxyStats>? ZoneProxyStarted { get; init; }

    /// <summary>Whether SIGINT/SIGTERM stop fed-dp gracefully (the process does; in-process tests cancel instead).</summary>
    public bool HandleSignals { get; init; }

    public static DataplaneEnvironment FromProcess() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        HandleSignals = true,
    };
}
