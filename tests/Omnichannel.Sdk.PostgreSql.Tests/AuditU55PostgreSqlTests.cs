using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.StoreParity;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>
/// Audit U55: durable stores over time and failure, on PostgreSQL: work another process on the same schema left behind (a
/// wake-up or a claimed message of a process that stopped or hangs), with sessions in odd time zones, instants to the tick.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AuditU55PostgreSqlTests(PostgreSqlServer server)
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    // HangfireIO/Hangfire#2218 (after scaling down, jobs the stopped instance had scheduled never ran: the others did not
    // pick them up), agenda/agenda#1468; npgsql/npgsql#3468 and #1469 (timestamptz read back in the session's zone): a
    // process (session zone Pacific/Chatham, +12:45/+13:45) commits a journey wait started at an odd tick in a -02:30
    // offset and stops for good; the process still running (session zone a bare "-14") runs it at that very tick.
    [Fact]
    public async Task AWaitCommittedByAProcessThatStopped_IsRunByTheOneStillRunning_AtItsExactTick_WhateverTheSessionZones()
    {
        var database = await server.DatabaseAsync("auditu55_stranded_wait");
        var begun = new DateTimeOffset(2026, 4, 5, 2, 50, 0, TimeSpan.FromMinutes(-150)).AddTicks(9_876_543);
        var time = new FakeTimeProvider(begun);
        var survivorTransport = new RecordingTransport();
        await using var survivor = Build(database + ";Timezone=-14", time, survivorTransport, wait: true);
        var engine = survivor.GetRequiredService<OmnichannelEngine>(); // running before the other process starts
        var due = begun.AddHours(1);
        await using (var stopped = Build(database + ";Timezone=Pacific/Chatham", time, new RecordingTransport(), wait: true))
        {
            var other = stopped.GetRequiredService<OmnichannelEngine>();
            Assert.Equal(TrackStatus.Accepted, (await other.TrackAsync(Event(time, "e1", "user.signed_up", Ann, AnnMail))).Status);
            Assert.Equal(TrackStatus.Accepted, (await other.TrackAsync(Event(time, "e2", EventTypes.CartItemAdded, Ann))).Status);
        }

        Assert.Equal(due.UtcTicks, (await engine.GetNextWakeUpAsync())!.Value.UtcTicks);
        Assert.Empty(await engine.Store.GetDueProfilesAsync(due.AddTicks(-1), 10)); // not a tick early
        Assert.Single(await engine.Store.GetDueProfilesAsync(due, 10));
        time.SetUtcNow(due);

        Assert.True(await TwoProcessStoreScenario.Eventually(() => survivorTransport.Messages.Count > 0), "the wait left by the stopped process never ran");
        var mail = Assert.Single(survivorTransport.Sent<EmailMessage>());
        Assert.Equal("Your cart c1", mail.Subject);
        await engine.RunDueAsync(); // waits for the run the timer started (it finds nothing left to do)
        Assert.Contains((await engine.GetProfileAsync(Ann))!.Timeline, t => t.Type == "journey.completed" && t.Timestamp.UtcTicks == due.UtcTicks);
    }

    // db-scheduler#561, wolverine#565 on one PostgreSQL schema: see TwoProcessStoreScenario.
    [Fact]
    public async Task AMessageClaimedByAProcessThatHangs_IsSentByTheOther_WhenItsLeaseEnds()
    {
        var path = await server.DatabaseAsync("auditu55_hung_claim");
        await TwoProcessStoreScenario.AMessageClaimedByAProcessThatHangs_IsSentByTheOther_WhenItsLeaseEndsAsync((time, transport) => Build(path, time, transport, wait: true), startedAfterTheClaim: false);
    }

    // Hangfire#1674, #1952, #2380 on one PostgreSQL schema: see TwoProcessStoreScenario.
    [Fact]
    public async Task TwoProcessesOnOneSchema_WaitsFallingDueTogether_SendEachMessageOnce()
    {
        var path = await server.DatabaseAsync("auditu55_two_processes");
        await TwoProcessStoreScenario.WaitsFallingDueTogether_SendEachMessageOnceAsync((time, transport) => Build(path, time, transport, wait: true));
    }

    private static ServiceProvider Build(string connectionString, TimeProvider time, IChannelTransport transport, bool wait)
    {
        var services = new ServiceCollection();
        TwoProcessStoreScenario.Engine(services, time, transport, wait).UsePostgreSqlStore(connectionString);
        return services.BuildServiceProvider();
    }

    private static CustomerEvent Event(TimeProvider time, string id, string type, params Identifier[] identifiers) => TwoProcessStoreScenario.Event(time, id, type, identifiers);
}
