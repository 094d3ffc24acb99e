using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>First hour, fourth pass (twenty-seventh session): what a newcomer coming from Segment or sending her own message hit.</summary>
public sealed class AuditFirstHourTwentySeventhTests
{
    [Fact]
    public async Task AnEventNamedTheSegmentSpecWay_IsRejectedSayingWhereSuchNamesAreTranslated_AndWhatToWrite()
    {
        await using var host = OmnichannelTestHost.Create();

        var rejected = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync("Order Completed", [Identifier.Email("ann@example.com")]));

        var error = Assert.Single(rejected.Result.Errors);
        Assert.Equal("type", error.Field);
        Assert.StartsWith("'Order Completed' is not a valid event type", error.Message, StringComparison.Ordinal);
        Assert.Contains("translated only by the tracking API (Omnichannel.Sdk.AspNetCore, TrackingApiOptions.Mapping)", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("write the SDK's type, such as order.placed (the names on EventTypes)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AJourneyTriggeredByASegmentSpecName_SaysTheSameAtItsPath()
    {
        var result = JourneyJson.Parse("""
            {"id": "thanks", "version": 1, "name": "Thanks", "trigger": {"type": "event", "event": "Order Completed"},
             "steps": [{"id": "end", "type": "exit"}]}
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("$.trigger.event", error.Path);
        Assert.Contains("Segment Spec name", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("did you mean", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInvalidTypeWithoutASpace_GetsNoSegmentSpecHint()
    {
        var result = SegmentJson.Parse("""{"id": "buyers", "name": "Buyers", "rule": {"event": "order-placed", "count": {"op": "gte", "value": 1}}}""");

        Assert.DoesNotContain("Segment Spec", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMessageRequestsData_IsWhatTheTemplateReadsAsJourney()
    {
        await using var host = OmnichannelTestHost.Create(services => services.AddOmnichannel(o => o.Delivery.EmailFrom = "Shop <hello@shop.example>")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("order-confirmation",
                [TemplateVariant.Email("Order {{ journey.order_id }}", "<p>{{ journey.order_id }} is confirmed.</p>")]))));
        var ann = Identifier.Email("ann@example.com");
        await host.TrackAsync("user.signed_up", [ann]);

        var result = await host.Client.SendAsync(ann, new MessageRequest
        {
            Key = "order-A1-confirmation",
            Channels = [ChannelNames.Email],
            TemplateId = "order-confirmation",
            Class = MessageClass.Transactional,
            Data = new JsonObject { ["order_id"] = "A1" },
        });
        await host.AdvanceAsync(TimeSpan.Zero);

        Assert.Equal(SendStatus.Queued, result.Status);
        Assert.Equal("Order A1", Assert.IsType<EmailMessage>(Assert.Single(host.Sent.SentTo("ann@example.com"))).Subject);
    }
}
