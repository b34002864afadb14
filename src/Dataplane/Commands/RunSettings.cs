using Federation.Dataplane.Processes;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.Commands;

/// <summary>The options of <c>fed-dp run</c>, parsed; each data-plane type takes what it needs and checks the rest.</summary>
internal sealed record RunSettings
{
    public required string Type { get; init; }

    public required Uri ControlPlane { get; init; }

    /// <summary>proxyless: the Dataplane file (required for that type, refused for the others).</summary>
    public string? DataplaneFile { get; init; }

    public required string TokenFile { get; init; }

    public string? BootstrapOut { get; init; }

    public string? CertsDir { get; init; }

    public string? XdsAddress { get; init; }

    public ApplicationCommand? Application { get; init; }

    public TimeSpan RegistrationInterval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>ingress/egress: the ZoneIngress/ZoneEgress name.</summary>
    public string? Name { get; init; }

    /// <summary>ingress/egress: the address registered (and listened on, unless the zone's Listener says otherwise).</summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>ingress/egress: null for the type's default port.</summary>
    public int? Port { get; init; }

    /// <summary>ingress: where other zones reach it; null: <see cref="Address"/>.</summary>
    public string? AdvertisedAddress { get; init; }

    public int? AdvertisedPort { get; init; }

    /// <summary>ingress/egress: loopback port of the admin endpoint; 0: none.</summary>
    public int AdminPort { get; init; }
}

/// <summary>One kind of data plane fed-dp can run (<c>--type</c>).</summary>
internal interface IDataplaneType
{
    string Name { get; }

    /// <summary>Runs until stopped; returns fed-dp's exit code. Throws <see cref="DataplaneException"/> (one line) on failure.</summary>
    Task<int> RunAsync(RunSettings settings, DataplaneEnvironment environment, ILoggerFactory loggers, CancellationToken stop);
}
