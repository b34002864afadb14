using System.Text;

namespace Federation.Dataplane.Tests.Testing;

/// <summary>Collects what fed-dp writes to standard error; every line pulses, so tests await lines instead of time.</summary>
internal sealed class LogWriter : TextWriter
{
    private readonly Lock _lock = new();
    private readonly StringBuilder _text = new();

    public Pulse Pulse { get; } = new();

    public override Encoding Encoding => Encoding.UTF8;

    public string Text
    {
        get
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }
    }

    public IReadOnlyList<string> Lines => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public int Count(string fragment) => Lines.Count(l => l.Contains(fragment, StringComparison.Ordinal));

    public Task WaitForAsync(string fragment, int occurrences = 1) =>
        Pulse.WaitUntilAsync(() => Count(fragment) >= occurrences, $"log line '{fragment}' x{occurrences}", () => Text);

    public override void Write(char value)
    {
        lock (_lock)
        {
            _text.Append(value);
        }
        if (value == '\n')
        {
            Pulse.Set();
        }
    }

    public override void Write(string? value)
    {
        lock (_lock)
        {
            _text.Append(value);
        }
        if (value?.Contains('\n', StringComparison.Ordinal) == true)
        {
            Pulse.Set();
        }
    }

    public override void WriteLine(string? value) => Write(value + "\n");
}
