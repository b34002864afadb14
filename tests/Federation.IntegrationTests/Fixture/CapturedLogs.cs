using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Federation.IntegrationTests.Fixture;

/// <summary>One log entry of a control plane under test.</summary>
public sealed record LogEntry(DateTimeOffset Time, string Node, string Category, LogLevel Level, string EventName, string Message);

/// <summary>
/// Keeps the logs of one control plane in memory (console logging would slow the suite and interleave nodes),
/// so tests can assert on what a node reported and a timeout message can show the latest warnings.
/// </summary>
public sealed class CapturedLogs(string node) : ILoggerProvider
{
    private const int Capacity = 4000;
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public string Node { get; } = node;

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public IReadOnlyList<LogEntry> WithEvent(string eventName) => [.. _entries.Where(e => e.EventName == eventName)];

    public IReadOnlyList<LogEntry> AtLeast(LogLevel level) => [.. _entries.Where(e => e.Level >= level)];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(LogEntry entry)
    {
        _entries.Enqueue(entry);
        while (_entries.Count > Capacity && _entries.TryDequeue(out _))
        {
        }
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (exception is not null)
            {
                message += $" [{exception.GetType().Name}: {exception.Message}]";
            }
            owner.Add(new LogEntry(DateTimeOffset.UtcNow, owner.Node, category, logLevel, eventId.Name ?? "", message));
        }
    }
}
