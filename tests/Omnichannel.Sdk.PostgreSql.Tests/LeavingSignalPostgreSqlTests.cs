using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.StoreParity;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Left alone in audits U55 and U67: a process that commits a short wait and then stops (a scale-down, a deploy) left it
/// to the other processes' timed look, up to <c>StorePollInterval</c> (a minute) late — Quartz's and Hangfire's "jobs of
/// a stopped node wait for the next poll". The stopping store now tells the others to look at once.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class LeavingSignalPostgreSqlTests(PostgreSqlServer server)
{
    [Fact]
    public async Task AShortWaitOfAProcessThatStops_RunsOnTime_OnTheProcessThatStays()
    {
        var database = await server.DatabaseAsync("leaving_signal");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var staysTransport = new RecordingTransport();
        await using var stays = Build(database, time, staysTransport);
        var worker = stays.GetRequiredService<OmnichannelEngine>();
        await worker.RunDueAsync(); // started, its timed look a minute away
        var ann = Identifier.CustomerId("ann-leaving");

        await using (var leaves = Build(database, time, new RecordingTransport()))
        {
            var engine = leaves.GetRequiredService<OmnichannelEngine>();
            Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(TwoProcessStoreScenario.Event(time, "l1", "user.signed_up", ann, Identifier.Email("ann-leaving@example.com")))).Status);
            Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(TwoProcessStoreScenario.Event(time, "l2", EventTypes.CartItemAdded, ann))).Status);
        } // stops with the 20-second wait pending

        time.Advance(TimeSpan.FromSeconds(20)); // the wait is due; the staying process's timed look is 40 s away

        Assert.True(await TwoProcessStoreScenario.Eventually(() => staysTransport.Messages.Count > 0),
            "the wait of the process that stopped did not run on time on the one that stays (the clock did not reach its next look)");
        Assert.Equal("Your cart c1", Assert.Single(staysTransport.Sent<EmailMessage>()).Subject);
    }

    private static ServiceProvider Build(string connectionString, TimeProvider time, IChannelTransport transport)
    {
        var services = new ServiceCollection();
        services.AddSingleton(time);
        services.AddOmnichannel(o =>
            {
                o.Partitions = 2;
                o.Delivery.EmailFrom = "shop@example.com";
                o.Delivery.Retry = null;
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                o.CatchUpSegmentsAtStart = false;
            })
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart", [TemplateVariant.Email("Your cart {{ journey.trigger.cart_id }}", null, "Still thinking?")])))
            .AddJourney(Journey.Define("cart", "Cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .Steps(s => s.Delay("wait", "PT20S").Send("remind", [ChannelNames.Email], "cart", null, MessageClass.Transactional))
                .Build())
            .AddTransport("recording", ChannelNames.Email, _ => transport)
            .UsePostgreSqlStore(connectionString);
        return services.BuildServiceProvider();
    }
}
