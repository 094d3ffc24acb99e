using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>An email worker and an SMS worker on one SQLite file: each sends its own channel's messages only.</summary>
public sealed class ChannelClaimsSqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public Task EachMessage_IsSentByTheWorkerOfItsChannel_WhicheverProcessPlannedIt()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.EachMessage_IsSentByTheWorkerOfItsChannel_WhicheverProcessPlannedItAsync((time, configure) => Build(path, time, configure));
    }

    [Fact]
    public Task AMessageOfAChannelNoRunningProcessServes_WaitsForAWorkerOfThatChannel()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.AMessageOfAChannelNoRunningProcessServes_WaitsForAWorkerOfThatChannelAsync((time, configure) => Build(path, time, configure));
    }

    [Fact]
    public Task AHeldMessageLeftWithAChannelOnlyAnotherWorkerServes_IsSentByThatWorker()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.AHeldMessageLeftWithAChannelOnlyAnotherWorkerServes_IsSentByThatWorkerAsync((time, configure) => Build(path, time, configure));
    }

    [Fact]
    public Task AMessageAnotherProcessPlans_IsSentWithinSeconds_NotAtTheNextTimedLook()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.AMessageAnotherProcessPlans_IsSentWithinSeconds_NotAtTheNextTimedLookAsync((time, configure) => Build(path, time, configure));
    }

    [Fact]
    public Task AFallbackAfterAPermanentFailure_IsSentByTheWorkerOfTheFallbackChannel()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.AFallbackAfterAPermanentFailure_IsSentByTheWorkerOfTheFallbackChannelAsync((time, configure) => Build(path, time, configure));
    }

    [Fact]
    public Task AHeldMessageHandedOverByItsCheck_ThatFailsThere_NamesEachReasonOnce()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.AHeldMessageHandedOverByItsCheck_ThatFailsThere_NamesEachReasonOnceAsync((time, configure) => Build(path, time, configure));
    }

    [Fact]
    public Task AFallbackThatFailsToo_IsRecordedWithTheReasonsOfEveryChannelTried()
    {
        var path = _folder.File();
        return ChannelClaimsScenario.AFallbackThatFailsToo_IsRecordedWithTheReasonsOfEveryChannelTriedAsync((time, configure) => Build(path, time, configure));
    }

    /// <summary>
    /// Review of session 45: a row written before schema 6 has no channel, so any process claims it. The email worker
    /// claimed a text planned then and failed it ("sms: no transport is registered") while an SMS worker ran beside it;
    /// now it hands it to the SMS worker, which sends it.
    /// </summary>
    [Fact]
    public async Task ARowWithoutAChannel_ClaimedByAWorkerWithoutItsTransport_IsSentByTheWorkerThatHasIt()
    {
        var path = _folder.File();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var emails = new RecordingTransport(ChannelNames.Email);
        var texts = new RecordingTransport(ChannelNames.Sms);
        static void Cart(OmnichannelBuilder b) => b
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart", [TemplateVariant.Sms("Your cart")])))
            .AddJourney(Journey.Define("cart", "Cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .Steps(s => s.Delay("wait", "PT1H").Send("remind", [ChannelNames.Sms], "cart", null, MessageClass.Transactional))
                .Build());
        await using var emailWorker = Build(path, time, b => Cart(b.AddTransport("email", ChannelNames.Email, _ => emails)));
        var byEmail = emailWorker.GetRequiredService<OmnichannelEngine>();
        var dee = Identifier.CustomerId("dee-channels");
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(TwoProcessStoreScenario.Event(time, "s1", "user.updated", dee, Identifier.Phone("+14155550127")))).Status);
        Assert.Equal(TrackStatus.Accepted, (await byEmail.TrackAsync(TwoProcessStoreScenario.Event(time, "c1", EventTypes.CartItemAdded, dee))).Status);
        time.Advance(TimeSpan.FromHours(1));
        await byEmail.RunDueAsync();
        Assert.NotNull(await byEmail.Store.GetNextOutboxDueAsync([ChannelNames.Sms]));

        // The text's row as a version before the column wrote it.
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE outbox SET channel = NULL";
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        await byEmail.RunDispatchAsync();
        await using var smsWorker = Build(path, time, b => Cart(b.AddTransport("sms", ChannelNames.Sms, _ => texts)));
        var bySms = smsWorker.GetRequiredService<OmnichannelEngine>(); // its start looks in the outbox
        await bySms.RunDispatchAsync();
        Assert.True(await TwoProcessStoreScenario.Eventually(() => texts.Messages.Count >= 1), "the SMS worker did not send the text the email worker claimed");
        await bySms.RunDispatchAsync();
        Assert.Equal("Your cart", Assert.Single(texts.Sent<SmsMessage>()).Body);
        Assert.Empty(emails.Messages);
        var profile = await byEmail.GetProfileAsync(dee);
        Assert.DoesNotContain(profile!.Timeline, t => t.Type is "message.failed" or "message.skipped");
        Assert.Null(await byEmail.Store.GetNextOutboxDueAsync());
    }

    private static ServiceProvider Build(string path, TimeProvider time, Action<OmnichannelBuilder> configure)
    {
        var services = new ServiceCollection();
        var builder = ChannelClaimsScenario.Services(services, time).UseSqliteStore(path);
        configure(builder);
        return services.BuildServiceProvider();
    }
}
