using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Federation.Dataplane.Processes;

/// <summary>What fed-dp runs beside itself: a command, its arguments and extra environment.</summary>
internal sealed record ApplicationCommand(string FileName, IReadOnlyList<string> Arguments);

/// <summary>The application fed-dp started.</summary>
internal interface IApplication : IDisposable
{
    int ProcessId { get; }

    /// <summary>Completes with the exit code when the application exits.</summary>
    Task<int> Exited { get; }

    /// <summary>Asks the application to stop (SIGTERM), and kills it if it has not exited within <paramref name="grace"/>.</summary>
    Task<int> StopAsync(TimeSpan grace);
}

/// <summary>Starts applications; tests replace it.</summary>
internal interface IApplicationLauncher
{
    IApplication Start(ApplicationCommand command, IReadOnlyDictionary<string, string> environment);
}

/// <summary>Runs the application as a child process sharing fed-dp's standard input, output and error.</summary>
internal sealed partial class ApplicationLauncher : IApplicationLauncher
{
    public IApplication Start(ApplicationCommand command, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(command.FileName) { UseShellExecute = false };
        foreach (var argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // The parent environment is inherited; ours is added on top.
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new DataplaneException($"cannot start {command.FileName}");
        }
        catch (Win32Exception e)
        {
            throw new DataplaneException($"cannot start {command.FileName}: {e.Message}", e);
        }
        return new Application(process);
    }

    private sealed partial class Application : IApplication
    {
        private const int SigTerm = 15;
        private readonly Process _process;

        public Application(Process process)
        {
            _process = process;
            ProcessId = process.Id;
            Exited = WaitAsync();
        }

        public int ProcessId { get; }

        public Task<int> Exited { get; }

        public async Task<int> StopAsync(TimeSpan grace)
        {
            if (!Exited.IsCompleted)
            {
                Terminate();
                try
                {
                    return await Exited.WaitAsync(grace);
                }
                catch (TimeoutException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            return await Exited;
        }

        public void Dispose() => _process.Dispose();

        private async Task<int> WaitAsync()
        {
            await _process.WaitForExitAsync();
            return _process.ExitCode;
        }

        private void Terminate()
        {
            if (OperatingSystem.IsWindows())
            {
                _process.Kill(entireProcessTree: true);
                return;
            }
            // Process.Kill sends SIGKILL; a graceful stop lets the application drain its calls first.
            if (Kill(ProcessId, SigTerm) != 0 && !_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static partial int Kill(int pid, int signal);
    }
}
