using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Segments.Definitions;

public sealed class IsoDurationTests
{
    [Theory]
    [InlineData("P90D", 0, 0, 90, 0)]
    [InlineData("P1Y6M", 1, 6, 0, 0)]
    [InlineData("P2W", 0, 0, 14, 0)]
    [InlineData("PT12H", 0, 0, 0, 12 * 3600)]
    [InlineData("P1DT1H30M5S", 0, 0, 1, 5405)]
    public void Parse_ReadsEachPart(string text, int years, int months, int days, int seconds)
    {
        var d = IsoDuration.Parse(text);
        Assert.Equal((years, months, days, TimeSpan.FromSeconds(seconds)), (d.Years, d.Months, d.Days, d.Time));
    }

    [Theory]
    [InlineData("")]
    [InlineData("P")]
    [InlineData("PT")]
    [InlineData("90D")]
    [InlineData("P1")]
    [InlineData("PD")]
    [InlineData("P1D2Y")]
    [InlineData("P1H")]
    [InlineData("P-1D")]
    public void TryParse_RejectsWhatIsNotADuration(string text)
    {
        Assert.False(IsoDuration.TryParse(text, out _, out var error));
        Assert.Contains(text, error, StringComparison.Ordinal);
    }

    [Fact]
    public void SubtractFrom_UsesCalendarMonths()
    {
        var march31 = new DateTimeOffset(2024, 3, 31, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal(new DateTimeOffset(2024, 2, 29, 10, 0, 0, TimeSpan.Zero), IsoDuration.FromMonths(1).SubtractFrom(march31));
    }

    [Theory]
    [InlineData("P90D")]
    [InlineData("P1Y2M3DT4H5M6S")]
    public void ToString_RoundTrips(string text) => Assert.Equal(text, IsoDuration.Parse(text).ToString());
}
