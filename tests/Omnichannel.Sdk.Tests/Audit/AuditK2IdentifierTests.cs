using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit K2: identifier spellings from public bug reports, one person or two.</summary>
public sealed class AuditK2IdentifierTests
{
    private static async Task<(TrackResult First, TrackResult Second)> TwoEvents(OmnichannelTestHost host, Identifier first, Identifier second)
    {
        var a = await host.TrackAsync("x.signed_up", [first]);
        var b = await host.TrackAsync("x.clicked", [second]);
        return (a, b);
    }

    // libphonenumber reads any Unicode decimal digit (google/libphonenumber#954; libphonenumber-js#141: Arabic keyboards
    // type +٤٤…): a number typed in Arabic-Indic, Persian or Devanagari digits is the same number.
    [Theory]
    [InlineData("+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨")]
    [InlineData("+۴۴ ۲۰ ۷۹۴۶ ۰۹۵۸")]
    [InlineData("+४४ २० ७९४६ ०९५८")]
    [InlineData("＋４４ ２０ ７９４６ ０９５８")]
    public async Task APhoneInNonLatinDigits_IsTheSameNumber(string written)
    {
        await using var host = OmnichannelTestHost.Create();
        var (a, b) = await TwoEvents(host, Identifier.Phone("+44 20 7946 0958"), Identifier.Phone(written));

        Assert.Equal(TrackStatus.Accepted, b.Status);
        Assert.Equal(a.ProfileId, b.ProfileId);
        Assert.Equal(["+442079460958"], (await host.ProfileAsync(Identifier.Phone("+442079460958"))).IdentifierValues(IdentifierTypes.Phone));
    }

    // A trunk prefix kept after the country code ("+44 020…", "0044 (0)20…") is the same number.
    [Theory]
    [InlineData("+44 020 7946 0958")]
    [InlineData("0044 (0)20 7946 0958")]
    [InlineData("+44 (0) 20-7946-0958")]
    public async Task ATrunkPrefixAfterTheCountryCode_IsTheSameNumber(string written)
    {
        await using var host = OmnichannelTestHost.Create();
        var (a, b) = await TwoEvents(host, Identifier.Phone("+442079460958"), Identifier.Phone(written));
        Assert.Equal(a.ProfileId, b.ProfileId);
    }

    // An extension or vanity letters: libphonenumber drops the extension from E.164 and turns letters into digits, so two
    // colleagues behind one switchboard would be one person. Refused with the field instead.
    [Theory]
    [InlineData("+1 415 555 0100 ext. 12", "+1 415 555 0100 ext. 13")]
    [InlineData("+1 415 555 0100 x12", "+1 415 555 0100 x13")]
    [InlineData("+1 415 555 0100#12", "+1 415 555 0100#13")]
    [InlineData("1-800-FLOWERS", "1-800-356-9377")]
    public async Task AnExtensionOrVanityLetters_AreRefusedWithTheField_NotJoinedToTheMainNumber(string first, string second)
    {
        await using var host = OmnichannelTestHost.Create();
        var ann = await host.Client.TrackAsync(host.Event("x.signed_up", [Identifier.Email("ann@x.io"), Identifier.Phone(first)]));
        await host.Client.TrackAsync(host.Event("x.signed_up", [Identifier.Email("bob@x.io"), Identifier.Phone(second)]));

        Assert.Equal(TrackStatus.Rejected, ann.Status);
        Assert.Contains(ann.Errors, e => e.Field == "identifiers[1].value" && e.Message.Contains("not a phone number", StringComparison.Ordinal));
        Assert.Null(await host.Client.GetProfileAsync(Identifier.Email("ann@x.io")));
    }

    // Mexico dropped the mobile "1" after +52 in 2019 (libphonenumber FAQ, google/libphonenumber#2693; phonelib#254): WhatsApp
    // and old contacts still send +52 1 …, the same phone.
    [Fact]
    public async Task AMexicanMobileWithTheOld1_IsTheSameNumber()
    {
        await using var host = OmnichannelTestHost.Create();
        var (a, b) = await TwoEvents(host, Identifier.Phone("+52 55 1234 5678"), Identifier.Phone("+52 1 55 1234 5678"));
        Assert.Equal(a.ProfileId, b.ProfileId);
    }

    // Argentina: a mobile dialled from abroad has a 9 after +54, nationally 0 + area + 15 (libphonenumber FAQ). Both are
    // one phone; without the 9 it is a fixed line with the same digits, another subscriber.
    [Fact]
    public async Task AnArgentinianMobile_NationalWith15_AndInternationalWith9_IsOneNumber_ButNotTheFixedLine()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneRegion = "AR");
        var (a, b) = await TwoEvents(host, Identifier.Phone("+54 9 11 2345 6789"), Identifier.Phone("011 15 2345-6789"));
        Assert.Equal(a.ProfileId, b.ProfileId);

        var fixedLine = await host.TrackAsync("x.signed_up", [Identifier.Phone("+54 11 2345 6789")]);
        Assert.NotEqual(a.ProfileId, fixedLine.ProfileId);
    }

    // Brazil: a carrier selection code ("0 15 11 …") is dialling, not number; the ninth digit added to mobiles in 2012–2016
    // makes another number (libphonenumber keeps them apart; so do we).
    [Fact]
    public async Task ABrazilianNumber_WithACarrierCode_IsOneNumber_ButWithoutTheNinthDigitIsAnother()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneRegion = "BR");
        var (a, b) = await TwoEvents(host, Identifier.Phone("+55 11 98765 4321"), Identifier.Phone("0 15 11 98765-4321"));
        Assert.Equal(a.ProfileId, b.ProfileId);

        var eightDigits = await host.TrackAsync("x.signed_up", [Identifier.Phone("+55 11 8765 4321")]);
        Assert.NotEqual(a.ProfileId, eightDigits.ProfileId);
    }

    // Gmail ignores dots and "+tags" (OkunaOrg/okuna-api#406), but other providers do not and people use tags to be
    // someone else on purpose (ubernostrum/django-registration#136): not the same person by default.
    [Theory]
    [InlineData("ann.lee@gmail.com", "annlee@gmail.com")]
    [InlineData("annlee+shop@gmail.com", "annlee@gmail.com")]
    [InlineData("annlee@googlemail.com", "annlee@gmail.com")]
    public async Task GmailDotsAndTags_AreNotJoinedByDefault(string first, string second)
    {
        await using var host = OmnichannelTestHost.Create();
        var (a, b) = await TwoEvents(host, Identifier.Email(first), Identifier.Email(second));
        Assert.NotEqual(a.ProfileId, b.ProfileId);
    }

    // A look-alike letter from another script (bytebase/bytebase#18943: Cyrillic 'о') is another address or id; folding
    // confusables would let anyone attach themselves to a victim's profile.
    [Theory]
    [InlineData(IdentifierTypes.Email, "ann@x.io", "\u0430nn@x.io")]
    [InlineData(IdentifierTypes.Email, "testo@gmail.com", "test\u043E@gmail.com")]
    [InlineData(IdentifierTypes.CustomerId, "admin", "\u0430dmin")]
    [InlineData(IdentifierTypes.CustomerId, "C-100", "C-1OO")]
    public async Task ALookAlikeLetter_IsAnotherPerson(string type, string first, string second)
    {
        await using var host = OmnichannelTestHost.Create();
        var (a, b) = await TwoEvents(host, new Identifier(type, first), new Identifier(type, second));
        Assert.NotEqual(a.ProfileId, b.ProfileId);
    }

    // Invisible and decomposed forms (macOS/iOS send NFD; a zero-width space comes with pasted text) of an email.
    [Theory]
    [InlineData("jos\u00E9@x.io", "jose\u0301@x.io")]
    [InlineData("ann@x.io", "a\u200Bnn@x.io")]
    [InlineData("ann@x.io", "ann\uFF20x.io")]
    [InlineData("ann@x.io", "ann@x\uFF0Eio")]
    public async Task AnEmailInAnotherUnicodeForm_IsTheSameAddress(string first, string second)
    {
        await using var host = OmnichannelTestHost.Create();
        var (a, b) = await TwoEvents(host, Identifier.Email(first), Identifier.Email(second));
        Assert.Equal(a.ProfileId, b.ProfileId);
    }

    // RFC 5321: a quoted local part that needs no quotes is the same mailbox; one that needs them (a space) stays refused.
    [Fact]
    public async Task AQuotedLocalPartThatNeedsNoQuotes_IsTheSameAddress()
    {
        await using var host = OmnichannelTestHost.Create();
        var (a, b) = await TwoEvents(host, Identifier.Email("ann.lee@x.io"), Identifier.Email("\"Ann.Lee\"@x.io"));
        Assert.Equal(a.ProfileId, b.ProfileId);
        Assert.Equal(["ann.lee@x.io"], (await host.ProfileAsync(Identifier.Email("ann.lee@x.io"))).IdentifierValues(IdentifierTypes.Email));

        var spaced = await host.Client.TrackAsync(host.Event("x.clicked", [Identifier.Email("\"ann lee\"@x.io")]));
        Assert.Equal(TrackStatus.Rejected, spaced.Status);
    }

    // A domain's trailing root dot or an ideographic full stop (IDNA separator U+3002) is refused with the field, not
    // stored as a second address.
    [Theory]
    [InlineData("ann@x.io.")]
    [InlineData("ann@x\u3002io")]
    public async Task ADomainWithARootDotOrIdeographicStop_IsRefusedWithTheField(string written)
    {
        await using var host = OmnichannelTestHost.Create();
        var r = await host.Client.TrackAsync(host.Event("x.clicked", [Identifier.Email(written)]));
        Assert.Equal(TrackStatus.Rejected, r.Status);
        Assert.Contains(r.Errors, e => e.Field == "identifiers[0].value");
    }

    // Customer ids are opaque (audit Idm): a zero-width space inside one, or its NFD spelling, is another id; only the
    // ends are trimmed of invisible characters. A host whose ids come from people registers a normaliser.
    [Theory]
    [InlineData("C-1", "C-\u200B1", false)]
    [InlineData("jos\u00E9", "jose\u0301", false)]
    [InlineData("C-1", "\uFEFFC-1\u200B", true)]
    public async Task ACustomerId_IsOpaque_ExceptForInvisibleEnds(string first, string second, bool same)
    {
        await using var host = OmnichannelTestHost.Create();
        var (a, b) = await TwoEvents(host, Identifier.CustomerId(first), Identifier.CustomerId(second));
        Assert.Equal(same, a.ProfileId == b.ProfileId);
    }
}
