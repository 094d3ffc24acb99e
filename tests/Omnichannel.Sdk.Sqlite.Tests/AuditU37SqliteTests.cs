using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U37 on SQLite: a message held by quiet hours lives in the outbox file across a restart. Its journey's condition
/// exit is read when it leaves: an offer that ended while the process was down (JasperFx/jasper#201's "DeliverBy",
/// microsoftarchive/cqrs-journey#205: stale messages processed first after downtime) is not announced after the restart.
/// </summary>
public sealed class AuditU37SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 22, 30, 0, TimeSpan.Zero));

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(6, 0)]  // the offer ended at 06:00 while the process was down: withdrawn when due
    [InlineData(10, 1)] // control: the offer still runs when the held message leaves
    public async Task AHeldOfferMessage_AcrossARestart_IsWithdrawnWhenTheOfferEndedMeanwhile(int offerEndsAtHour, int mails)
    {
        var path = _folder.File();
        var sent = Path.Combine(_folder.Path, "sent.jsonl");
        var ends = new DateTimeOffset(2026, 2, 2, offerEndsAtHour, 0, 0, TimeSpan.Zero);
        await using (var sp = Build(path, sent))
        {
            var engine = sp.GetRequiredService<OmnichannelEngine>();
            Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e1", EventTypes.ConsentChanged, new { channel = "email", granted = true }, null, Ann, Identifier.Email("ann@example.com")))).Status);
            Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e2", "offer.granted", new { offer = "flash" }, new { offer_ends_at = ends.ToString("O") }, Ann))).Status);
            await engine.RunDispatchAsync();
            Assert.Empty(new RecordingTransport(ChannelNames.Email, sent).Sent<EmailMessage>()); // held until 08:00
        }

        _time.Advance(TimeSpan.FromHours(11)); // down past 08:00
        await using (var sp = Build(path, sent))
        {
            var engine = sp.GetRequiredService<OmnichannelEngine>();
            await engine.RunDueAsync();
            await engine.RunDispatchAsync();
            Assert.Equal(mails, new RecordingTransport(ChannelNames.Email, sent).Sent<EmailMessage>().Count);
        }
    }

    private ServiceProvider Build(string path, string sentFile)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o =>
            {
                o.Delivery.EmailFrom = "shop@example.com";
                o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            })
            .UseSqliteStore(path)
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("sale", [TemplateVariant.Email("Flash sale", null, "Today only")])))
            .AddTransport("recording", ChannelNames.Email, _ => new RecordingTransport(ChannelNames.Email, sentFile))
            .AddJourney(JourneyJson.Parse("""
                {"id": "sale", "version": 1, "name": "Flash sale", "trigger": {"type": "event", "event": "offer.granted"},
                 "exit": [{"condition": {"trait": "offer_ends_at", "op": "moreThanAgo", "value": "PT1S"}}],
                 "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "sale", "topic": "offers"}]}
                """).Value!);
        return services.BuildServiceProvider();
    }

    private CustomerEvent Event(string id, string type, object properties, object? traits, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = _time.GetUtcNow(),
        Identifiers = identifiers,
        Properties = JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
    };
}
