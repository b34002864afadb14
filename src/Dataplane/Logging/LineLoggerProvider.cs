using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Federation.Dataplane.Logging;

/// <summary>
/// fed-dp's log: one line per event on standard error, <c>&lt;UTC time&gt; fed-dp: [warning: ]&lt;message&gt;</c>,
/// written synchronously so nothing is lost when the process exits right after.
/// </summary>
internal sealed class LineLoggerProvider(TextWriter writer, TimeProvider time, LogLevel minimum) : ILoggerProvider
{
    private readonly Lock _lock = new();

    private LogLevel Minimum => minimum;

    public ILogger CreateLogger(string categoryName) => new LineLogger(this);

    public void Dispose()
    {
    }

    private void Write(LogLevel level, string message, Exception? exception)
    {
        var prefix = level switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error or LogLevel.Critical => "error: ",
            LogLevel.Debug or LogLevel.Trace => "debug: ",
            _ => "",
        };
        var stamp = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var line = $"{stamp} fed-dp: {prefix}{message}";
        if (exception is not null && level >= LogLevel.Error)
        {
            line += $" ({exception.GetType().Name}: {exception.Message})";
        }
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    private sealed class LineLogger(LineLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider.Minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, formatter(state, exception), exception);
            }
        }
    }

}
