using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Trust;
using Xunit;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// Runs: a batch's consecutive events of one profile are applied in order and committed once. Whatever a run does must
/// be what one event at a time does; the run only saves writes.
/// </summary>
public sealed class EventRunTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-1");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static CustomerEvent Event(string id, string type, DateTimeOffset at, IReadOnlyList<Identifier> ids, object? properties = null, object? traits = null) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = ids,
        Properties = properties is null ? default : JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
    };

    // A run is what is queued when the worker looks: on a loaded machine the worker could take a batch's first event
    // before the rest was queued. One partition, and its worker held in another customer's commit while the batch queues.
    private static (OmnichannelTestHost Host, FlakyStore Store) HeldHost()
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore()) { Runs = true };
        return (OmnichannelTestHost.Create(o => o.Partitions = 1, store: store), store);
    }

    private static async Task<T> BehindAHeldCommitAsync<T>(OmnichannelTestHost host, FlakyStore store, Func<Task<T>> queue) =>
        await await store.BehindAHeldCommitAsync(() => host.TrackAsync(Event("held-" + Guid.NewGuid().ToString("N"), "user.signed_up", host.Time.GetUtcNow(), [Identifier.CustomerId("bob")])), queue);

    [Fact]
    public async Task TenEventsOfOneCustomerInABatch_AreOneCommit_AndEachIsAcceptedForHerProfile()
    {
        var (host, store) = HeldHost();
        await using var _ = host;
        var at = host.Time.GetUtcNow().AddMinutes(-30);
        var batch = new List<CustomerEvent> { Event("e0", "user.identified", at, [Ann, AnnEmail], traits: new { tier = "gold" }) };
        batch.AddRange(Enumerable.Range(1, 9).Select(i => Event($"e{i}", EventTypes.ProductViewed, at.AddMinutes(i), [Ann], new { product_id = $"p{i}" })));

        var results = await BehindAHeldCommitAsync(host, store, () => host.Client.TrackBatchAsync(batch));

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Single(results.Select(r => r.ProfileId).Distinct());
        var profile = await host.ProfileAsync(Ann);
        Assert.Equal(1, profile.Version); // one commit for the ten
        Assert.Equal(9, profile.Timeline.Count(t => t.Type == EventTypes.ProductViewed));
        foreach (var e in batch)
        {
            Assert.True(await host.Store.IsEventProcessedAsync(e.Id), e.Id);
        }
    }

    // Audit CL: a run's first event whose identifier the limits kept off her profile answered NotLinked empty (the run's
    // results left it out), while the same event one at a time (or on a cluster's silo, where no run formed) named it.
    [Fact]
    public async Task AuditCL_ARunsFirstEvent_WithAnIdentifierNotLinked_ReportsIt_AsOneAtATime()
    {
        var (host, store) = HeldHost();
        await using var _ = host;
        var at = host.Time.GetUtcNow().AddMinutes(-30);
        await host.Client.TrackAsync(Event("login-a", "user.identified", at, [Identifier.CustomerId("c-a"), AnnEmail]));
        var other = Identifier.CustomerId("c-b");
        var batch = new List<CustomerEvent> { Event("e0", EventTypes.ProductViewed, at, [Identifier.AnonymousId("anon-b"), AnnEmail, other], new { product_id = "p0" }) };
        batch.AddRange(Enumerable.Range(1, 4).Select(i => Event($"e{i}", EventTypes.ProductViewed, at.AddMinutes(i), [other], new { product_id = $"p{i}" })));

        var results = await BehindAHeldCommitAsync(host, store, () => host.Client.TrackBatchAsync(batch));

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(1, (await host.ProfileAsync(other)).Version); // one run, one commit
        var notLinked = Assert.Single(results[0].NotLinked);
        Assert.Equal("identifiers[1]", notLinked.Field);
        Assert.All(results.Skip(1), r => Assert.Empty(r.NotLinked));
    }

    [Fact]
    public async Task ARepeatedIdInARun_AndAnIdProcessedBefore_AreDuplicates_AndTheOthersAreApplied()
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddMinutes(-30);
        await host.TrackAsync(Event("old", EventTypes.ProductViewed, at, [Ann], new { product_id = "p0" }));
        var results = await host.Client.TrackBatchAsync(
        [
            Event("a", EventTypes.ProductViewed, at.AddMinutes(1), [Ann], new { product_id = "p1" }),
            Event("a", EventTypes.ProductViewed, at.AddMinutes(1), [Ann], new { product_id = "p1" }),
            Event("old", EventTypes.ProductViewed, at, [Ann], new { product_id = "p0" }),
            Event("b", EventTypes.ProductViewed, at.AddMinutes(2), [Ann], new { product_id = "p2" }),
        ]);

        Assert.Equal([TrackStatus.Accepted, TrackStatus.Duplicate, TrackStatus.Duplicate, TrackStatus.Accepted], results.Select(r => r.Status));
        Assert.Equal(3, (await host.ProfileAsync(Ann)).Timeline.Count(t => t.Type == EventTypes.ProductViewed));
    }

    [Fact]
    public async Task AnEventBringingANewIdentifier_EndsTheRun_AndIsLinkedAsOneAtATimeWouldLinkIt()
    {
        var (host, store) = HeldHost();
        await using var _ = host;
        var at = host.Time.GetUtcNow().AddMinutes(-30);
        var phone = Identifier.Phone("+447700900123");
        var results = await BehindAHeldCommitAsync(host, store, () => host.Client.TrackBatchAsync(
        [
            Event("a", EventTypes.ProductViewed, at, [Ann], new { product_id = "p1" }),
            Event("b", EventTypes.ProductViewed, at.AddMinutes(1), [Ann], new { product_id = "p2" }),
            Event("c", "user.identified", at.AddMinutes(2), [Ann, phone]),
            Event("d", EventTypes.ProductViewed, at.AddMinutes(3), [Ann], new { product_id = "p3" }),
        ]));

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal((await host.ProfileAsync(Ann)).Id, (await host.ProfileAsync(phone)).Id);
        Assert.True((await host.ProfileAsync(Ann)).Version < 4);
    }

    [Fact]
    public async Task AnOrderSentTwiceInOneRun_IsOneOrder_AsOneAtATime()
    {
        await using var host = OmnichannelTestHost.Create();
        var at = host.Time.GetUtcNow().AddMinutes(-30);
        var results = await host.Client.TrackBatchAsync(
        [
            Event("a", EventTypes.ProductViewed, at, [Ann], new { product_id = "p1" }),
            Event("b", EventTypes.OrderPlaced, at.AddMinutes(1), [Ann], new { order_id = "o1", total = 10, currency = "GBP" }),
            Event("c", EventTypes.OrderPlaced, at.AddMinutes(2), [Ann], new { order_id = "o1", total = 12, currency = "GBP" }),
        ]);

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        var profile = await host.ProfileAsync(Ann);
        Assert.Equal(1, profile.Statistics.OrderCount); // the second is an update of the same order, as one at a time
    }

    [Fact]
    public async Task AReplayFromBeforeAnErasure_InTheMiddleOfARun_IsRefused_AndTheEventsAroundItAreApplied()
    {
        await using var host = OmnichannelTestHost.Create();
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("user.signed_up", [Ann]);
        Assert.True(await host.Client.EraseProfileAsync(Ann, new Omnichannel.Sdk.Privacy.EraseOptions { AllowReturn = true }));
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync("user.signed_up", [Ann]);
        var now = host.Time.GetUtcNow();

        var results = await host.Client.TrackBatchAsync(
        [
            Event("new-1", EventTypes.ProductViewed, now, [Ann], new { product_id = "p1" }),
            Event("replay", EventTypes.ConsentChanged, t0, [Ann], new { channel = "email", granted = true }),
            Event("new-2", EventTypes.ProductViewed, now, [Ann], new { product_id = "p2" }),
        ]);

        Assert.Equal([TrackStatus.Accepted, TrackStatus.Erased, TrackStatus.Accepted], results.Select(r => r.Status));
        Assert.Null((await host.ProfileAsync(Ann)).GetConsent("email"));
    }

    /// <summary>One batch through runs equals the same events tracked one at a time, for every person in it.</summary>
    [Property(MaxTest = 60)]
    public void ABatch_GivesTheProfilesThatOneAtATimeGives(PositiveInt seed) =>
        Compare(seed.Get).GetAwaiter().GetResult();

    private static async Task Compare(int seed)
    {
        var random = new Random(seed);
        var people = new[]
        {
            new[] { Identifier.CustomerId("c-1"), Identifier.Email("ann@example.com"), Identifier.AnonymousId("a-1") },
            new[] { Identifier.CustomerId("c-2"), Identifier.Email("bob@example.com"), Identifier.AnonymousId("a-2") },
            new[] { Identifier.CustomerId("c-3"), Identifier.Phone("+447700900333") },
        };
        var start = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(6);
        var events = new List<CustomerEvent>();
        for (var i = 0; i < 40; i++)
        {
            if (random.Next(12) == 0 && events.Count > 0)
            {
                events.Add(events[random.Next(events.Count)]); // a resend: the same event again
                continue;
            }

            var person = people[random.Next(people.Length)];
            var ids = random.Next(4) == 0 ? person : [person[random.Next(person.Length)]];
            var at = start + TimeSpan.FromMinutes(random.Next(0, 300));
            var id = $"e{i}";
            events.Add(random.Next(7) switch
            {
                0 => Event(id, "user.identified", at, ids, traits: new { tier = random.Next(2) == 0 ? "gold" : "silver", first_name = "P" + i }),
                1 => Event(id, EventTypes.CartItemAdded, at, ids, new { product_id = $"p{random.Next(3)}", sku = $"p{random.Next(3)}", price = 5, quantity = 1 }),
                2 => Event(id, EventTypes.OrderPlaced, at, ids, new { order_id = $"o{random.Next(5)}", total = random.Next(5, 50), currency = "GBP" }),
                3 => Event(id, EventTypes.ConsentChanged, at, ids, new { channel = "email", granted = random.Next(2) == 0 }),
                _ => Event(id, EventTypes.ProductViewed, at, ids, new { product_id = $"p{random.Next(3)}" }),
            });
        }

        static void Configure(OmnichannelOptions o)
        {
            o.Partitions = 2;
            o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "buyers", "name": "x", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "P1D"}}""").Value!);
            o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "gold", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""").Value!);
            o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "carters", "name": "x", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""").Value!);
        }

        await using var oneByOne = OmnichannelTestHost.Create(Configure);
        var expected = new List<TrackStatus>();
        foreach (var e in events)
        {
            expected.Add((await oneByOne.Client.TrackAsync(e)).Status);
        }

        await using var batched = OmnichannelTestHost.Create(Configure);
        var actual = (await batched.Client.TrackBatchAsync(events)).Select(r => r.Status).ToList();

        Assert.Equal(expected, actual);
        foreach (var person in people)
        {
            foreach (var id in person)
            {
                var one = await oneByOne.Client.ExportProfileAsync(id);
                var run = await batched.Client.ExportProfileAsync(id);
                Assert.Equal(one is null, run is null);
                if (one is not null)
                {
                    Assert.Equal(ArrivalOrderProperties.Comparable(one), ArrivalOrderProperties.Comparable(run));
                }
            }
        }
    }
}
