using Federation.Cli.Output;

namespace Federation.Cli.Tests.Output;

public sealed class AgeTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(45, "45s")]
    [InlineData(60, "1m")]
    [InlineData(3 * 60 + 59, "3m")]
    [InlineData(2 * 3600 + 120, "2h")]
    [InlineData(23 * 3600 + 3599, "23h")]
    [InlineData(5 * 86400 + 3600, "5d")]
    [InlineData(-30, "0s")]
    public void Format_Durations_ReadLikeKubectl(int seconds, string expected) =>
        Assert.Equal(expected, Age.Format(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Since_MissingOrBadTimestamp_IsDash()
    {
        var now = DateTimeOffset.Parse("2025-06-01T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal("-", Age.Since(null, now));
        Assert.Equal("-", Age.Since("yesterday", now));
        Assert.Equal("1h", Age.Since("2025-06-01T10:30:00.5Z", now));
    }
}
