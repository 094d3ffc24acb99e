using System.Text.Json;
using Omnichannel.Sdk.AspNetCore.Implementation;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>A hostile review of the forty-fourth session's tracking changes (the Spec's Email events): what broke, pinned.</summary>
public sealed class ReviewFortyFourthTrackingTests
{
    // The Spec's Email events kept a channel the message named only when it was a built-in messaging channel; a channel of
    // the host's own (a LINE or Telegram transport, its identifier type registered) was replaced by email. An
    // `Unsubscribed` her LINE tool reported withdrew her email consent instead of her LINE consent: her next LINE promo
    // went out, and email she had not refused stopped.
    [Theory]
    [InlineData("Unsubscribed", "line", "line")]
    [InlineData("Email Marked as Spam", " LINE ", "line")]
    [InlineData("Unsubscribed", "web", "email")] // not a messaging channel: still email
    [InlineData("Unsubscribed", "sms", "sms")]
    public void AnOptOutNamingAChannelOfTheHostsOwn_KeepsThatChannel(string name, string channel, string expected)
    {
        var identity = new IdentityOptions();
        identity.AddType(new IdentifierRule("line"));
        using var doc = JsonDocument.Parse($$$"""{"type":"track","userId":"u","event":"{{{name}}}","messageId":"m1","properties":{"channel":"{{{channel}}}"}}""");
        var mapped = new SpecMessageMapper(new TrackingApiOptions(), identity: identity)
            .Map(doc.RootElement, null, new RequestFacts(new TrackingWriteKey { Source = "s" }, DateTimeOffset.UnixEpoch, null, null));

        Assert.Equal(expected, mapped.Event!.Properties.GetProperty("channel").GetString()!.Trim().ToLowerInvariant());
    }
}
