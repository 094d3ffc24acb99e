using System.Reflection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the twenty-second session's changes: a batch applies one person's events in the order given (also when
/// linked only through another event or a stored profile), inactivity triggers' maxAge and a fired clock remembered by
/// its deadline, and a new engine starting its delivery before the due wake-ups.
/// </summary>
public sealed class AuditReview22Tests
{
    // ---------------------------------------------------------------- batches

    private static Identifier Pick(Random rng, int pool)
    {
        var k = rng.Next(pool);
        return rng.Next(5) switch
        {
            0 => Identifier.CustomerId($"c{k}"),
            1 => Identifier.AnonymousId($"a{k}"),
            2 => Identifier.DeviceId($"d{k}"),
            3 => Identifier.LoyaltyCard($"L{k}000"),
            _ => Identifier.Email(rng.Next(2) == 0 ? $"e{k}@x.io" : $" E{k}@X.IO"), // two spellings of one address
        };
    }

    private static List<(string Type, Identifier[] Ids)> Events(Random rng, int count, int pool)
    {
        var list = new List<(string, Identifier[])>(count);
        for (var i = 0; i < count; i++)
        {
            var n = 1 + rng.Next(3);
            var ids = Enumerable.Range(0, n).Select(_ => Pick(rng, pool)).Distinct().ToArray();
            list.Add((rng.Next(2) == 0 ? "page.viewed" : "user.identified", ids));
        }

        return list;
    }

    private static IEnumerable<Identifier> Pool(int pool) =>
        Enumerable.Range(0, pool).SelectMany(k => new[] { Identifier.CustomerId($"c{k}"), Identifier.AnonymousId($"a{k}"), Identifier.DeviceId($"d{k}"), Identifier.LoyaltyCard($"L{k}000"), Identifier.Email($"e{k}@x.io") });

    // Who holds what: for each identifier, the identifiers of its profile and that profile's event count.
    private static async Task<List<string>> PeopleAsync(OmnichannelTestHost host, int pool)
    {
        var lines = new List<string>();
        foreach (var id in Pool(pool))
        {
            var p = await host.Client.GetProfileAsync(id);
            lines.Add(p is null
                ? $"{id.Type}:{id.Value} -> none"
                : $"{id.Type}:{id.Value} -> [{string.Join(",", p.Identifiers.Select(l => l.Type + ":" + l.Value).Order(StringComparer.Ordinal))}] events {p.Statistics.EventCount} conflicts {p.Conflicts.Count} merges {p.Merges.Count}");
        }

        return lines;
    }

    /// <summary>
    /// The contract's promise (IOmnichannelClient.TrackBatchAsync): the batch ends in the profiles that tracking its events
    /// one at a time gives. Random batches over a small pool of customer ids, anonymous ids and emails, some people
    /// known from an earlier call, 1 to 16 partitions, queues of one.
    /// </summary>
    [Fact]
    public async Task Batch_EndsInTheProfilesOfOneAtATime_RandomBatches_AnyPartitions_QueueOfOne()
    {
        var partitionChoices = new[] { 1, 2, 3, 8, 16 };
        var seeds = int.TryParse(Environment.GetEnvironmentVariable("AUDIT22_SEEDS"), out var n) ? n : 40;
        for (var seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(seed);
            var partitions = partitionChoices[seed % partitionChoices.Length];
            var pool = 2 + (seed % 3);
            var known = Events(rng, rng.Next(6), pool);
            var batch = Events(rng, 4 + rng.Next(10), pool);

            await using var oneByOne = OmnichannelTestHost.Create(o => { o.Partitions = partitions; o.QueueCapacity = 1; });
            await using var batched = OmnichannelTestHost.Create(o => { o.Partitions = partitions; o.QueueCapacity = 1; });
            foreach (var (type, ids) in known)
            {
                Assert.Equal(TrackStatus.Accepted, (await oneByOne.Client.TrackAsync(oneByOne.Event(type, ids))).Status);
                Assert.Equal(TrackStatus.Accepted, (await batched.Client.TrackAsync(batched.Event(type, ids))).Status);
            }

            foreach (var (type, ids) in batch)
            {
                Assert.Equal(TrackStatus.Accepted, (await oneByOne.Client.TrackAsync(oneByOne.Event(type, ids))).Status);
            }

            var results = await batched.Client.TrackBatchAsync([.. batch.Select(e => batched.Event(e.Type, e.Ids))]);
            Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));

            var expected = await PeopleAsync(oneByOne, pool);
            var actual = await PeopleAsync(batched, pool);
            Assert.True(expected.SequenceEqual(actual), $"seed {seed}, {partitions} partitions, known [{Describe(known)}], batch [{Describe(batch)}]\nexpected:\n{string.Join("\n", expected)}\nactual:\n{string.Join("\n", actual)}");
        }
    }

    private static string Describe(List<(string Type, Identifier[] Ids)> events) =>
        string.Join(" | ", events.Select(e => string.Join("+", e.Ids.Select(i => i.Value))));

    /// <summary>A store that cannot say who holds what: the batch's events are all applied, the batch's own links still order them.</summary>
    [Fact]
    public async Task Batch_WhenTheOwnersReadThrows_LosesNoEvent_AndTheBatchsOwnLinksStillHold()
    {
        var store = ThrowingResolveStore.Wrap(new InMemoryOmnichannelStore());
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 8; o.QueueCapacity = 1; }, store: store);
        var batch = new List<CustomerEvent>();
        for (var i = 0; i < 20; i++)
        {
            batch.Add(host.Event("page.viewed", [Identifier.AnonymousId($"anon-{i}"), Identifier.Email($"shared-{i}@x.io")]));
            batch.Add(host.Event("user.identified", [Identifier.CustomerId($"first-{i}"), Identifier.Email($"shared-{i}@x.io")]));
            batch.Add(host.Event("screen.viewed", [Identifier.CustomerId($"second-{i}"), Identifier.AnonymousId($"anon-{i}")]));
        }

        var results = await host.Client.TrackBatchAsync(batch);

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.True(ThrowingResolveStore.Calls > 0, "the batch asked the store who holds its identifiers");
        for (var i = 0; i < 20; i++)
        {
            var owner = await host.ProfileAsync(Identifier.AnonymousId($"anon-{i}"));
            Assert.Equal((await host.ProfileAsync(Identifier.CustomerId($"first-{i}"))).Id, owner.Id);
            Assert.Equal(3, owner.Statistics.EventCount + (await host.ProfileAsync(Identifier.CustomerId($"second-{i}"))).Statistics.EventCount);
        }
    }

    /// <summary>The same event twice in one batch, on many partitions with queues of one: applied once, the second a duplicate.</summary>
    [Fact]
    public async Task Batch_TheSameEventTwice_IsAppliedOnce_WithLinksAcrossPartitions()
    {
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 16; o.QueueCapacity = 1; });
        var first = host.Event("user.identified", [Identifier.CustomerId("u1"), Identifier.Email("m@x.io")]);
        var other = host.Event("screen.viewed", [Identifier.CustomerId("u2"), Identifier.AnonymousId("a1")]);
        var link = host.Event("page.viewed", [Identifier.AnonymousId("a1"), Identifier.Email("m@x.io")]);

        var results = await host.Client.TrackBatchAsync([first, other, link, first, link]);

        Assert.Equal(
            [TrackStatus.Accepted, TrackStatus.Accepted, TrackStatus.Accepted, TrackStatus.Duplicate, TrackStatus.Duplicate],
            results.Select(r => r.Status));
        var u1 = await host.ProfileAsync(Identifier.CustomerId("u1"));
        var u2 = await host.ProfileAsync(Identifier.CustomerId("u2"));
        Assert.Equal(3, u1.Statistics.EventCount + (u1.Id == u2.Id ? 0 : u2.Statistics.EventCount));
    }

    /// <summary>
    /// A batch cancelled while an event waits for an earlier event of its person on another partition: the call ends, the
    /// engine is not left holding the batch lock (the next batch goes through), and the earlier event is applied.
    /// </summary>
    [Fact]
    public async Task Batch_CancelledWhileWaitingForHerEarlierEvent_IsAppliedWhole_AndReleasesTheEngine()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 16; o.QueueCapacity = 1; }, store: store);
        var batch = new List<CustomerEvent>();
        for (var i = 0; i < 6; i++)
        {
            batch.Add(host.Event("user.identified", [Identifier.CustomerId($"first-{i}"), Identifier.AnonymousId($"anon-{i}")]));
            batch.Add(host.Event("screen.viewed", [Identifier.CustomerId($"second-{i}"), Identifier.AnonymousId($"anon-{i}")]));
        }

        store.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();
        var call = host.Client.TrackBatchAsync(batch, cts.Token);
        await store.CommitWaiting.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cts.CancelAsync();
        Assert.False(call.IsCompleted); // audit U29: a worker started the batch, so it is applied whole, not "cancelled"
        var gate = store.Gate;
        store.Gate = null;
        gate.SetResult();
        Assert.All(await call.WaitAsync(TimeSpan.FromSeconds(30)), r => Assert.Equal(TrackStatus.Accepted, r.Status));

        var again = await host.Client.TrackBatchAsync(batch).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(again, r => Assert.True(r.Status is TrackStatus.Accepted or TrackStatus.Duplicate, r.Status.ToString()));
        for (var i = 0; i < 6; i++)
        {
            var owner = await host.ProfileAsync(Identifier.AnonymousId($"anon-{i}"));
            Assert.Equal((await host.ProfileAsync(Identifier.CustomerId($"first-{i}"))).Id, owner.Id);
        }
    }

    /// <summary>
    /// A tighter identity rule (one email per profile): which claim on the email comes first decides whose it is, also when
    /// the two claims are linked only through a stored profile and run on two partitions.
    /// </summary>
    [Fact]
    public async Task Batch_WithAnEmailLimitOfOne_TheFirstGivenClaimWins_LinkedThroughAStoredProfile()
    {
        static void Configure(OmnichannelOptions o)
        {
            o.Partitions = 16;
            o.QueueCapacity = 1;
            o.Identity.AddType(new IdentifierRule(IdentifierTypes.Email) { Limit = 1, Priority = 80, Normalizer = IdentifierNormalizers.Email });
        }

        await using var oneByOne = OmnichannelTestHost.Create(Configure);
        await using var batched = OmnichannelTestHost.Create(Configure);
        var known = Enumerable.Range(0, 20).Select(i => ("page.viewed", new[] { Identifier.AnonymousId($"a{i}"), Identifier.DeviceId($"d{i}") })).ToList();
        var batch = new List<(string, Identifier[])>();
        for (var i = 0; i < 20; i++)
        {
            batch.Add(("user.identified", [Identifier.AnonymousId($"a{i}"), Identifier.Email($"one-{i}@x.io")]));
            batch.Add(("user.identified", [Identifier.DeviceId($"d{i}"), Identifier.Email($"two-{i}@x.io")]));
        }

        foreach (var host in new[] { oneByOne, batched })
        {
            foreach (var (type, ids) in known)
            {
                Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event(type, ids))).Status);
            }
        }

        foreach (var (type, ids) in batch)
        {
            Assert.Equal(TrackStatus.Accepted, (await oneByOne.Client.TrackAsync(oneByOne.Event(type, ids))).Status);
        }

        Assert.All(await batched.Client.TrackBatchAsync([.. batch.Select(e => batched.Event(e.Item1, e.Item2))]), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        for (var i = 0; i < 20; i++)
        {
            var expected = await oneByOne.ProfileAsync(Identifier.AnonymousId($"a{i}"));
            var actual = await batched.ProfileAsync(Identifier.AnonymousId($"a{i}"));
            Assert.Equal(
                expected.Identifiers.Select(l => l.Type + ":" + l.Value).Order(StringComparer.Ordinal),
                actual.Identifiers.Select(l => l.Type + ":" + l.Value).Order(StringComparer.Ordinal));
        }
    }

    // ---------------------------------------------------------------- inactivity maxAge

    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnAnon = Identifier.AnonymousId("ann-browser");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");

    // Ann with an address to send to (the rig's journeys send email).
    private static async Task<JourneyRig> RigAsync(JourneyDefinition journey, IOmnichannelStore? store = null, DateTimeOffset? start = null)
    {
        var rig = JourneyRig.Create([journey], store: store, start: start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        return rig;
    }

    private static JourneyDefinition WinBack(string reEntry = "afterPreviousEnded", int version = 1, string within = "P90D") => JourneyRig.Parse($$"""
        {"id": "win-back", "version": {{version}}, "name": "Win-back",
         "trigger": {"type": "inactivity", "afterEvent": "order.placed", "noEvent": ["newsletter.unsubscribed"], "within": "{{within}}"},
         "entry": {"reEntry": "{{reEntry}}"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "win-back", "class": "transactional"}]}
        """);

    private static async Task OrderAsync(JourneyRig rig, Identifier who, string orderId, DateTimeOffset at)
    {
        var r = await rig.Host.TrackAsync(EventTypes.OrderPlaced, [who], new { order_id = orderId, total = 20, currency = "EUR" }, at: at);
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.AdvanceAsync(TimeSpan.Zero);
    }

    /// <summary>
    /// A refused import on one profile, a live order on another; an identify then merges them: the live order's clock
    /// still fires once, at its own deadline (as on one profile, where the older import changes nothing).
    /// </summary>
    [Fact]
    public async Task Merge_OfARefusedClockWithALiveOne_KeepsTheLiveDeadline()
    {
        await using var rig = await RigAsync(WinBack());
        var t0 = rig.Host.Time.GetUtcNow();
        await OrderAsync(rig, AnnAnon, "o-live", t0);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await OrderAsync(rig, Ann, "o-import", t0.AddDays(-150));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Empty(rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("win-back")).EntriesRefused);

        await rig.TrackAsync("user.identified", [Ann, AnnAnon]);
        await rig.AdvanceToAsync(t0.AddDays(90).AddMinutes(-1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(t0.AddDays(90));
        Assert.Equal(["email:win-back"], rig.Sent());
        await rig.AdvanceAsync(TimeSpan.FromDays(300));
        Assert.Equal(["email:win-back"], rig.Sent());
    }

    /// <summary>The same merge the other way round: the profile holding the refused clock is the one kept.</summary>
    [Fact]
    public async Task Merge_IntoTheProfileWithTheRefusedClock_KeepsTheLiveDeadline()
    {
        await using var rig = await RigAsync(WinBack());
        var t0 = rig.Host.Time.GetUtcNow();
        await OrderAsync(rig, Ann, "o-import", t0.AddDays(-150));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await OrderAsync(rig, AnnAnon, "o-live", rig.Host.Time.GetUtcNow());
        var live = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.identified", [AnnAnon, Ann]);
        await rig.AdvanceToAsync(live.AddDays(90).AddMinutes(-1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(live.AddDays(90));
        Assert.Equal(["email:win-back"], rig.Sent());
    }

    /// <summary>Two imports refused on two profiles, then merged: nothing starts, and nothing is counted twice afterwards.</summary>
    [Fact]
    public async Task Merge_OfTwoRefusedClocks_StartsNothing_AndALaterLiveOrderStillSetsTheClock()
    {
        await using var rig = await RigAsync(WinBack());
        var t0 = rig.Host.Time.GetUtcNow();
        await OrderAsync(rig, Ann, "o-1", t0.AddDays(-300));
        await OrderAsync(rig, AnnAnon, "o-2", t0.AddDays(-200));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync("user.identified", [Ann, AnnAnon]);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Empty(rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("win-back");
        Assert.Equal((0, 2), (stats.Entered, stats.EntriesRefused));

        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-3", total = 20, currency = "EUR" });
        await rig.AdvanceAsync(TimeSpan.FromDays(90));
        Assert.Equal(["email:win-back"], rig.Sent());
    }

    /// <summary>A noEvent after a refusal changes nothing; a later live order still sets the clock.</summary>
    [Fact]
    public async Task ANoEventAfterARefusal_ChangesNothing()
    {
        await using var rig = await RigAsync(WinBack());
        var t0 = rig.Host.Time.GetUtcNow();
        await OrderAsync(rig, Ann, "o-1", t0.AddDays(-200));
        await rig.TrackAsync("newsletter.unsubscribed", [Ann]);
        await rig.AdvanceAsync(TimeSpan.FromDays(200));
        Assert.Empty(rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("win-back")).EntriesRefused);

        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-2", total = 20, currency = "EUR" });
        await rig.AdvanceAsync(TimeSpan.FromDays(90));
        Assert.Equal(["email:win-back"], rig.Sent());
    }

    /// <summary>reEntry "never": a refused import is not an entry, so her first live deadline still starts the journey, once.</summary>
    [Fact]
    public async Task ReEntryNever_ARefusedImportIsNoEntry()
    {
        await using var rig = await RigAsync(WinBack("never"));
        var t0 = rig.Host.Time.GetUtcNow();
        await OrderAsync(rig, Ann, "o-1", t0.AddDays(-200));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-2", total = 20, currency = "EUR" });
        await rig.AdvanceAsync(TimeSpan.FromDays(91));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-3", total = 20, currency = "EUR" });
        await rig.AdvanceAsync(TimeSpan.FromDays(91));
        Assert.Equal(["email:win-back"], rig.Sent());
    }

    /// <summary>
    /// The import's clock survives a restart before it falls due: the refusal needs to know when the order was tracked, so
    /// that stamp must be kept in the stored document, not only in memory.
    /// </summary>
    [Fact]
    public async Task TheTrackedAtStamp_IsStored_ARestartBeforeTheWakeUpStillRefuses()
    {
        var store = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        await using (var first = await RigAsync(WinBack(), store, start))
        {
            var r = await first.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-old", total = 20, currency = "EUR" }, at: start.AddDays(-200));
            Assert.Equal(TrackStatus.Accepted, r.Status);
        }

        await using var back = JourneyRig.Create([WinBack()], store: store, start: start.AddHours(1));
        await back.AdvanceAsync(TimeSpan.FromDays(1));
        var profile = await back.Host.ProfileAsync(Ann);
        Assert.Empty(back.Sent());
        Assert.Contains(profile.Timeline, t => t.Type == "journey.entry_refused");
    }

    /// <summary>
    /// A clock that fired late (the engine was down) is remembered by its deadline: an offline order placed after that
    /// deadline and tracked when the engine is back starts a new period; one placed before it does not fire it again.
    /// </summary>
    [Theory]
    [InlineData(95, 2)] // after the deadline (day 90): a new period, due on day 185
    [InlineData(85, 1)] // before the deadline: the inactivity it ended already fired
    public async Task AClockThatFiredLate_IsRememberedByItsDeadline(int orderDay, int sends)
    {
        var store = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        await using (var first = await RigAsync(WinBack(), store, start))
        {
            await OrderAsync(first, Ann, "o-1", start);
        }

        await using var back = JourneyRig.Create([WinBack()], store: store, start: start.AddDays(100));
        await back.AdvanceAsync(TimeSpan.Zero);
        Assert.Equal(["email:win-back"], back.Sent());
        await back.AdvanceAsync(TimeSpan.FromDays(1)); // the first instance has ended
        await OrderAsync(back, Ann, "o-2", start.AddDays(orderDay));
        await back.AdvanceToAsync(start.AddDays(orderDay + 90).AddMinutes(-1));
        Assert.Single(back.Sent());
        await back.AdvanceToAsync(start.AddDays(200));
        Assert.Equal(sends, back.Sent().Count);
    }

    /// <summary>
    /// Her order was tracked live; the engine is then down for 100 days (past the 90-day deadline). When it is back,
    /// before her wake-up has run, a late order from day 0 + 1 hour arrives on a second profile (her phone's anonymous
    /// id), and an identify then merges the two. Linked all along (<paramref name="merged"/> false: the late order is
    /// tracked on her own profile), the deadline the engine knew fires first (RunDue before the event) and the late
    /// order, older than that deadline, changes nothing: one win-back. The merge must give the same.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)] // the phone's profile refused its clock before the merge
    public async Task AKnownDeadline_StillFires_WhenAMergeBringsANewerOrderLearnedAfterIt(bool merged, bool refusedFirst)
    {
        var inner = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        await using (var first = await RigAsync(WinBack(), inner, start))
        {
            await OrderAsync(first, Ann, "o-1", start);
        }

        var store = new FlakyStore(inner) { FailDueReads = int.MaxValue }; // her wake-up is not read yet
        await using var back = JourneyRig.Create([WinBack()], store: store, start: start.AddDays(100));
        var late = await back.Host.TrackAsync(EventTypes.OrderPlaced, [merged ? AnnAnon : Ann], new { order_id = "o-2", total = 20, currency = "EUR" }, at: start.AddHours(1));
        Assert.Equal(TrackStatus.Accepted, late.Status);
        if (refusedFirst)
        {
            await back.TrackAsync("page.viewed", [AnnAnon]); // what is due on the phone's profile runs first: refused
            Assert.Equal(1, (await back.Engine.GetJourneyStatisticsAsync("win-back")).EntriesRefused);
        }

        if (merged)
        {
            await back.TrackAsync("user.identified", [Ann, AnnAnon]);
        }

        store.FailDueReads = 0;
        await back.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Equal(["email:win-back"], back.Sent());
        await back.AdvanceAsync(TimeSpan.FromDays(200));
        Assert.Equal(["email:win-back"], back.Sent());
    }

    /// <summary>
    /// The other side of the fold above: the earlier clock is itself an import (its deadline, 10 days ago, was learned
    /// today) and will be refused; the later order, 50 days ago, tracked on her phone's profile, sets the clock 40 days
    /// from now as on one profile. Wake-ups are held until after the merge.
    /// </summary>
    [Fact]
    public async Task AnImportedDeadline_DoesNotHideTheLaterOrdersClock_WhenMerged()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore()) { FailDueReads = int.MaxValue };
        await using var rig = JourneyRig.Create([WinBack()], store: store);
        var now = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 20, currency = "EUR" }, at: now.AddDays(-100))).Status);
        Assert.Equal(TrackStatus.Accepted, (await rig.Host.TrackAsync(EventTypes.OrderPlaced, [AnnAnon], new { order_id = "o-2", total = 20, currency = "EUR" }, at: now.AddDays(-50))).Status);
        await rig.TrackAsync("user.identified", [Ann, AnnAnon]);
        store.FailDueReads = 0;
        await rig.AdvanceToAsync(now.AddDays(40).AddMinutes(-1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(now.AddDays(40));
        Assert.Equal(["email:win-back"], rig.Sent());
    }

    /// <summary>
    /// An import sent as one batch over many partitions (queues of one), each customer's orders 200 and 30 days old in
    /// either order: each gets one win-back, 60 days from now, as one at a time.
    /// </summary>
    [Fact]
    public async Task ABatchedImport_SetsEachCustomersClockFromHerNewestOrder()
    {
        await using var rig = JourneyRig.Create([WinBack()], configure: o => { o.Partitions = 16; o.QueueCapacity = 1; });
        var now = rig.Host.Time.GetUtcNow();
        var batch = new List<CustomerEvent>();
        for (var i = 0; i < 12; i++)
        {
            var who = Identifier.CustomerId($"imp-{i}");
            batch.Add(rig.Host.Event("user.signed_up", [who, Identifier.Email($"imp-{i}@x.io")], at: now.AddDays(-300)));
            foreach (var days in i % 2 == 0 ? new[] { 200, 30 } : [30, 200])
            {
                batch.Add(rig.Host.Event(EventTypes.OrderPlaced, [who], new { order_id = $"o-{i}-{days}", total = 20, currency = "EUR" }, at: now.AddDays(-days)));
            }
        }

        Assert.All(await rig.Engine.TrackBatchAsync(batch), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await rig.AdvanceAsync(TimeSpan.Zero);
        await rig.AdvanceToAsync(now.AddDays(60).AddMinutes(-1));
        Assert.Empty(rig.Sent());
        await rig.AdvanceToAsync(now.AddDays(60));
        Assert.Equal(12, rig.Sent().Count);
        await rig.AdvanceAsync(TimeSpan.FromDays(200));
        Assert.Equal(12, rig.Sent().Count);
        // The oldest-first customers' 200-day-old deadline may be refused before the newer order is heard, as one at a time.
        Assert.InRange((await rig.Engine.GetJourneyStatisticsAsync("win-back")).EntriesRefused, 0, 6);
    }

    /// <summary>The refused import, its clock and a live order: the stats count one refusal and one entry, the timeline says so once.</summary>
    [Fact]
    public async Task ARefusalIsCountedOnce_EvenWhenTheSameImportIsSentAgain()
    {
        await using var rig = await RigAsync(WinBack());
        var t0 = rig.Host.Time.GetUtcNow();
        var e = rig.Host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total = 20, currency = "EUR" }, at: t0.AddDays(-200));
        Assert.Equal(TrackStatus.Accepted, (await rig.Engine.TrackAsync(e)).Status);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(TrackStatus.Duplicate, (await rig.Engine.TrackAsync(e)).Status);
        await OrderAsync(rig, Ann, "o-2", t0.AddDays(-150));
        await rig.AdvanceAsync(TimeSpan.FromDays(1));

        var stats = await rig.Engine.GetJourneyStatisticsAsync("win-back");
        Assert.Equal((0, 2), (stats.Entered, stats.EntriesRefused));
        Assert.Empty(rig.Sent());
    }

    /// <summary>An inactivity trigger written with maxAge validates against the published JSON schema's shape (the key is allowed).</summary>
    [Fact]
    public void TheSchema_AllowsMaxAgeOnAnInactivityTrigger()
    {
        var assembly = typeof(JourneyJson).Assembly;
        var name = assembly.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith("journey.schema.json", StringComparison.Ordinal));
        var text = name is null
            ? File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "docs", "schemas", "journey.schema.json"))
            : new StreamReader(assembly.GetManifestResourceStream(name)!).ReadToEnd();
        using var doc = System.Text.Json.JsonDocument.Parse(text);
        Assert.Contains("maxAge", FindInactivity(doc.RootElement) ?? string.Empty, StringComparison.Ordinal);
    }

    private static string? FindInactivity(System.Text.Json.JsonElement e)
    {
        if (e.ValueKind == System.Text.Json.JsonValueKind.Object)
        {
            var raw = e.GetRawText();
            if (e.TryGetProperty("properties", out var props) && props.ValueKind == System.Text.Json.JsonValueKind.Object && props.TryGetProperty("afterEvent", out _))
            {
                return raw;
            }

            foreach (var p in e.EnumerateObject())
            {
                if (FindInactivity(p.Value) is { } found)
                {
                    return found;
                }
            }
        }
        else if (e.ValueKind == System.Text.Json.JsonValueKind.Array)
        {
            foreach (var x in e.EnumerateArray())
            {
                if (FindInactivity(x) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }

    /// <summary>The date trigger is untouched: a birthday fires and a JSON round trip keeps it as it was.</summary>
    [Fact]
    public void TheDateTrigger_RoundTripsWithoutAMaxAge()
    {
        var d = JourneyRig.Parse("""
            {"id": "bday", "version": 1, "name": "Birthday",
             "trigger": {"type": "date", "trait": "birthday", "offset": "P0D", "localTime": "09:00", "annual": true},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "bday"}]}
            """);
        var text = JourneyJson.Serialize(d);
        Assert.DoesNotContain("maxAge", text, StringComparison.Ordinal);
        Assert.Equal(text, JourneyJson.Serialize(JourneyJson.Parse(text).Value!));
    }

    // ---------------------------------------------------------------- engine start

    /// <summary>An engine disposed right after construction, its first outbox claim failing: disposal completes, nothing throws.</summary>
    [Fact]
    public async Task AnEngineDisposedAtOnce_WithAFailingFirstOutboxClaim_DisposesCleanly()
    {
        for (var i = 0; i < 20; i++)
        {
            var store = new FlakyStore(new InMemoryOmnichannelStore()) { FailClaims = 1, FailDueReads = i % 2 };
            var options = new OmnichannelOptions();
            options.Privacy.HashKey = "audit-review-22-hash-key-0123456789abcdef";
            var engine = new OmnichannelEngine(options, store, new FakeTimeProvider(OmnichannelTestHost.DefaultStart),
                delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("rec", new RecordingTransport()));
            await engine.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>The first outbox claim fails: the engine still sends what a due wake-up planned, once the claim is retried.</summary>
    [Fact]
    public async Task AFailingFirstOutboxClaim_DoesNotLoseTheDueWakeUpsMessage()
    {
        var inner = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        static void Configure(OmnichannelOptions o)
        {
            o.Privacy.HashKey = "audit-review-22-hash-key-0123456789abcdef";
            o.Journeys.Add(JourneyJson.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
            """).Value!);
        }

        await using (var before = OmnichannelTestHost.Create(Configure, start, inner))
        {
            await before.TrackAsync(before.Event(EventTypes.CartItemAdded, [Ann, Identifier.Email("ann@example.com")], new { product_id = "kibble" }));
        }

        var store = new FlakyStore(inner) { FailClaims = 1 };
        var time = new FakeTimeProvider(start.AddHours(2));
        var recorder = new RecordingTransport();
        var options = new OmnichannelOptions();
        Configure(options);
        await using var engine = new OmnichannelEngine(options, store, time,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("rec", recorder));
        await store.ClaimFailed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await engine.AdvanceVirtualClockAsync(time.GetUtcNow(), time.SetUtcNow);
        await engine.RunDispatchAsync();
        time.Advance(TimeSpan.FromMinutes(5));
        await engine.RunDispatchAsync();

        var profile = await engine.GetProfileAsync(Ann);
        Assert.DoesNotContain(profile!.Timeline, t => t.Type == "journey.skipped");
        Assert.Single(recorder.Messages);
    }
}

/// <summary>A store whose first <see cref="IOmnichannelStore.ResolveIdentifiersAsync"/> (the batch's read of owners) throws; everything else goes to the inner store.</summary>
public class ThrowingResolveStore : DispatchProxy
{
    private static int _calls;

    public static int Calls => Volatile.Read(ref _calls);

    private int _failed;

    private IOmnichannelStore _inner = null!;

    public static IOmnichannelStore Wrap(IOmnichannelStore inner)
    {
        var proxy = Create<IOmnichannelStore, ThrowingResolveStore>();
        ((ThrowingResolveStore)(object)proxy)._inner = inner;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (targetMethod!.Name == nameof(IOmnichannelStore.ResolveIdentifiersAsync) && Interlocked.Exchange(ref _failed, 1) == 0)
        {
            Interlocked.Increment(ref _calls);
            throw new IOException("the store cannot say who holds what");
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}
