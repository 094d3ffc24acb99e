using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Testing.Conformance;

// Instants at their edges: 100-ns ticks, offsets, exact boundaries, ties, and the ends of time.
public abstract partial class StoreConformanceTests
{
    // An instant with sub-microsecond ticks, written with a non-zero offset.
    private static readonly DateTimeOffset Odd = new DateTimeOffset(2026, 3, 29, 1, 59, 59, TimeSpan.Zero).AddTicks(9_999_999).ToOffset(TimeSpan.FromHours(5.75));

    /// <summary>
    /// A wake-up is due at its exact instant (to the 100-ns tick, whatever the offset it was written or asked with) and
    /// not one tick before; it comes back as the same instant.
    /// </summary>
    [Fact]
    public Task WakeUps_AreDueAtTheirExactTick_WhateverTheOffset() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { WakeAt = Odd });
        Assert.Empty(await store.GetDueProfilesAsync(Odd.AddTicks(-1).ToOffset(TimeSpan.FromHours(-3.5)), 10));
        var due = Assert.Single(await store.GetDueProfilesAsync(Odd.ToOffset(TimeSpan.FromHours(-3.5)), 10));
        Assert.Equal(Odd.UtcTicks, due.WakeAt.UtcTicks);
        Assert.Equal(Odd.UtcTicks, (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 1))[0].WakeAt.UtcTicks);
    });

    /// <summary>
    /// More wake-ups at one instant than a page holds are all listed, page after page, as each is moved on; ties go by
    /// profile id.
    /// </summary>
    [Fact]
    public Task WakeUps_SharingOneInstant_AreAllListed_InIdOrder() => With(async store =>
    {
        for (var i = 9; i >= 0; i--)
        {
            await store.CommitAsync(New("p" + i, "v") with { WakeAt = Odd });
        }

        var seen = new List<string>();
        while (await store.GetDueProfilesAsync(Odd, 3) is { Count: > 0 } page)
        {
            Assert.Equal(page.Select(w => w.ProfileId).Order(StringComparer.Ordinal), page.Select(w => w.ProfileId));
            foreach (var w in page)
            {
                seen.Add(w.ProfileId);
                await store.CommitAsync(New(w.ProfileId, "v2") with { ExpectedVersion = 1, WakeAt = null });
            }
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => "p" + i), seen);
    });

    /// <summary>Wake-ups at the ends of time are kept and listed exactly.</summary>
    [Fact]
    public Task WakeUps_AtTheEndsOfTime_AreKeptExactly() => With(async store =>
    {
        await store.CommitAsync(New("early", "1") with { WakeAt = DateTimeOffset.MinValue });
        await store.CommitAsync(New("late", "1") with { WakeAt = DateTimeOffset.MaxValue });
        Assert.Equal(["early"], (await store.GetDueProfilesAsync(DateTimeOffset.MinValue, 10)).Select(w => w.ProfileId));
        var all = await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10);
        Assert.Equal(["early", "late"], all.Select(w => w.ProfileId));
        Assert.Equal([DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks], all.Select(w => w.WakeAt.UtcTicks));
    });

    /// <summary>
    /// An outbox entry is claimable at its exact due tick and not one tick before; its lease ends at exactly
    /// <c>now + lease</c> (claimable again then, not a tick before), and the next due instant says so to the tick.
    /// </summary>
    [Fact]
    public Task Outbox_IsDueAndLeasedToTheExactTick_WhateverTheOffset() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { Outbox = [Entry("m1", "p1", Odd)] });
        Assert.Equal(Odd.UtcTicks, (await store.GetNextOutboxDueAsync())?.UtcTicks);
        Assert.Empty(await store.ClaimOutboxAsync(Odd.AddTicks(-1).ToOffset(TimeSpan.FromHours(-2.5)), TimeSpan.FromMinutes(1), 10));

        var lease = TimeSpan.FromTicks(TimeSpan.TicksPerMinute + 7);
        var claimed = Assert.Single(await store.ClaimOutboxAsync(Odd.ToOffset(TimeSpan.FromHours(14)), lease, 10));
        Assert.Equal(Odd.UtcTicks, claimed.DueAt.UtcTicks);
        Assert.Equal((Odd + lease).UtcTicks, (await store.GetNextOutboxDueAsync())?.UtcTicks);
        Assert.Empty(await store.ClaimOutboxAsync(Odd + lease - TimeSpan.FromTicks(1), lease, 10));
        var again = Assert.Single(await store.ClaimOutboxAsync((Odd + lease).ToOffset(TimeSpan.FromHours(-12)), lease, 10));
        Assert.Equal(2, again.Attempt);

        Assert.True(await store.RescheduleOutboxAsync("m1", 2, Odd.AddTicks(3).ToOffset(TimeSpan.FromHours(9))));
        Assert.Equal(Odd.AddTicks(3).UtcTicks, (await store.GetNextOutboxDueAsync())?.UtcTicks);
        Assert.Empty(await store.ClaimOutboxAsync(Odd.AddTicks(2), lease, 10));
        Assert.Single(await store.ClaimOutboxAsync(Odd.AddTicks(3), lease, 10));
    });

    /// <summary>
    /// More entries due at one instant than a claim takes are all claimed in turn, earliest first and by key; none is
    /// left behind.
    /// </summary>
    [Fact]
    public Task Outbox_EntriesSharingOneInstant_AreAllClaimedInKeyOrder() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { Outbox = [.. Enumerable.Range(0, 10).Reverse().Select(i => Entry("m" + i, "p1", Odd))] });
        var seen = new List<string>();
        while (await store.ClaimOutboxAsync(Odd, TimeSpan.FromHours(1), 3) is { Count: > 0 } batch)
        {
            seen.AddRange(batch.Select(e => e.MessageKey));
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => "m" + i), seen);
    });

    /// <summary>A lease that would run past the end of time is held until the end of time, not an error.</summary>
    [Fact]
    public Task Outbox_LeaseRunningPastTheEndOfTime_IsHeldUntilIt() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { Outbox = [Entry("m1", "p1", DateTimeOffset.MinValue)] });
        var now = DateTimeOffset.MaxValue.AddMinutes(-1);
        Assert.Equal(1, Assert.Single(await store.ClaimOutboxAsync(now, TimeSpan.FromHours(1), 10)).Attempt);
        Assert.Equal(DateTimeOffset.MaxValue.UtcTicks, (await store.GetNextOutboxDueAsync())?.UtcTicks);
        Assert.Empty(await store.ClaimOutboxAsync(DateTimeOffset.MaxValue.AddTicks(-1), TimeSpan.FromHours(1), 10));
        Assert.True(await store.CompleteOutboxAsync("m1", 1));

        // Six hours before the end of time, read in a zone east of UTC (its local clock is an hour from the end): a
        // two-hour lease ends at its exact instant.
        await store.CommitAsync(New("p2", "1") with { Outbox = [Entry("m2", "p2", DateTimeOffset.MinValue)] });
        var east = new DateTimeOffset(DateTimeOffset.MaxValue.UtcTicks - TimeSpan.TicksPerHour * 6, TimeSpan.Zero).ToOffset(TimeSpan.FromHours(5));
        Assert.Single(await store.ClaimOutboxAsync(east, TimeSpan.FromHours(2), 10));
        Assert.Equal(east.UtcTicks + TimeSpan.TicksPerHour * 2, (await store.GetNextOutboxDueAsync())?.UtcTicks);
    });

    /// <summary>Purging keeps an id processed at the cut-off's exact tick and forgets one a tick earlier, whatever the offsets.</summary>
    [Fact]
    public Task PurgeProcessedEvents_CutsAtTheExactTick() => With(async store =>
    {
        await store.CommitAsync(New("p1", "v1", eventId: "before") with { ProcessedAt = Odd.AddTicks(-1).ToOffset(TimeSpan.FromHours(-9.5)) });
        await store.CommitAsync(New("p2", "v1", eventId: "at") with { ProcessedAt = Odd.ToOffset(TimeSpan.FromHours(13)) });
        Assert.Equal(1, await store.PurgeProcessedEventsAsync(Odd.ToOffset(TimeSpan.Zero)));
        Assert.False(await store.IsEventProcessedAsync("before"));
        Assert.True(await store.IsEventProcessedAsync("at"));
    });

    /// <summary>A tombstone's erasure time comes back as the same instant, to the tick.</summary>
    [Fact]
    public Task Tombstones_KeepTheirErasureInstantToTheTick() => With(async store =>
    {
        await store.CommitAsync(New("p1", "v1"));
        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p1", Tombstones = [new Tombstone("h1", Odd, true)] }));
        var t = Assert.Single(await store.FindTombstonesAsync(["h1"]));
        Assert.Equal(Odd.UtcTicks, t.ErasedAt.UtcTicks);
        Assert.Equal(Odd, t.ErasedAt);
    });
}
