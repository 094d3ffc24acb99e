using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;
using RetailReplay;

namespace RetailReplay.Tests;

/// <summary>
/// Audit U41 on the real shop's year: a shop that starts with the SDK loads its past orders (here 400 customers' whole
/// year of invoices, in batches, on the evening after the last one) and has journeys on its RFM segments. Loading
/// history must put people in segments and message nobody (getdatakick/revws#75 "Emails send when importing reviews";
/// segmentio/action-destinations#3094, Klaviyo's <c>historical_import</c>); the first live order after it still does.
/// </summary>
public sealed class AuditU41HistoryImportTests
{
    private static JourneyDefinition OnSegment(string segment) => JourneyJson.Parse($$"""
        {"id": "on-{{segment}}", "version": 1, "name": "{{segment}}", "trigger": {"type": "segment", "segment": "{{segment}}", "on": "entered"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "on-{{segment}}", "class": "transactional"}]}
        """).Value!;

    [RetailDataFact]
    public async Task AYearOfRealInvoices_ImportedInBatches_FillsTheSegments_AndMessagesNobody_UntilALiveOrder()
    {
        var invoices = OnlineRetail.ReadInvoices(ReplayRun.FindData()!);
        var customers = invoices.Where(i => i.CustomerId is not null).Select(i => i.CustomerId!).Distinct().Take(400).ToHashSet(StringComparer.Ordinal);
        var events = invoices.Where(i => i.CustomerId is { } c && customers.Contains(c)).Select(OnlineRetail.ToEvent).OfType<CustomerEvent>()
            .Select(e => e with { Identifiers = [.. e.Identifiers, Identifier.Email(((Identifier)e.Identifiers[0]).Value + "@replay.invalid")] })
            .ToList();
        var segments = SegmentJson.ParseMany(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "rfm-segments.json"))).Value!;
        string[] watched = ["repeat-buyers", "frequent", "high-value", "international", "returners"];
        var journeys = watched.Select(OnSegment).ToList();

        var clock = new FakeTimeProvider(new DateTimeOffset(2011, 12, 11, 0, 0, 0, TimeSpan.Zero)); // the evening after the last invoice
        var options = new OmnichannelOptions { DeduplicationRetention = TimeSpan.FromDays(400) };
        options.Privacy.HashKey = "audit-u41-history-import-key-not-a-secret-01";
        options.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
        segments.ToList().ForEach(options.Segments.Add);
        journeys.ForEach(options.Journeys.Add);
        var transport = new Counting();
        var delivery = new DeliverySetup();
        delivery.AddTransport("counting", transport);
        var loaded = TemplateRenderer.Load(journeys.Select(j => new TemplateDocument(j.Id, [TemplateVariant.Email(j.Id, "<p>" + j.Id + "</p>", j.Id)])));
        delivery.Renderer = new TemplateMessageRenderer(loaded.Renderer!, "Shop <shop@example.invalid>");
        await using var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), clock, delivery: delivery);

        foreach (var chunk in events.Chunk(500))
        {
            var results = await engine.TrackBatchAsync(chunk);
            Assert.All(results, r => Assert.True(r.Status == TrackStatus.Accepted, $"{r.Status}: {string.Join("; ", r.Errors)}"));
        }

        await engine.AdvanceVirtualClockAsync(clock.GetUtcNow().AddHours(2), clock.SetUtcNow);
        await engine.RunDispatchAsync();
        foreach (var s in watched)
        {
            Assert.NotEmpty(await engine.GetSegmentMembersAsync(s, null, 1)); // the history is there...
        }

        Assert.Equal(0, transport.Sent); // ...and nobody heard about it

        // The first live orders after the import: a new customer's second order makes her a repeat buyer today.
        Identifier[] newcomer = [Identifier.CustomerId("u41-new"), Identifier.Email("u41-new@replay.invalid")];
        foreach (var id in new[] { "u41-1", "u41-2" })
        {
            var r = await engine.TrackAsync(new CustomerEvent
            {
                Id = id, Type = EventTypes.OrderPlaced, Timestamp = clock.GetUtcNow(), Identifiers = newcomer,
                Properties = JsonSerializer.SerializeToElement(new { order_id = id, total = 12.5m, currency = "GBP" }),
            });
            Assert.Equal(TrackStatus.Accepted, r.Status);
        }

        await engine.AdvanceVirtualClockAsync(clock.GetUtcNow().AddHours(2), clock.SetUtcNow);
        await engine.RunDispatchAsync();
        Assert.Equal(1, transport.Sent);
    }

    private sealed class Counting : IChannelTransport
    {
        private long _sent;

        public string Channel => ChannelNames.Email;

        public long Sent => Interlocked.Read(ref _sent);

        public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _sent);
            return ValueTask.FromResult(DeliveryResult.Accepted(message.MessageId));
        }
    }
}
