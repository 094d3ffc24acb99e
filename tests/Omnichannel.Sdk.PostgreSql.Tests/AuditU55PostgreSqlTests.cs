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

    // kagkarlsson/db-scheduler#561 (node A died holding "picked" executions; node B never ran them), JasperFx/wolverine#565
    // (outboxed messages of a crashed node dispatched only an hour later): a process claims a message and hangs (or dies)
    // in the send; the other process sends it once the lease ends, not before, and once.
    [Fact]
    public async Task AMessageClaimedByAProcessThatHangs_IsSentByTheOther_WhenItsLeaseEnds()
    {
        var path = await server.DatabaseAsync("auditu55_hung_claim");
        var start = new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero);
        var survivorTime = new FakeTimeProvider(start);
        var hungTime = new FakeTimeProvider(start); // the hung process's clock stands still: its send never times out
        var survivorTransport = new RecordingTransport();
        await using var survivor = Build(path, survivorTime, survivorTransport, wait: false);
        _ = survivor.GetRequiredService<OmnichannelEngine>(); // running before the other process starts
        var hanging = new FailingTransport().TimeOut(1);
        var hung = Build(path, hungTime, hanging, wait: false);
        try
        {
            var other = hung.GetRequiredService<OmnichannelEngine>();
            Assert.Equal(TrackStatus.Accepted, (await other.TrackAsync(Event(hungTime, "e1", "user.signed_up", Ann, AnnMail))).Status);
            Assert.Equal(TrackStatus.Accepted, (await other.TrackAsync(Event(hungTime, "e2", EventTypes.CartItemAdded, Ann))).Status);
            Assert.True(await TwoProcessStoreScenario.Eventually(() => hanging.Attempts == 1), "the hung process never claimed");

            var leaseEnd = start + new DeliveryOptions().Lease;
            survivorTime.SetUtcNow(leaseEnd.AddTicks(-1));
            Assert.Empty(survivorTransport.Messages); // still leased: nothing can be claimed before its end

            survivorTime.SetUtcNow(leaseEnd);
            Assert.True(await TwoProcessStoreScenario.Eventually(() => survivorTransport.Messages.Count > 0), "the message the hung process claimed was never sent");
            Assert.Equal("Your cart c1", Assert.Single(survivorTransport.Sent<EmailMessage>()).Subject);
        }
        finally
        {
            hungTime.Advance(TimeSpan.FromMinutes(1)); // its send times out; its late outcome is fenced off
            await hung.DisposeAsync();
        }

        Assert.Single(survivorTransport.Messages);
        Assert.Empty(hanging.Recorder!.Messages);
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
