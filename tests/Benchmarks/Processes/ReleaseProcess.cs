using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Federation.Benchmarks.Processes;

/// <summary>
/// The Release executables (<c>federation-global</c>, <c>federation-zone</c>) started as separate processes for the
/// harnesses that measure a whole process (its RSS, its HTTP stack), and the few HTTP helpers they share.
/// </summary>
internal static class ReleaseProcess
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Path of a built executable, e.g. <c>Executable("Federation.Global", "federation-global")</c>.</summary>
    public static string Executable(string project, string name) =>
        Path.Combine(RepositoryRoot, "artifacts", "bin", project, "release", name);

    public static Process Start(string executable, string arguments)
    {
        if (!File.Exists(executable))
        {
            throw new FileNotFoundException($"{executable} is missing; build first: dotnet build Federation.sln -c Release");
        }
        var info = new ProcessStartInfo(executable, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static void Stop(IEnumerable<Process> processes)
    {
        foreach (var process in processes)
        {
            try
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            process.Dispose();
        }
    }

    /// <summary>An API client for a control plane: waits until it answers and its admin token is written.</summary>
    public static async Task<HttpClient> ApiAsync(string address, string tokenFile, HttpMessageHandler? handler = null)
    {
        var client = new HttpClient(handler ?? new SocketsHttpHandler()) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(60) };
        await WaitAsync($"{address} to answer", async () =>
        {
            try
            {
                using var response = await client.GetAsync("");
                return response.IsSuccessStatusCode && File.Exists(tokenFile);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile)).Trim());
        return client;
    }

    public static async Task PutAsync(HttpClient client, string path, string json)
    {
        using var response = await client.PutAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public static long RssBytes(Process process)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    public static async Task WaitAsync(string what, Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)((timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds * Stopwatch.Frequency);
        while (!await condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }
            await Task.Delay(20);
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Federation.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("cannot find Federation.sln above the benchmark's directory");
    }
}
