using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Federation.Tests.Stores;

/// <summary>
/// A throwaway <c>redis-server</c> on a free loopback port with no persistence, for tests and benchmarks.
/// Shared by the test and benchmark projects (linked source).
/// </summary>
internal sealed class RedisServerProcess : IAsyncDisposable
{
    public const string NotInstalled = "redis-server not found on PATH; install it (apt-get install -y redis-server)";

    private readonly Process _process;
    private readonly string _directory;
    private readonly Task _drain;

    private RedisServerProcess(Process process, string directory, int port, Task drain)
    {
        _process = process;
        _directory = directory;
        Port = port;
        _drain = drain;
    }

    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a server and returns once it answers PING; throws with its output when it cannot start.</summary>
    public static async Task<RedisServerProcess> StartAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var executable = FindOnPath("redis-server") ?? throw new InvalidOperationException(NotInstalled);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        // A free port found by binding to 0 can be taken again before redis binds it: try a few.
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                return await TryStartAsync(executable, FreeLoopbackPort(), timeout, deadline.Token);
            }
            catch (IOException e)
            {
                last = e;
            }
        }
        throw new InvalidOperationException($"redis-server did not start: {last!.Message}", last);
    }

    private static async Task<RedisServerProcess> TryStartAsync(string executable, int port, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("federation-redis-").FullName;
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--daemonize", "no" })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        var output = new StringBuilder();
        try
        {
            // Readiness is a log line, not a guess: wait for it, then confirm with PING.
            while (true)
            {
                string? line;
                try
                {
                    line = await process.StandardOutput.ReadLineAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"redis-server on port {port} was not ready within {timeout.TotalSeconds}s; output:\n{output}");
                }
                if (line is null)
                {
                    var stderr = await process.StandardError.ReadToEndAsync(cancellationToken);
                    throw new IOException($"redis-server on port {port} exited before it was ready; output:\n{output}{stderr}");
                }
                output.AppendLine(line);
                if (line.Contains("Ready to accept connections", StringComparison.Ordinal))
                {
                    break;
                }
            }
            await PingAsync(port, cancellationToken);
            // Keep reading its output so a full pipe never stalls the server.
            var drain = Task.Run(async () =>
            {
                while (await process.StandardOutput.ReadLineAsync(CancellationToken.None) is not null)
                {
                }
            }, CancellationToken.None);
            return new RedisServerProcess(process, directory, port, drain);
        }
        catch
        {
            Stop(process);
            process.Dispose();
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Stop(_process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            await _drain.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task PingAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray(), cancellationToken);
        var buffer = new byte[16];
        var read = 0;
        while (read < 7)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        var reply = Encoding.ASCII.GetString(buffer, 0, read);
        if (!reply.StartsWith("+PONG", StringComparison.Ordinal))
        {
            throw new IOException($"redis-server on port {port} answered PING with '{reply.Trim()}'");
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
