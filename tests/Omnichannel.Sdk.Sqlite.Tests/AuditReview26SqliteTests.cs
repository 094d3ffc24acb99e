using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Review of audit U8 (twenty-sixth session) on SQLite: a message held by quiet hours lives in the outbox file, so a
/// journey removed before a restart, or gone from the restarted process's configuration, must not send it either.
/// </summary>
public sealed class AuditReview26SqliteTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 22, 30, 0, TimeSpan.Zero));

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(true, true)]   // removed with RemoveJourneyAsync, then the restarted host configures it again
    [InlineData(false, false)] // not removed: the restarted host simply no longer configures it
    [InlineData(false, true)]  // control: still configured, the held reminder goes in the morning
    public async Task AHeldReminder_AcrossARestart_GoesOnlyIfItsJourneyIsStillThere(bool removeBeforeRestart, bool configuredAfter)
    {
        var path = _folder.File();
        var sent = Path.Combine(_folder.Path, "sent.jsonl");
        await using (var sp = Build(path, sent, withJourney: true))
        {
            var engine = sp.GetRequiredService<OmnichannelEngine>();
            Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e1", EventTypes.ConsentChanged, new { channel = "email", granted = true }, Ann, Identifier.Email("ann@example.com")))).Status);
            Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e2", EventTypes.CartItemAdded, new { cart_id = "c1", product_id = "p1" }, Ann))).Status);
            _time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(15)); // planned at 23:30, held until 08:00
            await engine.RunDueAsync();
            await engine.RunDispatchAsync();
            Assert.Empty(new RecordingTransport(ChannelNames.Email, sent).Sent<EmailMessage>());
            if (removeBeforeRestart)
            {
                Assert.True(await engine.RemoveJourneyAsync("cart"));
            }
        }

        _time.Advance(TimeSpan.FromHours(10)); // down past 08:00
        await using (var sp = Build(path, sent, configuredAfter))
        {
            var engine = sp.GetRequiredService<OmnichannelEngine>();
            await engine.RunDueAsync();
            await engine.RunDispatchAsync();
            var mails = new RecordingTransport(ChannelNames.Email, sent).Sent<EmailMessage>();
            Assert.Equal(configuredAfter && !removeBeforeRestart ? 1 : 0, mails.Count);
        }
    }

    private ServiceProvider Build(string path, string sentFile, bool withJourney)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        var builder = services.AddOmnichannel(o =>
            {
                o.Delivery.EmailFrom = "shop@example.com";
                o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            })
            .UseSqliteStore(path)
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart", [TemplateVariant.Email("Your cart {{ journey.trigger.cart_id }}", null, "Still thinking?")])))
            .AddTransport("recording", ChannelNames.Email, _ => new RecordingTransport(ChannelNames.Email, sentFile));
        if (withJourney)
        {
            builder.AddJourney(Journey.Define("cart", "Cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .Steps(s => s.Delay("wait", "PT1H").Send("remind", [ChannelNames.Email], "cart", null, MessageClass.Marketing))
                .Build());
        }

        return services.BuildServiceProvider();
    }

    private CustomerEvent Event(string id, string type, object properties, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = _time.GetUtcNow(),
        Identifiers = identifiers,
        Properties = JsonData.From(properties),
    };
}
