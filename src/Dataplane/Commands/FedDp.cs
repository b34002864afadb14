using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Logging;
using Federation.Dataplane.Processes;
using Federation.Dataplane.Proxyless;
using Federation.Dataplane.ZoneProxy;
using Federation.Serialization;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.Commands;

/// <summary>The fed-dp command tree and the one place where failures become a <c>fed-dp: ...</c> line and an exit code.</summary>
internal static class FedDp
{
    public const int ExitError = 1;
    public const int ExitUsage = 2;

    /// <summary>Every data-plane type <c>--type</c> accepts, implemented or not.</summary>
    public static readonly IReadOnlyList<string> KnownTypes = ["proxyless", "ingress", "egress"];

    /// <summary>The types this build runs; the others are refused at the command line.</summary>
    public static readonly IReadOnlyDictionary<string, IDataplaneType> ImplementedTypes =
        new IDataplaneType[] { new ProxylessType(), new ZoneProxyType(ZoneProxyKind.Ingress), new ZoneProxyType(ZoneProxyKind.Egress) }.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public static RootCommand Build(Func<RunSettings, CancellationToken, Task<int>> run)
    {
        var root = new RootCommand("fed-dp: the Federation data-plane agent. Registers a data-plane proxy with its zone control plane and keeps it configured.");
        root.Subcommands.Add(RunCommand(run));
        return root;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, DataplaneEnvironment environment, CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var signals = environment.HandleSignals ? new SignalHandlers(stop) : null;
        using var loggers = LoggerFactory.Create(b => b
            .ClearProviders()
            .SetMinimumLevel(LogLevel.Information)
            .AddProvider(new LineLoggerProvider(environment.Error, environment.Time, LogLevel.Information)));

        var parse = Build((settings, ct) => RunTypeAsync(settings, environment, loggers, ct))
            .Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Action is ParseErrorAction)
        {
            var errors = string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.')));
            environment.Error.WriteLine($"fed-dp: {ZoneApiClient.OneLine(errors)} (see 'fed-dp run --help')");
            return ExitUsage;
        }
        var invocation = new InvocationConfiguration
        {
            Output = environment.Out,
            Error = environment.Error,
            EnableDefaultExceptionHandler = false,
            // fed-dp handles SIGINT/SIGTERM itself: it must stop the application and unregister before exiting.
            ProcessTerminationTimeout = null,
        };
        try
        {
            return await parse.InvokeAsync(invocation, stop.Token);
        }
        catch (Exception e) when (e is DataplaneException or ZoneApiException)
        {
            environment.Error.WriteLine($"fed-dp: {ZoneApiClient.OneLine(e.Message)}");
            return ExitError;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            environment.Error.WriteLine("fed-dp: stopped before the data plane was ready");
            return ExitError;
        }
        catch (Exception e)
        {
            environment.Error.WriteLine($"fed-dp: unexpected failure: {e.GetType().Name}: {ZoneApiClient.OneLine(e.Message)}");
            return ExitError;
        }
    }

    private static Task<int> RunTypeAsync(RunSettings settings, DataplaneEnvironment environment, ILoggerFactory loggers, CancellationToken stop) =>
        ImplementedTypes.TryGetValue(settings.Type, out var type)
            ? type.RunAsync(settings, environment, loggers, stop)
            : throw new DataplaneException($"--type {settings.Type} is not implemented yet in this build (implemented: {string.Join(", ", ImplementedTypes.Keys)})");

    private static Command RunCommand(Func<RunSettings, CancellationToken, Task<int>> run)
    {
        var type = new Option<string>("--type") { Description = "What runs: a proxyless gRPC application, or this zone's ingress or egress proxy", HelpName = string.Join('|', KnownTypes), Required = true };
        type.AcceptOnlyFromAmong([.. KnownTypes]);
        var cp = new Option<string>("--cp") { Description = "The zone control plane's API", HelpName = "URL", DefaultValueFactory = _ => "http://127.0.0.1:5681" };
        var tokenFile = new Option<string>("--token-file")
        {
            Description = "proxyless: the Dataplane's token (fedctl generate dataplane-token); ingress/egress: a zone token of that scope (fedctl generate zone-token --zone Z --scope ingress|egress)",
            HelpName = "FILE",
            Required = true,
        };
        var dataplane = new Option<string?>("--dataplane") { Description = "proxyless: the Dataplane to register (Kuma universal YAML or JSON)", HelpName = "FILE" };
        var bootstrapOut = new Option<string?>("--bootstrap-out") { Description = "proxyless: where to write the gRPC xDS bootstrap (GRPC_XDS_BOOTSTRAP)", HelpName = "FILE" };
        var certsDir = new Option<string?>("--certs-dir") { Description = "proxyless: where to write cert.pem, key.pem and ca.pem", HelpName = "DIR" };
        var name = new Option<string?>("--name") { Description = "ingress/egress: the ZoneIngress/ZoneEgress to register (also its xDS node id)", HelpName = "NAME" };
        var address = new Option<string>("--address") { Description = "ingress/egress: the address to listen on (registered; the zone's Listener has the last word)", HelpName = "IP", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int?>("--port") { Description = "ingress/egress: the port to listen on (default: ingress 10001, egress 10002)", HelpName = "PORT" };
        var advertisedAddress = new Option<string?>("--advertised-address") { Description = "ingress: the address other zones reach it at (default: --address)", HelpName = "IP" };
        var advertisedPort = new Option<int?>("--advertised-port") { Description = "ingress: the port other zones reach it at (default: --port)", HelpName = "PORT" };
        var adminPort = new Option<int>("--admin-port") { Description = "ingress/egress: loopback port serving GET /stats, /ready and /metrics (0: off)", HelpName = "PORT", DefaultValueFactory = _ => 0 };
        var xdsAddress = new Option<string?>("--xds-address") { Description = "The xDS server to dial (default: what the zone reports at /status/xds)", HelpName = "HOST:PORT" };
        var registrationInterval = DurationOption("--registration-interval", "How often to make sure the zone still has the Dataplane/ZoneIngress/ZoneEgress (it is registered again if the zone lost it)", "10s");
        var startupTimeout = DurationOption("--startup-timeout", "How long start-up retries a zone that is unreachable or not ready", "30s");
        var stopTimeout = DurationOption("--stop-timeout", "proxyless: how long the application may take to exit after SIGTERM before it is killed; ingress/egress: how long established connections may drain", "10s");
        var command = new Argument<string[]>("command")
        {
            Description = "proxyless: the application to run after '--', with its arguments; it gets GRPC_XDS_BOOTSTRAP in its environment",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var runCommand = new Command("run", "Run a data-plane proxy: a proxyless application with its registration, bootstrap and certificates, or a zone ingress/egress configured over xDS")
        {
            type, cp, tokenFile, dataplane, bootstrapOut, certsDir, name, address, port, advertisedAddress, advertisedPort, adminPort,
            xdsAddress, registrationInterval, startupTimeout, stopTimeout, command,
        };
        runCommand.Validators.Add(result =>
        {
            var kind = result.GetValue(type);
            bool Given(Option option) => result.GetResult(option) is { Implicit: false };
            void OnlyFor(Option option, string types)
            {
                if (Given(option))
                {
                    result.AddError($"{option.Name} is for --type {types}, not {kind}");
                }
            }
            switch (kind)
            {
                case "proxyless":
                    if (!Given(dataplane))
                    {
                        result.AddError("--type proxyless needs --dataplane FILE (the Dataplane to register)");
                    }
                    foreach (var option in new Option[] { name, address, port, adminPort })
                    {
                        OnlyFor(option, "ingress|egress");
                    }
                    OnlyFor(advertisedAddress, "ingress");
                    OnlyFor(advertisedPort, "ingress");
                    break;
                case "ingress" or "egress":
                    if (!Given(name))
                    {
                        result.AddError($"--type {kind} needs --name NAME (the Zone{(kind == "ingress" ? "Ingress" : "Egress")} to register)");
                    }
                    foreach (var option in new Option[] { dataplane, bootstrapOut, certsDir })
                    {
                        OnlyFor(option, "proxyless");
                    }
                    if (kind == "egress")
                    {
                        OnlyFor(advertisedAddress, "ingress");
                        OnlyFor(advertisedPort, "ingress");
                    }
                    if (result.GetValue(command) is { Length: > 0 })
                    {
                        result.AddError($"--type {kind} runs no application: remove what follows '--'");
                    }
                    foreach (var ip in new Option<string?>[] { address!, advertisedAddress })
                    {
                        if (Given(ip) && !System.Net.IPAddress.TryParse(result.GetValue(ip), out _))
                        {
                            result.AddError($"{ip.Name}: '{result.GetValue(ip)}' is not an IP address (e.g. 127.0.0.1)");
                        }
                    }
                    foreach (var option in new[] { port, advertisedPort })
                    {
                        if (result.GetValue(option) is { } value && value is < 1 or > 65535)
                        {
                            result.AddError($"{option.Name}: {value} is not a port (1 to 65535)");
                        }
                    }
                    if (result.GetValue(adminPort) is < 0 or > 65535)
                    {
                        result.AddError($"--admin-port: {result.GetValue(adminPort)} is not a port (0: off, or 1 to 65535)");
                    }
                    break;
                default:
                    break;
            }
        });
        runCommand.SetAction(async (parse, cancellationToken) =>
        {
            var application = parse.GetValue(command) is { Length: > 0 } words ? new ApplicationCommand(words[0], words[1..]) : null;
            var settings = new RunSettings
            {
                Type = parse.GetRequiredValue(type),
                ControlPlane = ControlPlaneUri(parse.GetRequiredValue(cp)),
                DataplaneFile = parse.GetValue(dataplane),
                TokenFile = parse.GetRequiredValue(tokenFile),
                BootstrapOut = parse.GetValue(bootstrapOut),
                CertsDir = parse.GetValue(certsDir),
                XdsAddress = parse.GetValue(xdsAddress) is { } xds ? CheckHostPort(xds) : null,
                Application = application,
                RegistrationInterval = Duration(parse, registrationInterval),
                StartupTimeout = Duration(parse, startupTimeout, allowZero: true),
                StopTimeout = Duration(parse, stopTimeout, allowZero: true),
                Name = parse.GetValue(name),
                Address = parse.GetRequiredValue(address),
                Port = parse.GetValue(port),
                AdvertisedAddress = parse.GetValue(advertisedAddress),
                AdvertisedPort = parse.GetValue(advertisedPort),
                AdminPort = parse.GetValue(adminPort),
            };
            return await run(settings, cancellationToken);
        });
        return runCommand;
    }

    private static Option<string> DurationOption(string name, string description, string defaultValue) =>
        new(name) { Description = description, HelpName = "DURATION", DefaultValueFactory = _ => defaultValue };

    private static TimeSpan Duration(ParseResult parse, Option<string> option, bool allowZero = false)
    {
        var text = parse.GetRequiredValue(option);
        if (!GoDuration.TryParse(text, out var value) || value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero))
        {
            throw new DataplaneException($"{option.Name}: '{text}' is not a {(allowZero ? "" : "positive ")}duration (examples: 500ms, 10s, 1m)");
        }
        return value;
    }

    private static Uri ControlPlaneUri(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Query.Length == 0
            ? uri
            : throw new DataplaneException($"--cp: '{text}' is not an http:// or https:// URL (e.g. http://127.0.0.1:5681)");

    private static string CheckHostPort(string text)
    {
        var colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? text
            : throw new DataplaneException($"--xds-address: '{text}' is not HOST:PORT (e.g. 127.0.0.1:5678)");
    }

    /// <summary>SIGINT and SIGTERM request a graceful stop instead of ending the process on the spot.</summary>
    private sealed class SignalHandlers : IDisposable
    {
        private readonly PosixSignalRegistration[] _registrations;

        public SignalHandlers(CancellationTokenSource stop)
        {
            void Handle(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
            _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
        }

        public void Dispose()
        {
            foreach (var registration in _registrations)
            {
                registration.Dispose();
            }
        }
    }
}
