using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U31: identifiers in unusual forms, from public reports of email and phone validators that CDPs and messaging
/// systems rely on. A valid but odd form must be one person with its plain twin; an invalid one must be refused with a
/// field and a reason that says what to change, and never kept as a second person.
/// </summary>
public sealed class AuditU31Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    // ---- 1. A domain with an empty label ----
    // go-playground/validator#836 (test@yahoo..co.jp passed), thedersen/backbone.validation#138 (test@test.co..nz),
    // jquery-validation/jquery-validation#940 (user@domain.....com.br), mikel/mail#1124: a domain label cannot be empty,
    // no server delivers to it, and kept it was a second person beside the typo's twin.
    [Theory]
    [InlineData("ann@example..com")]
    [InlineData("ann@yahoo.co..jp")]
    [InlineData("ann@.example.com")]
    [InlineData("ann@example..com.")]
    public void Email_ADomainWithAnEmptyLabel_IsRefusedSayingSo(string raw)
    {
        Assert.False(IdentifierNormalizers.Email(raw, new IdentityOptions(), out _, out var error));
        Assert.Contains("not an email address", error);
        Assert.Contains("dot", error);
    }

    [Fact]
    public async Task Track_WithADomainWithAnEmptyLabel_IsRejectedNamingTheIdentifier_AndMakesNobody()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var r = await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("c-1"), Identifier.Email("ann@example..com")]));
        Assert.Equal(TrackStatus.Rejected, r.Status);
        var e = Assert.Single(r.Errors);
        Assert.Equal("identifiers[1].value", e.Field);
        Assert.Contains("two dots together", e.Message);
        Assert.Null(await host.Client.GetProfileAsync(Identifier.CustomerId("c-1")));
    }

    // ---- 2. A domain ending with a dot ----
    // mysociety/foi-register#251 (name@example.com. failed at send time with "501 domain missing or malformed"),
    // alecthomas/voluptuous#526, posabsolute/jQuery-Validation-Engine#337, python/cpython#101034. Refused before and still
    // refused (RFC 5321 has no root dot), but the reason said "needs a dot inside it" of a domain that has one.
    [Theory]
    [InlineData("ann@example.com.")]
    [InlineData("ann@mail.example.co.uk.")]
    public void Email_ADomainEndingWithADot_IsRefusedSayingSo(string raw)
    {
        Assert.False(IdentifierNormalizers.Email(raw, new IdentityOptions(), out _, out var error));
        Assert.Contains("ends with a dot", error);
    }

    // ---- 3. Valid odd forms are accepted, and one person with their plain twin ----
    // hmrc/emailaddress#1 and mikel/mail#1124 (consecutive dots in a local part are seen in the wild and delivered, kept on
    // purpose), giggsey/libphonenumber-for-php#152 and peeringdb/peeringdb#657 (what E.164 holds), rspamd/rspamd#1543.
    [Theory]
    [InlineData("ANN@Example.COM", "ann@example.com")]
    [InlineData("\"ann\"@example.com", "ann@example.com")]
    [InlineData("ann@[192.168.0.1]", "ann@[192.168.0.1]")]
    [InlineData("ann.o'neil@example.ie", "ann.o'neil@example.ie")]
    [InlineData("taro..yamada@docomo.ne.jp", "taro..yamada@docomo.ne.jp")]
    [InlineData("ann+shop@example.com", "ann+shop@example.com")]
    [InlineData("ann@xn--exmple-cua.com", "ann@exämple.com")]
    public void Email_ValidOddForms_AreAccepted(string raw, string expected)
    {
        Assert.True(IdentifierNormalizers.Email(raw, new IdentityOptions(), out var normalized, out var error), error);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("0044 20 7946 0958")]
    [InlineData("011 44 20 7946 0958")]
    [InlineData("+44 (0)20 7946 0958")]
    [InlineData("+44 020 7946 0958")]
    [InlineData("tel:+44-20-7946-0958")]
    [InlineData("+４４ ２０ ７９４６ ０９５８")]
    public void Phone_InternationalPrefixesAndTrunkZeros_AreOneNumber(string raw)
    {
        Assert.True(IdentifierNormalizers.Phone(raw, new IdentityOptions { DefaultPhoneRegion = "US" }, out var normalized, out var error), error);
        Assert.Equal("+442079460958", normalized);
    }

    [Fact]
    public async Task OddButValidForms_OfOneAddress_AreOneProfile_WhateverTheArrivalOrder()
    {
        foreach (var order in new[] { new[] { 0, 1, 2 }, [2, 1, 0], [1, 2, 0] })
        {
            await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneRegion = "GB", Start);
            var events = new (Identifier Id, Identifier Other)[]
            {
                (Identifier.Email("ann@xn--exmple-cua.com"), Identifier.Phone("0044 20 7946 0958")),
                (Identifier.Email("\"Ann\"@EXÄMPLE.com"), Identifier.CustomerId("c-1")),
                (Identifier.Email("ann@exämple.com"), Identifier.Phone("+44 (0)20 7946 0958")),
            };
            foreach (var i in order)
            {
                var r = await host.TrackAsync("page.viewed", [events[i].Id, events[i].Other]);
                Assert.Equal(TrackStatus.Accepted, r.Status);
            }

            var p = await host.ProfileAsync(Identifier.CustomerId("c-1"));
            Assert.Equal(p.Id, (await host.ProfileAsync(Identifier.Phone("020 7946 0958"))).Id);
            Assert.Equal(["ann@exämple.com"], p.Identifiers.Where(x => x.Type == IdentifierTypes.Email).Select(x => x.Value));
            Assert.Equal(["+442079460958"], p.Identifiers.Where(x => x.Type == IdentifierTypes.Phone).Select(x => x.Value));
        }
    }

    // ---- 4. A phone number with an extension ----
    // joost/phony_rails#138 and #176 ("555-123-1234 x44", "ext999", "#999"), daddyz/phonelib#58 ("+19052223333;ext=555"),
    // DrHyde/perl-modules-Number-Phone#92 ("ext. 409"), django-phonenumber-field/django-phonenumber-field#537. E.164 has no
    // extension, so the number without it is the switchboard's, not hers: still refused, but "unexpected character 'e'"
    // did not say what to change.
    [Theory]
    [InlineData("+1 415-555-2671 ext. 12")]
    [InlineData("+1 415-555-2671 x12")]
    [InlineData("+1 415 555 2671 #12")]
    [InlineData("+1 415 555 2671;ext=12")]
    [InlineData("tel:+1-415-555-2671;ext=12")]
    [InlineData("(415) 555-2671 Extension 12")]
    public void Phone_WithAnExtension_IsRefusedSayingSo(string raw)
    {
        Assert.False(IdentifierNormalizers.Phone(raw, new IdentityOptions { DefaultPhoneRegion = "US" }, out _, out var error));
        Assert.Contains("extension", error);
    }

    [Fact]
    public async Task Track_WithAPhoneExtension_IsRejectedNamingTheIdentifier_AndOtherLettersStillSayTheCharacter()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneRegion = "US", Start);
        var ext = await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("c-1"), Identifier.Phone("415-555-2671 ext. 12")]));
        var letters = await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("c-1"), Identifier.Phone("1-800-FLOWERS")]));
        Assert.Equal((TrackStatus.Rejected, "identifiers[1].value"), (ext.Status, Assert.Single(ext.Errors).Field));
        Assert.Contains("extension", ext.Errors[0].Message);
        Assert.Equal(TrackStatus.Rejected, letters.Status);
        Assert.Contains("unexpected character 'F'", Assert.Single(letters.Errors).Message);
    }
}
