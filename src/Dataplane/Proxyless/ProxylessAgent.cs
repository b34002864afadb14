using Federation.Dataplane.Bootstrap;
using Federation.Dataplane.Certificates;
using Federation.Dataplane.ControlPlane;
using Federation.Dataplane.Manifests;
using Federation.Dataplane.Processes;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.Proxyless;

/// <summary>What a proxyless agent needs beyond the zone client: its files, its application and its timers.</summary>
internal sealed record ProxylessSettings
{
    public required DataplaneManifest Dataplane { get; init; }

    /// <summary>The dataplane token as the bootstrap carries it (read once at start).</summary>
    public required string Token { get; init; }

    public required string BootstrapPath { get; init; }

    public required CertificateFiles Certificates { get; init; }

    /// <summary><c>--xds-address</c>; null: the address the zone reports.</summary>
    public string? XdsAddress { get; init; }

    public ApplicationCommand? Application { get; init; }

    /// <summary>How often the agent makes sure the zone still has its Dataplane.</summary>
    public TimeSpan RegistrationInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long start-up keeps retrying a zone that is unreachable or not ready.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the application may take to exit after SIGTERM before it is killed.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait between two attempts to renew a certificate that could not be renewed.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Runs a proxyless gRPC application inside the mesh: registers its Dataplane, writes its certificate files and its
/// gRPC xDS bootstrap, starts it with <c>GRPC_XDS_BOOTSTRAP</c>, then keeps the certificate fresh and the
/// Dataplane registered until asked to stop or until the application exits; then it stops the application and
/// unregisters the Dataplane.
/// </summary>
internal sealed partial class ProxylessAgent(ProxylessSettings settings, IZoneApi zone, IApplicationLauncher launcher, TimeProvider time, ILogger logger)
{
    public const string BootstrapVariable = "GRPC_XDS_BOOTSTRAP";

    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);

    private DataplaneManifest Dataplane => settings.Dataplane;

    /// <summary>Runs until <paramref name="stop"/> or the application's exit; returns the exit code for fed-dp.</summary>
    public async Task<int> RunAsync(CancellationToken stop)
    {
        var xds = await StartupAsync(zone.GetXdsServerAsync, stop);
        var serverUri = settings.XdsAddress ?? Dialable(xds.Address, zone.Address);
        await StartupAsync(zone.RegisterAsync, stop);
        LogRegistered(logger, Dataplane.Id, zone.Address, xds.Zone);
        IApplication? application = null;
        try
        {
            var certificate = await StartupAsync(FetchCertificateAsync, stop);
            // The schedule starts before the application does: whoever sees it started (a test moving a fake clock)
            // must find the registration and renewal timers counting already.
            var supervisingFrom = time.GetUtcNow();
            new XdsBootstrap(serverUri, Dataplane.Id, xds.Zone, settings.Token, settings.Certificates).Write(settings.BootstrapPath);
            LogBootstrapWritten(logger, settings.BootstrapPath, serverUri);
            if (settings.Application is { } command)
            {
                application = launcher.Start(command, new Dictionary<string, string> { [BootstrapVariable] = Path.GetFullPath(settings.BootstrapPath) });
                LogApplicationStarted(logger, command.FileName, application.ProcessId);
            }
            return await SuperviseAsync(certificate, application, supervisingFrom, stop);
        }
        finally
        {
            if (application is not null)
            {
                if (!application.Exited.IsCompleted)
                {
                    LogStoppingApplication(logger, application.ProcessId);
                    await application.StopAsync(settings.StopTimeout);
                }
                application.Dispose();
            }
            await UnregisterAsync();
        }
    }

    private async Task<int> SuperviseAsync(IssuedCertificate? certificate, IApplication? application, DateTimeOffset now, CancellationToken stop)
    {
        var nextCheck = now + settings.RegistrationInterval;
        var nextCertificate = NextCertificateCheck(certificate, now);
        var certificateDelay = FirstRetryDelay;
        var reachability = new ZoneReachability();
        var exited = application?.Exited ?? new TaskCompletionSource<int>().Task;
        while (true)
        {
            if (exited.IsCompleted)
            {
                var code = await exited;
                LogApplicationExited(logger, code);
                return code;
            }
            if (stop.IsCancellationRequested)
            {
                LogStopRequested(logger);
                return 0;
            }
            now = time.GetUtcNow();
            var target = nextCheck < nextCertificate ? nextCheck : nextCertificate;
            var due = target - now;
            if (due > TimeSpan.Zero)
            {
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var sleep = Task.Delay(due, time, wake.Token);
                // The clock may have moved between reading it and arming the timer; look again once armed.
                if (time.GetUtcNow() < target)
                {
                    await Task.WhenAny(sleep, exited);
                }
                await wake.CancelAsync();
                continue;
            }

            if (now >= nextCheck)
            {
                nextCheck = now + settings.RegistrationInterval;
                var checkedAt = now;
                await reachability.CheckAsync(ct => zone.RegisterAsync(Dataplane, ct),
                    reregistered: () =>
                    {
                        // The zone lost it (e.g. it restarted with a memory store): its view of us may have changed too.
                        LogReregistered(logger, Dataplane.Id, zone.Address);
                        nextCertificate = checkedAt;
                    },
                    back: () => LogZoneBack(logger, zone.Address),
                    failed: reason => LogRegistrationCheckFailed(logger, reason),
                    stop);
            }

            if (now >= nextCertificate)
            {
                try
                {
                    var renewed = await FetchCertificateAsync(stop);
                    if (renewed is not null && renewed.RenewAt <= time.GetUtcNow())
                    {
                        throw new ZoneApiException($"the zone at {zone.Address} returned a certificate for {Dataplane.Id} that is already due for renewal (renew at {renewed.RenewAt:O}); is its clock right?", null, transient: true);
                    }
                    certificate = renewed ?? certificate;
                    nextCertificate = NextCertificateCheck(renewed, time.GetUtcNow());
                    certificateDelay = FirstRetryDelay;
                }
                catch (Exception e) when (e is ZoneApiException or DataplaneException)
                {
                    nextCertificate = time.GetUtcNow() + certificateDelay;
                    LogRenewalFailed(logger, e.Message, certificateDelay.TotalSeconds, certificate?.NotAfter);
                    certificateDelay = certificateDelay * 2 < settings.MaxRetryDelay ? certificateDelay * 2 : settings.MaxRetryDelay;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            }
        }
    }

    /// <summary>Renew at the certificate's <c>renewAt</c>; without mTLS, look again at each registration check.</summary>
    private DateTimeOffset NextCertificateCheck(IssuedCertificate? certificate, DateTimeOffset now) =>
        certificate?.RenewAt ?? now + settings.RegistrationInterval;

    /// <summary>Fetches and writes the certificate; null when the mesh has no mTLS (nothing to issue yet).</summary>
    private async Task<IssuedCertificate?> FetchCertificateAsync(CancellationToken cancellationToken)
    {
        IssuedCertificate certificate;
        try
        {
            certificate = await zone.FetchCertificateAsync(Dataplane, cancellationToken);
        }
        catch (ZoneApiException e) when (e.Status == 400)
        {
            LogNoCertificate(logger, e.Message);
            return null;
        }
        try
        {
            settings.Certificates.Write(certificate);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataplaneException($"cannot write the certificate files into {settings.Certificates.Directory}: {e.Message}", e);
        }
        LogCertificateWritten(logger, settings.Certificates.Directory, certificate.NotAfter, certificate.RenewAt);
        return certificate;
    }

    private async Task UnregisterAsync()
    {
        if (await ZoneCalls.UnregisterAsync(ct => zone.UnregisterAsync(Dataplane, ct), $"Dataplane {Dataplane.Id}", zone.Address, time) is { } failure)
        {
            LogUnregisterFailed(logger, failure);
        }
        else
        {
            LogUnregistered(logger, Dataplane.Id, zone.Address);
        }
    }

    /// <summary>Start-up calls retry what may pass (the zone is starting or unreachable) until the start-up timeout.</summary>
    private Task<T> StartupAsync<T>(Func<DataplaneManifest, CancellationToken, Task<T>> call, CancellationToken stop) =>
        StartupAsync(ct => call(Dataplane, ct), stop);

    private Task<T> StartupAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken stop) =>
        ZoneCalls.RetryStartupAsync(call, time, settings.StartupTimeout, (reason, delay) => LogStartupRetry(logger, reason, delay.TotalSeconds), stop);

    /// <summary>A zone listening on every interface reports 0.0.0.0 or ::; the application dials the host fed-dp reached.</summary>
    internal static string Dialable(string xdsAddress, string controlPlane)
    {
        var colon = xdsAddress.LastIndexOf(':');
        if (colon <= 0)
        {
            return xdsAddress;
        }
        var host = xdsAddress[..colon].Trim('[', ']');
        if (host is "0.0.0.0" or "::" && Uri.TryCreate(controlPlane, UriKind.Absolute, out var cp))
        {
            var target = cp.HostNameType == UriHostNameType.IPv6 ? $"[{cp.IdnHost}]" : cp.IdnHost;
            return $"{target}{xdsAddress[colon..]}";
        }
        return xdsAddress;
    }

    [LoggerMessage(EventId = 1, EventName = "Registered", Level = LogLevel.Information, Message = "registered Dataplane {Dataplane} on {ControlPlane} (zone {Zone})")]
    private static partial void LogRegistered(ILogger logger, string dataplane, string controlPlane, string zone);

    [LoggerMessage(EventId = 2, EventName = "BootstrapWritten", Level = LogLevel.Information, Message = "wrote the gRPC xDS bootstrap {Path} (xDS server {Server})")]
    private static partial void LogBootstrapWritten(ILogger logger, string path, string server);

    [LoggerMessage(EventId = 3, EventName = "CertificateWritten", Level = LogLevel.Information, Message = "wrote the certificate files into {Directory} (valid until {NotAfter:O}, renewing at {RenewAt:O})")]
    private static partial void LogCertificateWritten(ILogger logger, string directory, DateTimeOffset notAfter, DateTimeOffset renewAt);

    [LoggerMessage(EventId = 4, EventName = "NoCertificate", Level = LogLevel.Information, Message = "no certificate yet: {Reason}; asking again later")]
    private static partial void LogNoCertificate(ILogger logger, string reason);

    [LoggerMessage(EventId = 5, EventName = "ApplicationStarted", Level = LogLevel.Information, Message = "started {Command} (pid {ProcessId})")]
    private static partial void LogApplicationStarted(ILogger logger, string command, int processId);

    [LoggerMessage(EventId = 6, EventName = "ApplicationExited", Level = LogLevel.Information, Message = "the application exited with code {ExitCode}")]
    private static partial void LogApplicationExited(ILogger logger, int exitCode);

    [LoggerMessage(EventId = 7, EventName = "StopRequested", Level = LogLevel.Information, Message = "stopping")]
    private static partial void LogStopRequested(ILogger logger);

    [LoggerMessage(EventId = 8, EventName = "StoppingApplication", Level = LogLevel.Information, Message = "stopping the application (pid {ProcessId})")]
    private static partial void LogStoppingApplication(ILogger logger, int processId);

    [LoggerMessage(EventId = 9, EventName = "Unregistered", Level = LogLevel.Information, Message = "unregistered Dataplane {Dataplane} from {ControlPlane}")]
    private static partial void LogUnregistered(ILogger logger, string dataplane, string controlPlane);

    [LoggerMessage(EventId = 10, EventName = "UnregisterFailed", Level = LogLevel.Warning, Message = "{Reason}")]
    private static partial void LogUnregisterFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 11, EventName = "Reregistered", Level = LogLevel.Warning, Message = "the zone had lost Dataplane {Dataplane}; registered it again on {ControlPlane}")]
    private static partial void LogReregistered(ILogger logger, string dataplane, string controlPlane);

    [LoggerMessage(EventId = 12, EventName = "RegistrationCheckFailed", Level = LogLevel.Warning, Message = "{Reason}; the application keeps its last config, checking again later")]
    private static partial void LogRegistrationCheckFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 13, EventName = "ZoneBack", Level = LogLevel.Information, Message = "the zone at {ControlPlane} answers again")]
    private static partial void LogZoneBack(ILogger logger, string controlPlane);

    [LoggerMessage(EventId = 14, EventName = "RenewalFailed", Level = LogLevel.Warning, Message = "{Reason}; retrying in {DelaySeconds}s (the current certificate is valid until {NotAfter:O})")]
    private static partial void LogRenewalFailed(ILogger logger, string reason, double delaySeconds, DateTimeOffset? notAfter);

    [LoggerMessage(EventId = 15, EventName = "StartupRetry", Level = LogLevel.Information, Message = "{Reason}; retrying in {DelaySeconds}s")]
    private static partial void LogStartupRetry(ILogger logger, string reason, double delaySeconds);
}
