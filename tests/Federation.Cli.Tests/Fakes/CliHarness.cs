using Federation.Cli.Commands;
using Microsoft.Extensions.Time.Testing;

namespace Federation.Cli.Tests.Fakes;

/// <summary>What one fedctl invocation printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public IReadOnlyList<string> OutLines => Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Error}";
}

/// <summary>
/// Runs the real fedctl command tree in-process against a <see cref="FakeControlPlane"/>, with its own
/// config file in a temporary directory, its own environment variables and a fake clock.
/// </summary>
internal sealed class CliHarness : IDisposable
{
    public const string Address = "http://cp.test:5681";

    private static readonly TimeSpan InvocationTimeout = TimeSpan.FromSeconds(30);

    public CliHarness(bool configureControlPlane = true, string? token = FakeControlPlane.AdminToken)
    {
        Directory = Path.Combine(Path.GetTempPath(), "fedctl-tests-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Variables["FEDCTL_CONFIG"] = ConfigPath;
        Server = new FakeControlPlane(Time);
        if (configureControlPlane)
        {
            var tokenLine = token is null ? "" : $"\n  token: {token}";
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(ConfigPath)!);
            File.WriteAllText(ConfigPath, $"currentControlPlane: test\ncontrolPlanes:\n- name: test\n  address: {Address}{tokenLine}\n");
        }
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));

    public FakeControlPlane Server { get; }

    public string Directory { get; }

    public string ConfigPath => Path.Combine(Directory, "fedctl", "config.yaml");

    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);

    /// <summary>Null: use <see cref="Server"/>. Set to talk to real sockets.</summary>
    public bool UseRealNetwork { get; set; }

    public TimeSpan HttpTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    public async Task<CliResult> RunWithInputAsync(string stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var environment = new CliEnvironment
        {
            Out = output,
            Error = error,
            In = new StringReader(stdin),
            GetVariable = name => Variables.GetValueOrDefault(name),
            HomeDirectory = Path.Combine(Directory, "home"),
            HttpHandler = UseRealNetwork ? null : Server,
            HttpTimeout = HttpTimeout,
            Time = Time,
        };
        var code = await Fedctl.RunAsync(args, environment, TestContext.Current.CancellationToken)
            .WaitAsync(InvocationTimeout, TestContext.Current.CancellationToken);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Writes a file in the test directory and returns its path.</summary>
    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        Server.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Manifests the tests apply, in Kuma's universal format.</summary>
internal static class Manifests
{
    public const string Mesh = """
        type: Mesh
        name: default
        mtls: {enabledBackend: ca-1, backends: [{name: ca-1, type: builtin}]}
        """;

    public const string Permission = """
        type: MeshTrafficPermission
        mesh: default
        name: allow-web
        spec:
          targetRef: {kind: MeshService, name: backend}
          from: [{targetRef: {kind: MeshSubset, tags: {kuma.io/service: web}}, default: {action: Allow}}]
        """;

    public const string Dataplane = """
        type: Dataplane
        mesh: default
        name: backend-1
        labels: {kuma.io/zone: zone-1}
        networking:
          address: 127.0.0.1
          inbound: [{port: 18080, tags: {kuma.io/service: backend, kuma.io/protocol: grpc}}]
        """;

    public const string Ingress = """
        type: ZoneIngress
        name: ingress-1
        networking: {address: 127.0.0.1, port: 10001, advertisedAddress: 192.0.2.10, advertisedPort: 10001}
        availableServices: [{mesh: default, instances: 2, tags: {kuma.io/service: backend, kuma.io/zone: zone-2}}]
        """;
}
