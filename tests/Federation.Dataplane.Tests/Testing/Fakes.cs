using System.Collections.Concurrent;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Manifests;
using Federation.Dataplane.Processes;

namespace Federation.Dataplane.Tests.Testing;

/// <summary>An in-memory zone for the agent: it counts calls, can lose the Dataplane, and fails on demand.</summary>
internal sealed class FakeZoneApi(TimeProvider time) : IZoneApi
{
    private int _registrations;
    private int _unregistrations;
    private int _certificates;

    public string Address => "http://zone.test:5681";

    public bool Registered { get; set; }

    public int Registrations => Volatile.Read(ref _registrations);

    public int Unregistrations => Volatile.Read(ref _unregistrations);

    public int CertificatesIssued => Volatile.Read(ref _certificates);

    /// <summary>Failures the next calls throw, in order, before answering normally again.</summary>
    public ConcurrentQueue<ZoneApiException> RegisterFailures { get; } = new();

    public ConcurrentQueue<ZoneApiException> CertificateFailures { get; } = new();

    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(10);

    public IssuedCertificate? LastIssued { get; private set; }

    public Pulse Changed { get; } = new();

    public Task<XdsServerInfo> GetXdsServerAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new XdsServerInfo("0.0.0.0:15678", "zone-1"));

    public Task<bool> RegisterAsync(DataplaneManifest dataplane, CancellationToken cancellationToken)
    {
        try
        {
            Interlocked.Increment(ref _registrations);
            if (RegisterFailures.TryDequeue(out var failure))
            {
                throw failure;
            }
            var created = !Registered;
            Registered = true;
            return Task.FromResult(created);
        }
        finally
        {
            Changed.Set();
        }
    }

    public Task UnregisterAsync(DataplaneManifest dataplane, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _unregistrations);
        Registered = false;
        Changed.Set();
        return Task.CompletedTask;
    }

    public Task<IssuedCertificate> FetchCertificateAsync(DataplaneManifest dataplane, CancellationToken cancellationToken)
    {
        try
        {
            if (CertificateFailures.TryDequeue(out var failure))
            {
                throw failure;
            }
            var n = Interlocked.Increment(ref _certificates);
            var now = time.GetUtcNow();
            LastIssued = new IssuedCertificate($"CERT {n}", $"KEY {n}", "CA", now, now + Lifetime, now + (Lifetime * 0.8));
            return Task.FromResult(LastIssued);
        }
        finally
        {
            Changed.Set();
        }
    }
}

/// <summary>Starts nothing: an application that exits when told to (or when stopped).</summary>
internal sealed class FakeLauncher : IApplicationLauncher
{
    public FakeApplication? Started { get; private set; }

    public IReadOnlyDictionary<string, string>? Environment { get; private set; }

    public ApplicationCommand? Command { get; private set; }

    public Pulse Changed { get; } = new();

    public IApplication Start(ApplicationCommand command, IReadOnlyDictionary<string, string> environment)
    {
        Command = command;
        Environment = environment;
        Started = new FakeApplication(this);
        Changed.Set();
        return Started;
    }
}

internal sealed class FakeApplication(FakeLauncher launcher) : IApplication
{
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int ProcessId => 4242;

    public Task<int> Exited => _exited.Task;

    public bool StopRequested { get; private set; }

    public void Exit(int code) => _exited.TrySetResult(code);

    public Task<int> StopAsync(TimeSpan grace)
    {
        StopRequested = true;
        _exited.TrySetResult(143);
        launcher.Changed.Set();
        return _exited.Task;
    }

    public void Dispose()
    {
    }
}
