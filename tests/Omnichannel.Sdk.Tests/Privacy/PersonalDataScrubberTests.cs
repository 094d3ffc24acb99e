using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Privacy;

namespace Omnichannel.Sdk.Tests.Privacy;

public sealed class PersonalDataScrubberTests
{
    [Theory]
    [InlineData("SMTP 550: 5.1.1 <ann@example.com>: Recipient address rejected", "SMTP 550: 5.1.1 <[email]>: Recipient address rejected")]
    [InlineData("mailbox Ann.O'Neil+shop@mail.example.co.uk is full", "mailbox [email] is full")]
    [InlineData("{\"to\":\"+44 7700 900123\",\"error\":\"unreachable\"}", "{\"to\":\"[phone]\",\"error\":\"unreachable\"}")]
    [InlineData("number 447700900123 blocked", "number [phone] blocked")]
    [InlineData("call (415) 555-0100 now", "call [phone] now")]
    [InlineData("HTTP 503 Service Unavailable (retry after 30 s)", "HTTP 503 Service Unavailable (retry after 30 s)")]
    [InlineData("SMTP 421 4.7.0 try again at 2026-03-02T09:00:00Z", "SMTP 421 4.7.0 try again at 2026-03-02T09:00:00Z")]
    [InlineData("", "")]
    public void Scrub_RemovesAddressesAndPhones_AndKeepsCodesAndTimes(string text, string expected) =>
        Assert.Equal(expected, PersonalDataScrubber.Scrub(text));

    [Fact]
    public void Scrub_OfNull_IsNull() => Assert.Null(PersonalDataScrubber.Scrub(null));

    [Fact]
    public void DeliveryResult_ScrubsItsReason_HoweverItIsMade()
    {
        Assert.Equal("SMTP 550: 5.1.1 <[email]>: rejected", DeliveryResult.PermanentFailure("SMTP 550: 5.1.1 <ann@example.com>: rejected").Reason);
        Assert.Equal("busy [phone]", DeliveryResult.TransientFailure("busy +447700900123").Reason);
        Assert.Equal("no [email]", new DeliveryResult(DeliveryStatus.PermanentFailure, null, "no bob@example.com").Reason);
        Assert.Null(DeliveryResult.Accepted("id-1").Reason);
    }
}
