using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit, inputs: what a person cannot see or tell apart in an identifier (a zero-width space or byte-order mark pasted
/// with it, a decomposed accent, full-width characters from an IME, a no-break space or dash in a phone number) must
/// not make two people of one: a second profile would miss her opt-out, her cart and her erasure.
/// </summary>
public sealed class IdentifierUnicodeTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");

    [Theory]
    [InlineData("ann\u200B@example.com")]
    [InlineData("an\u200Cn@example.com")]
    [InlineData("\uFEFFann@example.com")]
    [InlineData("ann@exam\u00ADple.com")]
    [InlineData("ann\uFF20example.com")]
    [InlineData("\uFF21\uFF2E\uFF2E@example.com")]
    [InlineData("\u00A0Ann@Example.com\u2060")]
    public async Task AnEmailWithInvisibleOrFullWidthCharacters_IsTheSamePerson(string raw)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Known, Identifier.Email("ann@example.com")]);

        var r = await host.TrackAsync("page.viewed", [new Identifier(IdentifierTypes.Email, raw)]);

        var p = await host.ProfileAsync(Known);
        Assert.Equal(p.Id, r.ProfileId);
        Assert.Equal(["ann@example.com"], p.IdentifierValues(IdentifierTypes.Email));
        Assert.Equal(2, p.Statistics.EventCount);
    }

    [Theory]
    [InlineData("ann@xn--bcher-kva.de")]
    [InlineData("ann@XN--BCHER-KVA.DE")]
    [InlineData("ann@BU\u0308CHER.de")]
    [InlineData("ann@bücher.de")]
    public void AnInternationalisedDomain_InItsAsciiOrUnicodeForm_IsOneAddress(string raw)
    {
        raw = System.Text.RegularExpressions.Regex.Unescape(raw);
        Assert.True(IdentifierNormalizers.Email(raw, new IdentityOptions(), out var normalized, out var error), error);
        Assert.Equal("ann@bücher.de", normalized);
    }

    [Fact]
    public void AZeroWidthNonJoiner_IsKept_WhereItIsPartOfTheSpelling()
    {
        // Persian spells with a zero-width non-joiner: removing it would make another word, so another address.
        const string persian = "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645@example.com";
        Assert.True(IdentifierNormalizers.Email(persian, new IdentityOptions(), out var normalized, out var error), error);
        Assert.Equal(persian, normalized);
    }

    [Fact]
    public async Task AnEmailWithADecomposedAccent_IsTheSamePerson_AndHerOptOutHolds()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        var composed = Identifier.Email("jos\u00E9@example.com");
        var decomposed = Identifier.Email("jose\u0301@example.com");
        await host.TrackAsync("user.signed_up", [Known, composed]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        host.Time.Advance(TimeSpan.FromMinutes(1));

        await host.TrackAsync(EventTypes.MessageUnsubscribed, [decomposed], new { channel = "email" });

        Assert.Equal((await host.ProfileAsync(Known)).Id, (await host.ProfileAsync(decomposed)).Id);
        var send = await host.Client.SendAsync(Known, new MessageRequest { Key = "p1", Channels = [ChannelNames.Email], TemplateId = "p1" });
        Assert.Equal(SendStatus.Skipped, send.Status);
    }

    [Fact]
    public async Task AnErasedAddress_StaysErased_InAnotherUnicodeSpelling()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Known, Identifier.Email("jos\u00E9@example.com")]);
        Assert.True(await host.Client.EraseProfileAsync(Known));

        Assert.True(await host.Client.IsSuppressedAsync(Identifier.Email("JOSE\u0301@example.com\u200B")));
        var r = await host.Client.TrackAsync(host.Event("page.viewed", [Identifier.Email("\uFEFFjose\u0301@example.com")]));
        Assert.Equal(TrackStatus.Erased, r.Status);
    }

    [Theory]
    [InlineData("\uFEFFc-100")]
    [InlineData("c-100\u200B")]
    [InlineData("\u00A0c-100\u00A0")]
    public async Task AnOpaqueIdentifier_WithABomOrInvisibleCharactersAroundIt_IsTheSamePerson(string raw)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Known]);

        var r = await host.TrackAsync("page.viewed", [Identifier.CustomerId(raw)]);

        Assert.Equal((await host.ProfileAsync(Known)).Id, r.ProfileId);
        Assert.Equal(["c-100"], (await host.ProfileAsync(Known)).IdentifierValues(IdentifierTypes.CustomerId));
    }

    [Theory]
    [InlineData("+44\u00A020\u00A07946\u00A00958")]
    [InlineData("+\uFF14\uFF14 \uFF12\uFF10 \uFF17\uFF19\uFF14\uFF16 \uFF10\uFF19\uFF15\uFF18")]
    [InlineData("+44 20 7946\u20110958")]
    [InlineData("+44 20 7946\u20130958")]
    [InlineData("+44\u200B2079460958")]
    [InlineData("tel:+442079460958")]
    [InlineData("TEL:+44-20-7946-0958")]
    public void PhoneNumbers_InUnicodeAndUriForms_AreNormalisedToE164(string raw)
    {
        Assert.True(IdentifierNormalizers.Phone(raw, new IdentityOptions { DefaultPhoneCountryCode = "44" }, out var normalized, out var error), error);
        Assert.Equal("+442079460958", normalized);
    }

    [Theory]
    [InlineData("[object Object]")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("false")]
    [InlineData("\u200Bundefined\uFEFF")]
    public async Task ACookieAScriptStringifiedWrongly_NeverMergesTwoPeople(string cookie)
    {
        // Segment/RudderStack-style "super profile": every visitor of a broken tag shares one anonymous id.
        cookie = System.Text.RegularExpressions.Regex.Unescape(cookie);
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("ann"), Identifier.AnonymousId(cookie)]);
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("bob"), Identifier.AnonymousId(cookie)]);
        await host.TrackAsync("user.logged_in", [Identifier.Email("carl@example.com"), Identifier.AnonymousId(cookie)]);

        Assert.NotEqual((await host.ProfileAsync(Identifier.CustomerId("ann"))).Id, (await host.ProfileAsync(Identifier.CustomerId("bob"))).Id);
        Assert.Empty((await host.ProfileAsync(Identifier.CustomerId("ann"))).IdentifierValues(IdentifierTypes.AnonymousId));
        Assert.Empty((await host.ProfileAsync(Identifier.Email("carl@example.com"))).Conflicts);
        var alone = await host.Client.TrackAsync(host.Event("page.viewed", [Identifier.AnonymousId(cookie)]));
        Assert.Equal(TrackStatus.Rejected, alone.Status);
        Assert.Contains("blocked value", alone.Errors.Single().Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIdentifierThatIsOnlyInvisibleCharacters_IsRefusedWithItsField_AndTheBatchGoesOn()
    {
        await using var host = OmnichannelTestHost.Create();
        var results = await host.Client.TrackBatchAsync(
        [
            host.Event("page.viewed", [Identifier.Email("\u200B\uFEFF")]),
            host.Event("page.viewed", [Known]),
        ]);

        Assert.Equal(TrackStatus.Rejected, results[0].Status);
        Assert.Contains(results[0].Errors, e => e.Field.StartsWith("identifiers", StringComparison.Ordinal));
        Assert.Equal(TrackStatus.Accepted, results[1].Status);
    }
}
