using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit, inputs: a time zone this machine does not know or a locale that is not a language tag used to replace the
/// profile's good one (quiet hours then ran on the default zone, templates on the default locale). The event is still
/// accepted; such a value just never becomes the profile's, and other spellings of a known one are normalised.
/// </summary>
public sealed class ContextValuesTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    [Theory]
    [InlineData("Mars/Olympus_Mons", "not a locale!")]
    [InlineData("GMT+25", "12-34")]
    [InlineData("../../etc/passwd", "e")]
    public async Task AnUnusableZoneOrLocale_IsAccepted_ButKeepsTheProfilesKnownOnes(string zone, string locale)
    {
        await using var host = OmnichannelTestHost.Create();
        var t = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("page.viewed", [Ann], at: t - TimeSpan.FromMinutes(5), context: new EventContext { TimeZone = "America/New_York", Locale = "en-US" }));

        var r = await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { TimeZone = zone, Locale = locale }));

        Assert.Equal(TrackStatus.Accepted, r.Status);
        var p = await host.ProfileAsync(Ann);
        Assert.Equal(("America/New_York", "en-US"), (p.TimeZone, p.Locale));
        Assert.Equal(2, p.Statistics.EventCount);
    }

    [Theory]
    [InlineData("europe/london", "Europe/London")]
    [InlineData(" Europe/London ", "Europe/London")]
    [InlineData("AMERICA/NEW_YORK", "America/New_York")]
    public async Task ATimeZoneInAnotherCase_IsKeptAsItsKnownId(string sent, string kept)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { TimeZone = sent }));
        Assert.Equal(kept, (await host.ProfileAsync(Ann)).TimeZone);
    }

    [Theory]
    [InlineData("en_GB", "en-GB")]
    [InlineData("EN-gb", "en-GB")]
    [InlineData("zh_hant_tw", "zh-Hant-TW")]
    [InlineData("fr", "fr")]
    public async Task ALocale_IsKeptAsALanguageTag(string sent, string kept)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(host.Event("page.viewed", [Ann], context: new EventContext { Locale = sent }));
        Assert.Equal(kept, (await host.ProfileAsync(Ann)).Locale);
    }

    [Fact]
    public async Task QuietHours_StillUseTheKnownZone_AfterAnEventWithAnUnknownOne()
    {
        // 22:30 in New York on 2026-01-05; 03:30 UTC.
        var sms = new RecordingTransport(ChannelNames.Sms);
        await using var host = OmnichannelTestHost.Create(
            start: new DateTimeOffset(2026, 1, 6, 3, 30, 0, TimeSpan.Zero),
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("sms", sms));
        await host.TrackAsync(host.Event("user.signed_up", [Ann, Identifier.Phone("+12125550101")], at: host.Time.GetUtcNow() - TimeSpan.FromMinutes(1), context: new EventContext { TimeZone = "America/New_York" }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true }, context: new EventContext { TimeZone = "Atlantis/Capital" });

        var r = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Sms], TemplateId = "promo" });

        Assert.Equal(SendStatus.Queued, r.Status);
        Assert.Equal(new DateTimeOffset(2026, 1, 6, 8, 0, 0, TimeSpan.FromHours(-5)), r.DueAt); // held until 08:00 in New York
    }
}
