using System.Text.Json;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Templates;

/// <summary>
/// A journey's message reads the event that started it as <c>event</c>, as the README says and as event-triggered
/// campaigns elsewhere do (Customer.io's <c>{{ event.x }}</c>, Braze's <c>event_properties</c>): it rendered empty, the
/// trigger's properties being reachable only as <c>journey.trigger</c>.
/// </summary>
public sealed class JourneyTriggerEventTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private static OmnichannelTestHost Host(RecordingTransport email, QuietHoursAction quietHours = QuietHoursAction.Ignore, RecordingTransport? webhook = null)
    {
        var templates = TemplateRenderer.Load([
            new TemplateDocument("shipped", [TemplateVariant.Email(
                "Order {{ event.properties.order_id }} is on its way",
                null,
                "{{ event.type }} {{ event.id }} {{ event.timestamp | date: '%Y-%m-%d %H:%M' }} via {{ event.properties.carrier.name }}; also {{ journey.trigger.order_id }}")]),
        ]);
        Assert.True(templates.Succeeded, string.Join("; ", templates.Errors.Select(e => e.Message)));
        var delivery = new DeliverySetup { Renderer = new TemplateMessageRenderer(templates.Renderer!, "shop@kitty.example") }.AddTransport("esp", email);
        if (webhook is not null)
        {
            delivery.AddTransport("hooks", webhook);
        }

        return OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = quietHours;
                o.Journeys.Add(Journey.Define("shipping", "Shipping")
                    .TriggeredBy(t => t.Event("order.shipped"))
                    .Steps(s => s.Send("mail", [ChannelNames.Email], "shipped").Webhook("hook", "https://erp.example/hook", """{"order": {{ event.properties.order_id }}, "type": {{ event.type }}}"""))
                    .Build());
            },
            delivery: delivery);
    }

    private static async Task ShippedAsync(OmnichannelTestHost host, DateTimeOffset at)
    {
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Email, granted = true }, at: at - TimeSpan.FromMinutes(5)));
        await host.TrackAsync(host.Event("order.shipped", [Ann], new { order_id = "A-17", carrier = new { name = "DHL" } }, at: at) with { Id = "ship-1" });
    }

    [Fact]
    public async Task AJourneysMessage_ReadsItsTriggerEvent_AsEvent()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var webhook = new RecordingTransport(ChannelNames.Webhook);
        await using var host = Host(email, webhook: webhook);
        var at = host.Time.GetUtcNow() - TimeSpan.FromMinutes(1);

        await ShippedAsync(host, at);
        await host.AdvanceAsync(TimeSpan.Zero);

        var message = (EmailMessage)Assert.Single(email.Messages);
        Assert.Equal("Order A-17 is on its way", message.Subject);
        Assert.Equal($"order.shipped ship-1 {at:yyyy-MM-dd HH:mm} via DHL; also A-17", message.TextBody);
        var hook = (WebhookMessage)Assert.Single(webhook.Messages);
        Assert.Equal("A-17", hook.Payload.GetProperty("order").GetString());
        Assert.Equal("order.shipped", hook.Payload.GetProperty("type").GetString());
    }

    // A message held for quiet hours is rendered again when it leaves, from the request kept in the outbox.
    [Fact]
    public async Task AMessageHeldForTheNight_StillReadsItsTriggerEvent_WhenItLeaves()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email, QuietHoursAction.Defer);
        var night = new DateTimeOffset(host.Time.GetUtcNow().UtcDateTime.Date.AddDays(1).AddHours(23), TimeSpan.Zero);
        await host.AdvanceToAsync(night);

        await ShippedAsync(host, night);
        await host.AdvanceAsync(TimeSpan.Zero);
        Assert.Empty(email.Messages); // held until 08:00
        await host.AdvanceAsync(TimeSpan.FromHours(10));

        var message = (EmailMessage)Assert.Single(email.Messages);
        Assert.Equal("Order A-17 is on its way", message.Subject);
        Assert.StartsWith("order.shipped ship-1 ", message.TextBody, StringComparison.Ordinal);
    }

    // A message the host sends itself has no trigger: `event` stays empty, its data is `journey`.
    [Fact]
    public async Task AMessageTheHostSends_HasNoEvent()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = Host(email);
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Email, granted = true }));

        var sent = await host.Client.SendAsync(Ann, new MessageRequest { Key = "k1", Channels = [ChannelNames.Email], TemplateId = "shipped", Class = MessageClass.Transactional, Data = new() { ["trigger"] = new System.Text.Json.Nodes.JsonObject { ["order_id"] = "B-2" } } });
        await host.AdvanceAsync(TimeSpan.Zero);

        Assert.Equal(SendStatus.Queued, sent.Status);
        var message = (EmailMessage)Assert.Single(email.Messages);
        Assert.Equal("Order  is on its way", message.Subject);
        Assert.Equal("   via ; also B-2", message.TextBody);
    }
}
