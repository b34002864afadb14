using System.Globalization;
using System.Text;

namespace Federation.Serialization;

/// <summary>Durations written the way Kuma (Go) writes them: <c>24h</c>, <c>1h30m</c>, <c>500ms</c>, <c>10s</c>.</summary>
public static class GoDuration
{
    private static readonly (string Unit, double Ticks)[] Units =
    [
        ("ns", 0.01), ("us", 10), ("µs", 10), ("ms", TimeSpan.TicksPerMillisecond), ("s", TimeSpan.TicksPerSecond),
        ("m", TimeSpan.TicksPerMinute), ("h", TimeSpan.TicksPerHour), ("d", TimeSpan.TicksPerDay), ("y", TimeSpan.TicksPerDay * 365),
    ];

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        if (text == "0")
        {
            return true;
        }
        double ticks = 0;
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }
            if (start == i || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }
            var unitStart = i;
            while (i < text.Length && !char.IsAsciiDigit(text[i]) && text[i] != '.')
            {
                i++;
            }
            var unit = text.AsSpan(unitStart, i - unitStart);
            var found = false;
            foreach (var (name, unitTicks) in Units)
            {
                if (unit.SequenceEqual(name))
                {
                    ticks += number * unitTicks;
                    found = true;
                    break;
                }
            }
            if (!found)
            {
                return false;
            }
        }
        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }
        value = TimeSpan.FromTicks((long)ticks);
        return true;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"'{text}' is not a duration (examples: 24h, 90m, 30s, 500ms)");

    /// <summary>Formats the way Go prints durations, e.g. <c>24h0m0s</c> becomes <c>24h</c> here for readability.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }
        var sb = new StringBuilder();
        if (value.Days > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{(long)value.TotalHours}h");
        }
        else if (value.Hours > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Hours}h");
        }
        if (value.Minutes > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Minutes}m");
        }
        if (value.Seconds > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Seconds}s");
        }
        if (value.Milliseconds > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Milliseconds}ms");
        }
        return sb.Length == 0 ? $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms" : sb.ToString();
    }
}
