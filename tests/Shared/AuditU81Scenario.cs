using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>
/// Audit U81 on each store: outcome reports naming only a provider's id the profile does not know yet wait on the profile
/// (<c>pendingReports</c> in its document) until the send is recorded with that id. The list must come back from the
/// store's document as it was written: a second host on the same store is a restart (nothing hot).
/// </summary>
public static class AuditU81Scenario
{
    public static readonly DateTimeOffset Start = new(2026, 4, 13, 9, 0, 0, TimeSpan.Zero);

    public static async Task ReportsWaitingForTheirRecord_ComeBackFromTheStoredDocument(IOmnichannelStore store)
    {
        var ann = Identifier.CustomerId("ann-u81-store");
        Measurement.PendingReport[] written;
        await using (var host = OmnichannelTestHost.Create(start: Start, store: store))
        {
            await host.TrackAsync("user.signed_up", [ann, Identifier.Phone("+447700900182")]);
            await host.TrackAsync(host.Event(EventTypes.MessageClicked, [ann], new { provider_message_id = "SM-u81-1", url = "https://shop.example/a?b=1", note = "é ✓ \u2028" }, channel: "server", at: Start.AddSeconds(-30)));
            await host.TrackAsync(host.Event(EventTypes.MessageDelivered, [ann], new { provider_message_id = "SM-u81-1", detail = new { code = 0, parts = new[] { 1, 2 } } }, channel: "sms", at: Start.AddSeconds(-40), context: new EventContext { Historical = true }));
            written = [.. (await host.ProfileAsync(ann)).PendingReports];
        }

        Assert.Equal(2, written.Length);
        await using (var host = OmnichannelTestHost.Create(start: Start.AddHours(1), store: store))
        {
            var read = (await host.ProfileAsync(ann)).PendingReports;
            Assert.Equal(written.Length, read.Count);
            for (var i = 0; i < written.Length; i++)
            {
                var (w, r) = (written[i], read[i]);
                Assert.Equal((w.EventId, w.Type, w.Timestamp, w.Channel, w.ProviderId, w.Historical), (r.EventId, r.Type, r.Timestamp, r.Channel, r.ProviderId, r.Historical));
                Assert.Equal(w.Properties.GetRawText(), r.Properties.GetRawText());
            }

            Assert.Equal(EventTypes.MessageDelivered, read[0].Type); // in order of their own time
            Assert.True(read[0].Historical);
        }
    }
    private sealed class SmsRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId });
    }

    // Answers with a fixed provider id, as a provider's API does.
    private sealed class FixedIdTransport(string providerId) : IChannelTransport
    {
        public string Channel => ChannelNames.Sms;

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(DeliveryResult.Accepted(providerId));
    }

    /// <summary>
    /// Review of U81: a report kept by one host (the callback came before the send's record) is placed by another host on
    /// the same store when it records the send: counted in the store's measurement rows at its own time, stamped on the
    /// touch, and gone from the list, as a third host reads it back.
    /// </summary>
    public static async Task AReportKeptByOneHost_CountsWhenAnotherRecordsItsSend(IOmnichannelStore store)
    {
        var bea = Identifier.CustomerId("bea-r81-store");
        var reportAt = Start.AddSeconds(30);
        await using (var host = OmnichannelTestHost.Create(start: Start, store: store))
        {
            await host.TrackAsync("user.signed_up", [bea, Identifier.Phone("+447700900383")]);
            await host.TrackAsync(host.Event(EventTypes.MessageDelivered, [bea], new { provider_message_id = "SM-r81-store" }, channel: "server", at: reportAt));
            Assert.Single((await host.ProfileAsync(bea)).PendingReports);
        }

        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, new FixedIdTransport("SM-r81-store"));
        await using (var host = OmnichannelTestHost.Create(start: Start, store: store, delivery: delivery))
        {
            await host.Client.SendAsync(bea, new MessageRequest { Key = "sms-r81-store", Channels = [ChannelNames.Sms], TemplateId = "hello", Class = MessageClass.Transactional });
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        }

        await using (var host = OmnichannelTestHost.Create(start: Start.AddHours(1), store: store))
        {
            var p = await host.ProfileAsync(bea);
            Assert.Empty(p.PendingReports);
            var touch = Assert.Single(p.Touches, t => t.Key == "sms-r81-store");
            Assert.Equal("SM-r81-store", touch.ProviderId);
            Assert.Equal(reportAt, touch.DeliveredAt);
            var rows = await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Delivered });
            var row = Assert.Single(rows, r => r.Key.Metric == MeasurementMetrics.Delivered && r.Key.TemplateId == "hello");
            Assert.Equal(1, row.Count);
            Assert.Equal(ChannelNames.Sms, row.Key.Channel);
        }
    }
}

