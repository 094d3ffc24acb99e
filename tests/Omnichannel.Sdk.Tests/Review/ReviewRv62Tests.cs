using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>
/// Review rv62: a hostile review of session 62's reads once per unit (<see cref="WellKnownProperties"/>, the in-memory
/// store's <see cref="OneOwner"/> answer), the one hot budget all partitions share (<see cref="HotBudget"/>) and audit
/// U102's erasure of every message key of hers.
/// </summary>
public sealed class ReviewRv62Tests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// ProfileCacheBytes promises that the total stays within one profile's document of the budget. Each partition kept
    /// the profile it had just been given, however much the others held, so with documents near the budget every partition
    /// held one: three partitions over 1,000 bytes held 2,100 (64 partitions over 64 KiB, 60 KB documents: about 3.8 MB).
    /// A partition holding only the profile just kept now keeps it only while the others' total fits the budget.
    /// </summary>
    [Fact]
    public void ThePartitionsTogether_HoldNoMoreThanTheBudgetAndOneDocument()
    {
        var budget = new HotBudget(1_000);
        var a = new HotProfiles(100, budget, 0);
        var b = new HotProfiles(100, budget, 1);
        var c = new HotProfiles(100, budget, 2);
        a.Put(new CustomerProfile("a0", T0), 900);
        b.Put(new CustomerProfile("b0", T0), 600); // the others hold 900: kept, 1,500 in all
        Assert.True(b.Contains("b0"));
        c.Put(new CustomerProfile("c0", T0), 600); // the others hold 1,500 already: not kept
        Assert.False(c.Contains("c0"));
        Assert.Equal(1_500, budget.Used);
        Assert.Equal(a.Bytes + b.Bytes + c.Bytes, budget.Used);

        a.Put(new CustomerProfile("a1", T0), 10); // a gives up a0: 610
        c.Put(new CustomerProfile("c0", T0), 600); // and c's copy fits again
        Assert.True(c.Contains("c0"));
        Assert.Equal(1_210, budget.Used);
    }

    /// <summary>
    /// The in-memory store's answer for identifiers one profile all holds looked each one up by a linear scan (and
    /// counted its distinct ones in quadratic time): fine for an event's few, but a batch's look-up (a cluster client's
    /// grouping, <c>TrackBatchAsync</c> over partitions) asks about every identifier of the batch, each then looked up in
    /// turn. A long list is answered by a dictionary again.
    /// </summary>
    [Fact]
    public async Task ALongListOfOneProfilesIdentifiers_IsAnsweredByADictionary()
    {
        var store = new InMemoryOmnichannelStore();
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), store);
        var ids = Enumerable.Range(0, 60).Select(i => Identifier.AnonymousId($"a{i}")).Prepend(Identifier.CustomerId("ann")).ToList();
        await engine.TrackAsync(new CustomerEvent { Id = "e", Type = "user.signed_up", Timestamp = T0, Identifiers = ids });
        var annId = (await engine.GetProfileAsync(Identifier.CustomerId("ann")))!.Id;

        var owners = await store.ResolveIdentifiersAsync([.. ids, ids[3]]);
        Assert.IsNotType<OneOwner>(owners);
        Assert.Equal(61, owners.Count);
        Assert.All(ids, id => Assert.Equal(annId, owners[id]));

        var few = await store.ResolveIdentifiersAsync([ids[0], ids[1], ids[0]]); // an event's few: no dictionary
        Assert.IsType<OneOwner>(few);
        Assert.Equal(2, few.Count);
    }
    /// <summary>
    /// Holds: the remembered order id, currency and order key are per thread and checked against what is asked each time,
    /// so a unit whose continuation resumes on another thread carries nothing over; an id read on one thread and keyed on
    /// another gets its own key there. Guards a cache made static (shared) or keyed on anything but the value.
    /// </summary>
    [Fact]
    public void ReadsOnTwoThreads_EachGiveTheirOwnEventsValues()
    {
        var first = WellKnownProperties.String(System.Text.Json.JsonDocument.Parse("""{"order_id":"o-1","currency":"EUR"}""").RootElement, "order_id")!;
        Assert.Equal("order:o-1", WellKnownProperties.OrderKey(first));
        string? other = null, otherKey = null, currency = null;
        var thread = new Thread(() =>
        {
            var props = System.Text.Json.JsonDocument.Parse("""{"order_id":"EUR","currency":"o-1"}""").RootElement;
            other = WellKnownProperties.String(props, "order_id");
            currency = WellKnownProperties.String(props, "currency");
            otherKey = WellKnownProperties.OrderKey(first); // the other thread's id, keyed here
        });
        thread.Start();
        thread.Join();
        Assert.Equal("EUR", other);
        Assert.Equal("o-1", currency);
        Assert.Equal("order:o-1", otherKey);
        Assert.Equal("order:EUR", WellKnownProperties.OrderKey(other!)); // keyed back on this thread
        Assert.Equal("EUR", WellKnownProperties.String(System.Text.Json.JsonDocument.Parse("""{"currency":"EUR"}""").RootElement, "currency"));
        Assert.Equal("1001.5", WellKnownProperties.String(System.Text.Json.JsonDocument.Parse("""{"order_id":1001.50}""").RootElement, "order_id"));
    }
}
