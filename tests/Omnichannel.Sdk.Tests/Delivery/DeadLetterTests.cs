using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Engine;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// An outbox entry whose payload cannot be read can never be sent: it is given up at once as a failed message (a dead
/// letter in the metrics and the log, which name its key only), not claimed again each time its lease ends, for ever.
/// </summary>
public sealed class DeadLetterTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-1");

    [Fact]
    public async Task ACorruptOutboxEntry_IsGivenUpAsAFailedDeadLetter_NotRetriedForEver()
    {
        var logs = new List<string>();
        using var factory = LoggerFactory.Create(b => b.AddProvider(new ListLogger(logs)).SetMinimumLevel(LogLevel.Debug));
        var meters = new ScopedMeters();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var store = new FlakyStore(new InMemoryOmnichannelStore())
        {
            // The stored payload is damaged (a bad migration, a truncated write): it holds her address, and is no JSON.
            Rewrite = c => c.Outbox.Any(e => e.MessageKey == "receipt-1")
                ? c with { Outbox = [.. c.Outbox.Select(e => e with { Payload = "{\"to\":\"ann@example.com\",\"body\":"u8.ToArray() })] }
                : c,
        };
        var email = new RecordingTransport(ChannelNames.Email);
        var options = new OmnichannelOptions();
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        await using var engine = new OmnichannelEngine(options, store, time, factory, meters, new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        var outcomes = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "omnichannel.messages")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var t in tags)
            {
                if (t.Key == "omnichannel.message.outcome")
                {
                    lock (outcomes)
                    {
                        outcomes.Add((string)t.Value!);
                    }
                }
            }
        });
        listener.Start();
        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "user.signed_up", Timestamp = time.GetUtcNow(), Identifiers = [Ann, Identifier.Email("ann@example.com")] });

        await engine.SendAsync(Ann, new MessageRequest { Key = "receipt-1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await engine.RunDispatchAsync();
        for (var i = 0; i < 5; i++)
        {
            time.Advance(options.Delivery.Lease + TimeSpan.FromMinutes(1)); // were it still there, its lease would have ended
            await engine.RunDispatchAsync();
        }

        Assert.Null(await store.GetNextOutboxDueAsync()); // gone from the outbox
        Assert.Empty(email.Sent<EmailMessage>());
        var profile = (await engine.GetProfileAsync(Ann))!;
        Assert.Single(profile.Timeline, t => t.Type == EventTypes.MessageFailed && t.EventId == "receipt-1:failed");
        Assert.Equal(["dead_letter"], outcomes);
        Assert.Single(logs, l => l.Contains("receipt-1", StringComparison.Ordinal) && l.Contains("dead letter", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains("ann@", StringComparison.OrdinalIgnoreCase));
    }

    private sealed class ScopedMeters : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options.Name, options.Version, options.Tags, scope: this);

        public void Dispose()
        {
        }
    }
}
