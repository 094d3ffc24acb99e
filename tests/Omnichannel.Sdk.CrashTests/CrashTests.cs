using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.CrashWorker;
using Omnichannel.Sdk.PostgreSql;
using Omnichannel.Sdk.PostgreSql.Tests;
using Omnichannel.Sdk.Sqlite;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit.Abstractions;

namespace Omnichannel.Sdk.CrashTests;

/// <summary>
/// Crash tests of the durable stores: a child process ingests ~1,500 events of 60 customers (and asks for an order
/// confirmation per order) and is killed with SIGKILL at seeded random moments, at least 20 times, then runs to
/// completion. Then the store, read directly and through a fresh engine, must hold every event exactly once, every
/// customer as one profile, every message sent, and an empty outbox.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class CrashTests(PostgreSqlServer server, ITestOutputHelper output) : IDisposable
{
    private const int Kills = 22;
    private const int EventCount = 1_500;
    private const int CustomerCount = 60;

    private readonly string _folder = Directory.CreateTempSubdirectory("omnichannel-crash-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Sqlite_KilledAtRandomMomentsAndRestarted_AppliesEveryAcknowledgedEventOnce_AndLosesNoMessage()
    {
        var settings = Settings(CrashStore.Sqlite, $"Data Source={Path.Combine(_folder, "crash.db")}");
        await RunAndVerifyAsync(settings, seed: 6001);
    }

    [Fact]
    public async Task PostgreSql_KilledAtRandomMomentsAndRestarted_AppliesEveryAcknowledgedEventOnce_AndLosesNoMessage()
    {
        var settings = Settings(CrashStore.PostgreSql, await server.DatabaseAsync("crash_test"));
        await RunAndVerifyAsync(settings, seed: 6002);
    }

    private CrashWorkerSettings Settings(CrashStore store, string connectionString) =>
        new(store, connectionString, Path.Combine(_folder, "events.jsonl"), Path.Combine(_folder, "acks.txt"), Path.Combine(_folder, "sent.jsonl"));

    private async Task RunAndVerifyAsync(CrashWorkerSettings settings, int seed)
    {
        var clock = Stopwatch.StartNew();
        var scenario = CrashScenario.Generate(seed, EventCount, CustomerCount);
        scenario.Write(settings.EventsFile);

        var run = await new CrashHarness(settings, output).RunAsync(Kills, seed, maxDelayAfterProgress: TimeSpan.FromMilliseconds(600), maxAcksPerRun: 60);
        output.WriteLine($"{run.Kills} kills and the final run took {clock.Elapsed.TotalSeconds:0.0} s");

        await VerifyEventsAsync(settings, scenario);
        VerifySends(settings, scenario, run);
        output.WriteLine($"verified after {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Every event applied exactly once, every customer one profile, the outbox empty.</summary>
    private async Task VerifyEventsAsync(CrashWorkerSettings settings, CrashScenario scenario)
    {
        var acked = AckLog.ReadAll(settings.AcksFile).ToHashSet(StringComparer.Ordinal);
        Assert.All(scenario.Events, e => Assert.Contains(e.Id, acked)); // the worker retries until each is acknowledged

        // The raw store first: a fresh engine would start dispatching whatever the outbox still held.
        var store = await OpenStoreAsync(settings);
        await using (store as IAsyncDisposable)
        {
            Assert.Null(await store.GetNextOutboxDueAsync());
            Assert.Equal(CustomerCount, (await store.ListProfileIdsAsync(null, 10 * CustomerCount)).Count);
            foreach (var e in scenario.Events)
            {
                Assert.True(await store.IsEventProcessedAsync(e.Id), $"{e.Id} is not marked processed");
            }

            foreach (var order in scenario.Orders)
            {
                var key = CrashWorkerProgram.SendKey(order.Id);
                Assert.True(await store.IsEventProcessedAsync(key + ":sent"), $"{key} has no recorded send outcome");
                Assert.False(await store.IsEventProcessedAsync(key + ":failed"), $"{key} failed");
            }
        }

        var services = new ServiceCollection();
        CrashWorkerProgram.ConfigureEngine(services.AddOmnichannel(), settings with { SentFile = Path.Combine(_folder, "verify-sent.jsonl") });
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        foreach (var c in scenario.Customers)
        {
            var profile = await engine.GetProfileAsync(Identifier.CustomerId(c.CustomerId));
            Assert.NotNull(profile);

            // One profile per customer: every identifier of hers, the anonymous device included, leads to it.
            Assert.Equal(profile.Id, (await engine.GetProfileAsync(Identifier.Email(c.Email)))?.Id);
            Assert.Equal(profile.Id, (await engine.GetProfileAsync(Identifier.AnonymousId(c.AnonymousId)))?.Id);

            // Exactly once: counters add up to the input, and each event is on the timeline once.
            Assert.Equal((c.OrderEventIds.Count, c.TotalSpent, c.LoyaltyPoints), (profile.Statistics.OrderCount, profile.Statistics.TotalSpent, profile.Statistics.LoyaltyPoints));
            var timeline = profile.Timeline.GroupBy(t => t.EventId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            Assert.All(c.EventIds, id => Assert.Equal(1, timeline.GetValueOrDefault(id)));

            // Each confirmation: one message.sent outcome (a resend after a kill does not add a second), none failed.
            Assert.Equal(
                c.OrderEventIds.Select(id => CrashWorkerProgram.SendKey(id) + ":sent").Order(StringComparer.Ordinal),
                profile.Timeline.Where(t => t.Type == EventTypes.MessageSent && t.EventId.StartsWith(CrashWorkerProgram.SendKey(""), StringComparison.Ordinal))
                    .Select(t => t.EventId).Order(StringComparer.Ordinal));
            Assert.DoesNotContain(profile.Timeline, t => t.Type == EventTypes.MessageFailed);
            Assert.Empty(profile.Journeys); // every instance resumed after the kills and finished
        }

        long orders = scenario.Orders.Count();
        var stats = await engine.GetJourneyStatisticsAsync(CrashWorkerProgram.ThanksJourneyId);
        Assert.Equal((orders, orders, 0L, orders), (stats.Entered, stats.Completed, stats.Active, stats.Steps["thanks"].Sent));
    }

    /// <summary>
    /// What the recording file proves. The engine hands a message to its transport at least once, with the message key
    /// as <see cref="Delivery.OutboundMessage.MessageId"/> on every attempt: a kill after the transport accepted a
    /// message but before its outbox entry was completed makes a later process send it again once the lease ends.
    /// <see cref="RecordingTransport"/> logs every attempt (the wire as a provider sees it), so
    /// <see cref="RecordingTransport.DuplicateMessageIds"/> may name such messages, and this test asserts precisely:
    /// (1) none lost: the order confirmations in the file are exactly the acknowledged keys, none missing, none extra;
    /// (2) a repeat is the same delivery: it carries the same MessageId and the same content, so a provider that
    ///     de-duplicates by that idempotency key delivers each message exactly once (distinct MessageIds = keys);
    /// (3) a repeat happens only across a crash: no process sends a key twice, and there are at most
    ///     kills × <see cref="Delivery.DeliveryOptions.DispatchBatchSize"/> repeats (one claimed batch per killed process).
    /// The profile side (one <c>message.sent</c> outcome per key) is checked in <see cref="VerifyEventsAsync"/>.
    /// </summary>
    private void VerifySends(CrashWorkerSettings settings, CrashScenario scenario, CrashRun run)
    {
        var keys = scenario.Orders.Select(e => CrashWorkerProgram.SendKey(e.Id)).ToHashSet(StringComparer.Ordinal);
        var acked = AckLog.ReadAll(settings.AcksFile).Where(keys.Contains).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(keys.Count, acked.Count);

        var records = new RecordingTransport(ChannelNames.Email, settings.SentFile).Records;
        Assert.Equal(run.RunEnds[^1], records.Count);
        var recordedKeys = records.Select(r => r.Message.MessageId).Where(id => id.StartsWith(CrashWorkerProgram.SendKey(""), StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        Assert.True(acked.SetEquals(recordedKeys), $"lost: {string.Join(", ", acked.Except(recordedKeys))}; unexpected: {string.Join(", ", recordedKeys.Except(acked))}");

        // Which process sent each record: run k wrote the lines between the ends of runs k-1 and k.
        int RunOf(int index) => run.RunEnds.Select((end, k) => (end, k)).First(x => index < x.end).k;
        var repeats = 0;
        foreach (var group in records.Select((r, i) => (Record: r, Run: RunOf(i))).GroupBy(x => x.Record.Message.MessageId, StringComparer.Ordinal))
        {
            var sends = group.ToList();
            var first = JsonSerializer.Serialize(sends[0].Record.Message, sends[0].Record.Message.GetType());
            Assert.All(sends, s => Assert.Equal(first, JsonSerializer.Serialize(s.Record.Message, s.Record.Message.GetType())));
            Assert.True(sends.Select(s => s.Run).Distinct().Count() == sends.Count, $"{group.Key} was sent twice by one process (runs {string.Join(", ", sends.Select(s => s.Run))})");
            repeats += sends.Count - 1;
        }

        // The journey: each order's instance waited on a durable timer (often across a kill) and sent its thanks once.
        var thanks = records.Where(r => r.Message is Delivery.EmailMessage m && m.Subject.StartsWith("Thanks for order ", StringComparison.Ordinal)).ToList();
        Assert.Equal(scenario.Orders.Select(e => e.Properties.GetProperty("order_id").GetString()).Order(StringComparer.Ordinal),
            thanks.GroupBy(r => r.Message.MessageId).Select(g => ((Delivery.EmailMessage)g.First().Message).Subject["Thanks for order ".Length..]).Order(StringComparer.Ordinal));

        var batch = new OmnichannelOptions().Delivery.DispatchBatchSize;
        Assert.InRange(repeats, 0, run.Kills * batch);

        var recoveredEvents = run.WorkerOutput.Count(l => l.StartsWith("RECOVERED event", StringComparison.Ordinal));
        var recoveredSends = run.WorkerOutput.Count(l => l.StartsWith("RECOVERED send", StringComparison.Ordinal));
        var replayed = run.WorkerOutput.Count(l => l.StartsWith("REPLAYED", StringComparison.Ordinal));
        output.WriteLine(
            $"{keys.Count} messages, {records.Count} sends recorded: {repeats} repeated after a kill between the transport's acceptance and the outbox completion " +
            $"({new RecordingTransport(ChannelNames.Email, settings.SentFile).DuplicateMessageIds.Count} keys); " +
            $"{recoveredEvents} events and {recoveredSends} message requests committed by a killed process before its ack; {replayed} acknowledged events replayed as duplicates");
    }

    private static async Task<IOmnichannelStore> OpenStoreAsync(CrashWorkerSettings settings) => settings.Store == CrashStore.Sqlite
        ? await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = settings.ConnectionString })
        : await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = settings.ConnectionString });
}
