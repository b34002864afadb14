using System.Globalization;

namespace Federation.Cli.Output;

/// <summary>Ages the way kubectl and kumactl show them: <c>45s</c>, <c>3m</c>, <c>2h</c>, <c>5d</c>.</summary>
internal static class Age
{
    public static string Format(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
        {
            // The server's clock is ahead of ours; "just created" is the honest reading.
            age = TimeSpan.Zero;
        }
        return age.TotalMinutes < 1 ? $"{(int)age.TotalSeconds}s"
            : age.TotalHours < 1 ? $"{(int)age.TotalMinutes}m"
            : age.TotalDays < 1 ? $"{(int)age.TotalHours}h"
            : $"{(int)age.TotalDays}d";
    }

    /// <summary>The age of an RFC 3339 timestamp at <paramref name="now"/>; <c>-</c> when there is none.</summary>
    public static string Since(string? timestamp, DateTimeOffset now) =>
        timestamp is not null && DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? Format(now - time)
            : "-";
}
