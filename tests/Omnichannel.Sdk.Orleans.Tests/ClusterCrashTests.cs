using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.CrashTests;
using Omnichannel.Sdk.CrashWorker;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.PostgreSql;
using Omnichannel.Sdk.Testing;
using Orleans.Configuration;
using Xunit.Abstractions;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// A real cluster: three silo processes on loopback with Redis membership, sharing one PostgreSQL database; a client
/// streams a crash-test scenario (sign-ups, anonymous browsing merged at login, orders with confirmations and a journey
/// with a durable timer) while one silo after another is killed with SIGKILL and started again. Afterwards: every
/// acknowledged event applied exactly once, every profile reachable by each of its identifiers, every due journey step
/// and message fired once (a message may repeat only across a kill, as in the single-process crash tests).
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ClusterCrashTests(PostgreSqlServer server, ITestOutputHelper output) : IDisposable
{
    private const int Silos = 3;
    private const int EventCount = 600;
    private const int CustomerCount = 40;
    private static readonly int[] KillAt = [100, 220, 340, 460]; // after these many acknowledged events, the next silo in turn is killed

    private readonly string _folder = Directory.CreateTempSubdirectory("omnichannel-cluster-crash-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task ThreeSilos_OneKilledAndRestartedSeveralTimes_ApplyEveryAcknowledgedEventOnce_AndFireEveryStepAndMessageOnce()
    {
        var clock = Stopwatch.StartNew();
        var connectionString = await server.DatabaseAsync("orleans_cluster_crash");
        await using (var migrate = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString }))
        {
            // The schema once, before three processes start at once (they would take turns under the advisory lock anyway).
        }

        await using var redis = await RedisServer.StartAsync();
        var clusterId = "crash-" + Guid.NewGuid().ToString("N")[..8];
        var silos = Enumerable.Range(0, Silos).Select(i => new SiloProcess(i, _folder, redis.ConnectionString, clusterId, connectionString)).ToList();
        try
        {
            await Task.WhenAll(silos.Select(s => s.StartAsync()));
            output.WriteLine($"{Silos} silos ready at {clock.Elapsed.TotalSeconds:0.0} s");

            using var clientHost = StartClient(redis.ConnectionString, clusterId);
            await clientHost.StartAsync();
            var client = clientHost.Services.GetRequiredService<IOmnichannelClient>();
            Assert.IsType<OmnichannelClusterClient>(client);

            var scenario = CrashScenario.Generate(seed: 7001, EventCount, CustomerCount);
            int acknowledged = 0, retries = 0, duplicates = 0;

            // The killer: after KillAt[k] acknowledged events, the next silo in turn dies mid-stream and comes back a
            // little later (real time on purpose: other processes on the wall clock), while the client keeps sending.
            // Lanes stop at a kill point until that kill has happened (which waits for the previous victim to be back), so
            // every kill lands mid-stream, with calls in flight, however fast or slow the machine.
            using var streaming = new CancellationTokenSource();
            var killed = KillAt.Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            var killer = Task.Run(async () =>
            {
                for (var k = 0; k < KillAt.Length; k++)
                {
                    while (Volatile.Read(ref acknowledged) < KillAt[k])
                    {
                        await Task.Delay(20, streaming.Token);
                    }

                    var victim = silos[(k + 1) % Silos];
                    await victim.KillAsync();
                    killed[k].SetResult();
                    output.WriteLine($"killed silo {victim.Index} after {Volatile.Read(ref acknowledged)} events at {clock.Elapsed.TotalSeconds:0.0} s");
                    await Task.Delay(TimeSpan.FromSeconds(1), streaming.Token);
                    await victim.StartAsync();
                    output.WriteLine($"silo {victim.Index} back at {clock.Elapsed.TotalSeconds:0.0} s");
                }
            });

            // Eight lanes of customers at once (each customer's events in order), as web servers would send them.
            var lanes = scenario.Events.GroupBy(e => LaneOf(e, scenario)).ToList();
            await Task.WhenAll(lanes.Select(lane => Task.Run(async () =>
            {
                foreach (var e in lane)
                {
                    for (var j = 0; j < KillAt.Length && Volatile.Read(ref acknowledged) >= KillAt[j]; j++)
                    {
                        await killed[j].Task;
                    }

                    var (result, tries) = await UntilAsync(() => client.TrackAsync(e).AsTask(), r => r.Status is TrackStatus.Accepted or TrackStatus.Duplicate, $"event {e.Id}");
                    Interlocked.Add(ref retries, tries);
                    if (result.Status == TrackStatus.Duplicate)
                    {
                        Interlocked.Increment(ref duplicates);
                    }

                    if (e.Type == EventTypes.OrderPlaced)
                    {
                        var (_, sendTries) = await UntilAsync(() => client.SendAsync(e.Identifiers[0], Confirmation(e)).AsTask(), r => r.Status is SendStatus.Queued or SendStatus.Duplicate, $"confirmation of {e.Id}");
                        Interlocked.Add(ref retries, sendTries);
                    }

                    Interlocked.Increment(ref acknowledged);
                }
            })));
            await killer;
            output.WriteLine($"{EventCount} events acknowledged at {clock.Elapsed.TotalSeconds:0.0} s: {retries} calls retried after a kill, {duplicates} acknowledged as duplicates (committed before the caller saw it)");

            await using var store = await PostgreSqlOmnichannelStore.OpenAsync(new PostgreSqlStoreOptions { ConnectionString = connectionString });
            await DrainedAsync(store);
            output.WriteLine($"outbox and wake-ups drained at {clock.Elapsed.TotalSeconds:0.0} s");
            await clientHost.StopAsync();
            foreach (var s in silos)
            {
                await s.KillAsync(); // nothing may be sent while we read what was sent
            }

            await VerifyEventsAsync(store, connectionString, scenario);
            VerifySends(silos, scenario);
            output.WriteLine($"verified at {clock.Elapsed.TotalSeconds:0.0} s");
        }
        catch
        {
            foreach (var s in silos)
            {
                output.WriteLine($"silo {s.Index} stderr:\n{s.Errors()}");
            }

            throw;
        }
        finally
        {
            foreach (var s in silos)
            {
                await s.DisposeAsync();
            }
        }
    }

    private static int LaneOf(CustomerEvent e, CrashScenario scenario) =>
        scenario.Customers.Select((c, i) => (c, i)).First(x => x.c.EventIds.Contains(e.Id)).i % 8;

    private static IHost StartClient(string redis, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(c => c
            .UseRedisClustering(redis)
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, "omnichannel-crash"))
            .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5))
            .Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1)));
        builder.Services.AddOmnichannel(o => o.Privacy.HashKey = "crash-worker-hash-key-for-tests-only-0000000001").UseOrleansClient();
        return builder.Build();
    }

    private static MessageRequest Confirmation(CustomerEvent order) => new()
    {
        Key = CrashWorkerProgram.SendKey(order.Id),
        Channels = [ChannelNames.Email],
        TemplateId = CrashWorkerProgram.OrderTemplateId,
        Class = MessageClass.Transactional,
        Data = new System.Text.Json.Nodes.JsonObject
        {
            ["order_id"] = order.Properties.GetProperty("order_id").GetString(),
            ["total"] = order.Properties.GetProperty("total").GetDecimal(),
        },
    };

    // A client that lost its answer (the silo died mid-call) sends the same request again until it is acknowledged.
    private static async Task<(T Result, int Retries)> UntilAsync<T>(Func<Task<T>> call, Func<T, bool> acknowledged, string what)
    {
        var clock = Stopwatch.StartNew();
        for (var retries = 0; ; retries++)
        {
            try
            {
                var result = await call();
                if (acknowledged(result))
                {
                    return (result, retries);
                }

                if (clock.Elapsed > TimeSpan.FromSeconds(90))
                {
                    throw new InvalidOperationException($"{what} was not acknowledged within 90 s: {JsonSerializer.Serialize(result)}");
                }
            }
            catch (Exception ex) when (ex is not InvalidOperationException { Message: var m } || !m.Contains("within 90 s", StringComparison.Ordinal))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(90))
                {
                    throw new InvalidOperationException($"{what} kept failing for 90 s", ex);
                }
            }

            await Task.Delay(100); // real time on purpose: back off while the cluster notices the dead silo
        }
    }

    private static async Task DrainedAsync(PostgreSqlOmnichannelStore store)
    {
        var clock = Stopwatch.StartNew();
        while (await store.GetNextOutboxDueAsync() is not null || (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1)).Count > 0)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException("The cluster did not drain its outbox and wake-ups within 2 minutes.");
            }

            await Task.Delay(100); // the silos' timers and sweeps do the work; wait for the condition
        }
    }

    private async Task VerifyEventsAsync(PostgreSqlOmnichannelStore store, string connectionString, CrashScenario scenario)
    {
        Assert.Equal(CustomerCount, (await store.ListProfileIdsAsync(null, 10 * CustomerCount)).Count);
        foreach (var e in scenario.Events)
        {
            Assert.True(await store.IsEventProcessedAsync(e.Id), $"{e.Id} is not marked processed");
        }

        var services = new ServiceCollection();
        CrashWorkerProgram.ConfigureEngine(services.AddOmnichannel(), new CrashWorkerSettings(CrashStore.PostgreSql, connectionString, "-", "-", Path.Combine(_folder, "verify-sent.jsonl")));
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<OmnichannelEngine>();
        foreach (var c in scenario.Customers)
        {
            var profile = await engine.GetProfileAsync(Identifier.CustomerId(c.CustomerId));
            Assert.NotNull(profile);
            Assert.Equal(profile.Id, (await engine.GetProfileAsync(Identifier.Email(c.Email)))?.Id);
            Assert.Equal(profile.Id, (await engine.GetProfileAsync(Identifier.AnonymousId(c.AnonymousId)))?.Id);

            Assert.Equal((c.OrderEventIds.Count, c.TotalSpent, c.LoyaltyPoints), (profile.Statistics.OrderCount, profile.Statistics.TotalSpent, profile.Statistics.LoyaltyPoints));
            var timeline = profile.Timeline.GroupBy(t => t.EventId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            Assert.All(c.EventIds, id => Assert.Equal(1, timeline.GetValueOrDefault(id)));
            Assert.Equal(
                c.OrderEventIds.Select(id => CrashWorkerProgram.SendKey(id) + ":sent").Order(StringComparer.Ordinal),
                profile.Timeline.Where(t => t.Type == EventTypes.MessageSent && t.EventId.StartsWith(CrashWorkerProgram.SendKey(""), StringComparison.Ordinal))
                    .Select(t => t.EventId).Order(StringComparer.Ordinal));
            Assert.DoesNotContain(profile.Timeline, t => t.Type == EventTypes.MessageFailed);
            Assert.Empty(profile.Journeys);
        }

        long orders = scenario.Orders.Count();
        var stats = await engine.GetJourneyStatisticsAsync(CrashWorkerProgram.ThanksJourneyId);
        Assert.Equal((orders, orders, 0L, orders), (stats.Entered, stats.Completed, stats.Active, stats.Steps["thanks"].Sent));
    }

    private void VerifySends(List<SiloProcess> silos, CrashScenario scenario)
    {
        // Each process run wrote its own file: (run, record) for every send the transports accepted.
        var sends = silos.SelectMany(s => s.SentFiles).Where(File.Exists)
            .SelectMany(file => new RecordingTransport(ChannelNames.Email, file).Records.Select(r => (Run: file, Record: r)))
            .ToList();
        var confirmations = scenario.Orders.Select(e => CrashWorkerProgram.SendKey(e.Id)).ToHashSet(StringComparer.Ordinal);
        var sentKeys = sends.Select(s => s.Record.Message.MessageId).Where(id => id.StartsWith(CrashWorkerProgram.SendKey(""), StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        Assert.True(confirmations.SetEquals(sentKeys), $"lost: {string.Join(", ", confirmations.Except(sentKeys))}; unexpected: {string.Join(", ", sentKeys.Except(confirmations))}");

        var thanks = sends.Where(s => s.Record.Message is EmailMessage m && m.Subject.StartsWith("Thanks for order ", StringComparison.Ordinal))
            .GroupBy(s => s.Record.Message.MessageId, StringComparer.Ordinal).Select(g => ((EmailMessage)g.First().Record.Message).Subject["Thanks for order ".Length..]);
        Assert.Equal(scenario.Orders.Select(e => e.Properties.GetProperty("order_id").GetString()).Order(StringComparer.Ordinal), thanks.Order(StringComparer.Ordinal));

        // The MessageId rule of the crash tests: a message repeats only across a kill (sent, then the process died before
        // completing its outbox row), identically, and never twice by one process run.
        var repeats = 0;
        foreach (var group in sends.GroupBy(s => s.Record.Message.MessageId, StringComparer.Ordinal))
        {
            var first = JsonSerializer.Serialize(group.First().Record.Message, group.First().Record.Message.GetType());
            Assert.All(group, s => Assert.Equal(first, JsonSerializer.Serialize(s.Record.Message, s.Record.Message.GetType())));
            Assert.True(group.Select(s => s.Run).Distinct().Count() == group.Count(), $"{group.Key} was sent twice by one process run");
            repeats += group.Count() - 1;
        }

        Assert.InRange(repeats, 0, KillAt.Length * new OmnichannelOptions().Delivery.DispatchBatchSize);
        output.WriteLine($"{sends.Count} sends recorded for {sends.Select(s => s.Record.Message.MessageId).Distinct().Count()} messages; {repeats} repeated across a kill");
    }
}
