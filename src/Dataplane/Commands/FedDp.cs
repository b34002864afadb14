using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Logging;
using Federation.Dataplane.Processes;
using Federation.Dataplane.Proxyless;
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
        new IDataplaneType[] { new ProxylessType() }.ToDictionary(t => t.Name, StringComparer.Ordinal);

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
        var type = new Option<string>("--type") { Description = "What runs: a proxyless gRPC application (ingress and egress are not implemented yet)", HelpName = string.Join('|', KnownTypes), Required = true };
        type.AcceptOnlyFromAmong([.. KnownTypes]);
        var cp = new Option<string>("--cp") { Description = "The zone control plane's API", HelpName = "URL", DefaultValueFactory = _ => "http://127.0.0.1:5681" };
        var dataplane = new Option<string>("--dataplane") { Description = "The Dataplane to register (Kuma universal YAML or JSON)", HelpName = "FILE", Required = true };
        var tokenFile = new Option<string>("--token-file") { Description = "The Dataplane's token (fedctl generate dataplane-token)", HelpName = "FILE", Required = true };
        var bootstrapOut = new Option<string?>("--bootstrap-out") { Description = "proxyless: where to write the gRPC xDS bootstrap (GRPC_XDS_BOOTSTRAP)", HelpName = "FILE" };
        var certsDir = new Option<string?>("--certs-dir") { Description = "proxyless: where to write cert.pem, key.pem and ca.pem", HelpName = "DIR" };
        var xdsAddress = new Option<string?>("--xds-address") { Description = "The xDS server the application dials (default: what the zone reports at /status/xds)", HelpName = "HOST:PORT" };
        var registrationInterval = DurationOption("--registration-interval", "How often to make sure the zone still has the Dataplane (it is registered again if the zone lost it)", "10s");
        var startupTimeout = DurationOption("--startup-timeout", "How long start-up retries a zone that is unreachable or not ready", "30s");
        var stopTimeout = DurationOption("--stop-timeout", "How long the application may take to exit after SIGTERM before it is killed", "10s");
        var command = new Argument<string[]>("command")
        {
            Description = "The application to run after '--', with its arguments; it gets GRPC_XDS_BOOTSTRAP in its environment",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var runCommand = new Command("run", "Register a Dataplane, keep its certificate and registration fresh, and run its application")
        {
            type, cp, dataplane, tokenFile, bootstrapOut, certsDir, xdsAddress, registrationInterval, startupTimeout, stopTimeout, command,
        };
        runCommand.SetAction(async (parse, cancellationToken) =>
        {
            var application = parse.GetValue(command) is { Length: > 0 } words ? new ApplicationCommand(words[0], words[1..]) : null;
            var settings = new RunSettings
            {
                Type = parse.GetRequiredValue(type),
                ControlPlane = ControlPlaneUri(parse.GetRequiredValue(cp)),
                DataplaneFile = parse.GetRequiredValue(dataplane),
                TokenFile = parse.GetRequiredValue(tokenFile),
                BootstrapOut = parse.GetValue(bootstrapOut),
                CertsDir = parse.GetValue(certsDir),
                XdsAddress = parse.GetValue(xdsAddress) is { } address ? CheckHostPort(address) : null,
                Application = application,
                RegistrationInterval = Duration(parse, registrationInterval),
                StartupTimeout = Duration(parse, startupTimeout, allowZero: true),
                StopTimeout = Duration(parse, stopTimeout, allowZero: true),
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
