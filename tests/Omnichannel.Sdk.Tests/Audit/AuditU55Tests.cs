using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U55: durable stores over time and failure, engine side: the look in the store for work other processes left
/// (<see cref="OmnichannelOptions.StorePollInterval"/>), its range, and a look that fails. The SQLite and PostgreSQL
/// suites replay the same class on real files and servers (<c>AuditU55SqliteTests</c>, <c>AuditU55PostgreSqlTests</c>).
/// </summary>
public sealed class AuditU55Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u55-private");
    private static readonly TimeSpan Bound = Omnichannel.Sdk.StoreParity.TwoProcessStoreScenario.Bound;

    [Theory]
    [InlineData(0L, false)]
    [InlineData(-1L, false)]
    [InlineData(9_999_999L, false)] // a tick under a second
    [InlineData(10_000_000L, true)]
    [InlineData(864_000_000_000L, true)] // one day
    [InlineData(864_000_000_001L, false)]
    public void StorePollInterval_OutsideOneSecondToOneDay_IsRefusedNamingIt(long ticks, bool valid)
    {
        var options = new OmnichannelOptions { StorePollInterval = TimeSpan.FromTicks(ticks) };
        var errors = options.Validate().ToList();
        Assert.Equal(valid, !errors.Exists(e => e.Contains(nameof(OmnichannelOptions.StorePollInterval), StringComparison.Ordinal)));
        Assert.Empty(new OmnichannelOptions { StorePollInterval = null }.Validate());
    }

    // Hangfire's and Quartz's pollers retry a failed look (HangfireIO/Hangfire#2218 is the class this look closes): the
    // store fails the first look (a connection reset); it is logged without personal data, and the next look, a minute on,
    // finds the wake-up another process (an engine since disposed) left on the shared database, and runs it.
    [Fact]
    public async Task ALookThatFails_IsLogged_AndTheNextLookStillFindsTheWorkAnotherProcessLeft()
    {
        var shared = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        var time = new FakeTimeProvider(start);
        var lines = new List<string>();
        var survivorStore = new FlakyStore(shared);
        using var logs = LoggerFactory.Create(b => b.AddProvider(new ListLogger(lines)));
        await using var survivor = new OmnichannelEngine(Options(), survivorStore, time, logs);
        await using (var stopped = new OmnichannelEngine(Options(), new FlakyStore(shared), time))
        {
            Assert.Equal(TrackStatus.Accepted, (await stopped.TrackAsync(new CustomerEvent
            {
                Id = "e1",
                Type = EventTypes.CartItemAdded,
                Timestamp = start,
                Identifiers = [Ann],
                Properties = JsonData.From(new { cart_id = "c1", product_id = "p1" }),
            })).Status);
        }

        Volatile.Write(ref survivorStore.FailDueReads, 1);
        time.Advance(TimeSpan.FromMinutes(1));
        await survivorStore.DueReadFailed.Task.WaitAsync(Bound);
        Assert.True(await Eventually(() => Lines(lines).Any(l => l.Contains("Looking in the store", StringComparison.Ordinal))), "the failed look was not logged");
        Assert.DoesNotContain(Lines(lines), l => l.Contains("ann-u55-private", StringComparison.Ordinal));

        time.Advance(TimeSpan.FromHours(1)); // the wait's instant; the next look is due too
        Assert.True(await Eventually(() => survivor.GetJourneyStatisticsAsync("cart").GetAwaiter().GetResult() is { Active: 0, Entered: 1 }), "the wait left by the stopped engine never ran");
        Assert.Null(await survivor.GetNextWakeUpAsync());
    }

    // A process alone on its store turns the look off: moving its clock reads nothing.
    [Fact]
    public async Task WithStorePollIntervalNull_NoLookIsMade()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var time = new FakeTimeProvider(OmnichannelTestHost.DefaultStart);
        var options = Options();
        options.StorePollInterval = null;
        await using var engine = new OmnichannelEngine(options, store, time);
        await engine.RunDueAsync();
        Volatile.Write(ref store.FailDueReads, int.MaxValue); // any read of the wake-ups from now on would fail and be seen
        time.Advance(TimeSpan.FromHours(3));
        Assert.False(store.DueReadFailed.Task.IsCompleted, "a look was made although StorePollInterval is null");
    }

    /// <summary>Two partitions and a cart journey with a one-hour wait (shared with the review of the store poll).</summary>
    internal static OmnichannelOptions Options()
    {
        var o = new OmnichannelOptions { Partitions = 2 };
        o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        o.Journeys.Add(JourneyJson.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {"id": "done", "type": "exit"}]}
        """).Value!);
        return o;
    }

    internal static List<string> Lines(List<string> lines)
    {
        lock (lines)
        {
            return [.. lines];
        }
    }

    // Waits (real time, bounded) for work the engine's timers started in the background; never moves the clock.
    internal static Task<bool> Eventually(Func<bool> condition) => Omnichannel.Sdk.StoreParity.TwoProcessStoreScenario.Eventually(condition);
}
