using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Issue "One person, one truth", section 7: phone numbers through libphonenumber.</summary>
public sealed class PhoneNumberTests
{
    [Theory]
    [InlineData("+44 (0)20 7946 0958", "44", "+442079460958")]
    [InlineData("+442079460958", "44", "+442079460958")]
    [InlineData("020 7946 0958", "44", "+442079460958")]
    [InlineData("0044 20 7946 0958", "1", "+442079460958")]
    [InlineData("(212) 555-0101", "1", "+12125550101")]
    [InlineData("+1 (212) 555-0101", "44", "+12125550101")]
    public void PhoneNumbers_AreNormalisedToE164(string raw, string countryCode, string expected)
    {
        var options = new IdentityOptions { DefaultPhoneCountryCode = countryCode };
        Assert.True(IdentifierNormalizers.Phone(raw, options, out var normalized, out var error), error);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("+44 20")]
    [InlineData("12")]
    [InlineData("call me")]
    [InlineData("+999 1234 5678")]
    public void NotAPhoneNumber_IsRefusedWithAReason(string raw)
    {
        Assert.False(IdentifierNormalizers.Phone(raw, new IdentityOptions { DefaultPhoneCountryCode = "44" }, out _, out var error));
        Assert.StartsWith("is not a phone number", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ANationalNumberRefusedInTheDefaultCountry_NamesTheSettingThatReadsIt()
    {
        // A UK shop that left the default country code (1) sees its customers' numbers refused: the error says why.
        Assert.False(IdentifierNormalizers.Phone("07700 900461", new IdentityOptions(), out _, out var error));
        Assert.StartsWith("is not a phone number", error, StringComparison.Ordinal);
        Assert.Contains("read as a number of US", error, StringComparison.Ordinal);
        Assert.Contains("DefaultPhoneCountryCode is \"1\"", error, StringComparison.Ordinal);

        // With its country code the number carries its own country: no hint about the default.
        Assert.False(IdentifierNormalizers.Phone("+44 20", new IdentityOptions(), out _, out var international));
        Assert.DoesNotContain("DefaultPhoneCountryCode", international, StringComparison.Ordinal);
    }

    [Fact]
    public void TheDefaultRegion_IsConfigurable()
    {
        var options = new IdentityOptions { DefaultPhoneRegion = "FR" };
        Assert.True(IdentifierNormalizers.Phone("06 12 34 56 78", options, out var normalized, out _));
        Assert.Equal("+33612345678", normalized);
        Assert.Contains(new OmnichannelOptions { Identity = { DefaultPhoneRegion = "XX" } }.Validate(), e => e.Contains("DefaultPhoneRegion", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANationalTrunkZeroInsideAnInternationalNumber_IsTheSamePerson()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneCountryCode = "44");
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("c1"), Identifier.Phone("+442079460958")]);
        await host.TrackAsync("store.visited", [Identifier.Phone("+44 (0)20 7946 0958")]);

        var p = await host.ProfileAsync(Identifier.CustomerId("c1"));
        Assert.Equal(2, p.Statistics.EventCount);
        Assert.Equal(["+442079460958"], p.IdentifierValues(IdentifierTypes.Phone));
    }
}
