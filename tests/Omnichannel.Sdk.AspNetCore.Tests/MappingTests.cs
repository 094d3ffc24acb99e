using System.Text.Json;
using Omnichannel.Sdk.AspNetCore.Implementation;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

public sealed class MappingTests
{
    [Theory]
    [InlineData("Signed Up", null, "signed_up")]
    [InlineData("  Video Played! ", null, "video_played")]
    [InlineData("Café Visité", null, "cafe_visite")]
    [InlineData("404 Seen", null, "event_404_seen")]
    [InlineData("order.placed", null, "order_placed")]
    [InlineData("Signed Up", "web", "web.signed_up")]
    [InlineData("!!!", null, null)]
    public void CustomEventNames_AreNormalisedToTheSdksPattern(string name, string? prefix, string? expected)
    {
        var normalized = Names.NormalizeCustom(name, prefix);
        Assert.Equal(expected, normalized);
        if (normalized is not null)
        {
            Assert.True(Names.IsEventType(normalized));
        }
    }

    [Fact]
    public void Options_WithoutWriteKeys_OrWithWeakOrDuplicateKeys_AreInvalid()
    {
        var o = new TrackingApiOptions();
        Assert.Contains(o.Validate(), e => e.StartsWith("WriteKeys", StringComparison.Ordinal));
        o.WriteKeys.Add(new TrackingWriteKey { Key = "short", Source = "a" });
        o.WriteKeys.Add(new TrackingWriteKey { Key = "0123456789abcdef", Source = "a", Channel = "Web" });
        o.WriteKeys.Add(new TrackingWriteKey { Key = "0123456789abcdef", Source = "b" });
        o.Mapping.TrackEvents["Thing"] = "Not A Type";
        var errors = o.Validate();
        Assert.Contains(errors, e => e.Contains("at least 16", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("another write key's source", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("used by another write key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Channel", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("TrackEvents", StringComparison.Ordinal));
    }

    [Fact]
    public void AWriteKeyFromMissingConfiguration_IsReportedAsNotSet_WithItsSource()
    {
        var o = new TrackingApiOptions();
        o.WriteKeys.Add(new TrackingWriteKey { Key = null!, Source = "website" });   // builder.Configuration["Tracking:WebsiteKey"]! with no such key
        o.WriteKeys.Add(new TrackingWriteKey { Key = "short", Source = "ios-app" });
        var errors = o.Validate();
        Assert.Contains(errors, e => e.StartsWith("WriteKeys[0].Key (source 'website') is not set", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("WriteKeys[1].Key (source 'ios-app') must be at least 16 characters", StringComparison.Ordinal));
    }

    [Fact]
    public void HostMapping_RenamesEventsAndIdentifierTypes()
    {
        var o = new TrackingApiOptions();
        o.Mapping.TrackEvents["Subscribed"] = EventTypes.NewsletterSubscribed;
        o.Mapping.UserIdType = IdentifierTypes.LoyaltyCard;
        var mapper = new SpecMessageMapper(o);
        using var doc = JsonDocument.Parse("""{"type":"track","userId":"L-1","event":"subscribed","messageId":"m1"}""");
        var mapped = mapper.Map(doc.RootElement, null, new RequestFacts(new TrackingWriteKey { Source = "s" }, DateTimeOffset.UnixEpoch, null, null));
        Assert.Equal(EventTypes.NewsletterSubscribed, mapped.Event!.Type);
        Assert.Equal(Identifier.LoyaltyCard("L-1"), Assert.Single(mapped.Event.Identifiers));
        Assert.Equal("m1", mapped.Event.Id);
    }

    [Fact]
    public void WithoutMessageId_TheIdIsStableForTheSameBytes()
    {
        var mapper = new SpecMessageMapper(new TrackingApiOptions());
        var facts = new RequestFacts(new TrackingWriteKey { Source = "s" }, DateTimeOffset.UnixEpoch, null, null);
        using var a = JsonDocument.Parse("""{"type":"track","userId":"u","event":"E"}""");
        using var b = JsonDocument.Parse("""{"type":"track","userId":"u","event":"F"}""");
        Assert.Equal(mapper.Map(a.RootElement, null, facts).Event!.Id, mapper.Map(a.RootElement, null, facts).Event!.Id);
        Assert.NotEqual(mapper.Map(a.RootElement, null, facts).Event!.Id, mapper.Map(b.RootElement, null, facts).Event!.Id);
    }
}
