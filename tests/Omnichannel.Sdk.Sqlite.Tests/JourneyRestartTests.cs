using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Journey instances and their timers live in the SQLite file: a restarted process resumes them.</summary>
public sealed class JourneyRestartTests : IDisposable
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private readonly TempFolder _folder = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task AWaitingInstance_ResumesAfterARestart_AndATimerThatFellDueWhileDownFiresAtOnce()
    {
        var path = _folder.File();
        var sent = Path.Combine(_folder.Path, "sent.jsonl");
        await using (var sp = Build(path, sent))
        {
            var engine = sp.GetRequiredService<OmnichannelEngine>();
            Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e1", "user.signed_up", Ann, Identifier.Email("ann@example.com")))).Status);
            Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event("e2", EventTypes.CartItemAdded, Ann))).Status);
            var waiting = Assert.Single((await engine.GetProfileAsync(Ann))!.Journeys);
            Assert.Equal((_time.GetUtcNow() + TimeSpan.FromHours(1), "wait"), (waiting.WakeAt, waiting.StepId));
        }

        // The process is down when the hour passes; the next one finds the timer late and runs it at start.
        _time.Advance(TimeSpan.FromHours(3));
        await using (var sp = Build(path, sent))
        {
            var engine = sp.GetRequiredService<OmnichannelEngine>();
            await engine.RunDueAsync(); // waits for the start-up run that already began
            await engine.RunDispatchAsync();

            var profile = (await engine.GetProfileAsync(Ann))!;
            Assert.Empty(profile.Journeys);
            Assert.Contains(profile.Timeline, t => t.Type == "journey.completed");
            var mail = Assert.Single(new RecordingTransport(ChannelNames.Email, sent).Sent<EmailMessage>());
            Assert.Equal("Your cart c1", mail.Subject);
            Assert.Equal(1, (await engine.GetJourneyStatisticsAsync("cart")).Completed);
        }
    }

    private ServiceProvider Build(string path, string sentFile)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddOmnichannel(o =>
            {
                o.Delivery.EmailFrom = "shop@example.com";
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
            })
            .UseSqliteStore(path)
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart", [TemplateVariant.Email("Your cart {{ journey.trigger.cart_id }}", null, "Still thinking?")])))
            .AddTransport("recording", ChannelNames.Email, _ => new RecordingTransport(ChannelNames.Email, sentFile))
            .AddJourney(Journey.Define("cart", "Cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .Steps(s => s.Delay("wait", "PT1H").Send("remind", [ChannelNames.Email], "cart", null, MessageClass.Transactional))
                .Build());
        return services.BuildServiceProvider();
    }

    private CustomerEvent Event(string id, string type, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = _time.GetUtcNow(),
        Identifiers = identifiers,
        Properties = type == EventTypes.CartItemAdded ? JsonData.From(new { cart_id = "c1", product_id = "p1" }) : default,
    };
}
