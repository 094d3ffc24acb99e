using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Found by the Orleans suite's stream property in CI (forty-seventh session, replay
/// <c>(3654627515463376567,13714289507283222013,39)</c>): two engines on one store (two silos, two processes, or two
/// partitions of one engine) each keep hot copies of the profiles they touch, and only a commit checks a copy's version.
/// An event whose identifiers are left unlinked as a conflict commits nothing of the profile holding them, so a stale copy
/// of it decided alone: her returning email linked to his profile (with the erasure's time) by the other engine, her
/// login queued before the erasure went in here as a new profile instead of being refused as erased. A copy the decision
/// reads but the commit does not write is now read again when it differs from the store's.
/// </summary>
public sealed class StaleCopyDecisionTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    // One partition per engine: every event meets the same hot copies, whatever identifier routes it.
    private static void OnePartition(OmnichannelOptions o) => o.Partitions = 1;

    [Fact]
    public async Task HerLoginQueuedBeforeHerErasure_OnAnEngineWithAnOldCopyOfHisProfile_IsRefusedAsErased()
    {
        // Two hosts number their events alike: the other's carry ids of their own.
        var store = new InMemoryOmnichannelStore();
        await using var here = OmnichannelTestHost.Create(OnePartition, Start, store);
        await using var there = OmnichannelTestHost.Create(OnePartition, Start, store);
        var cookie = Identifier.AnonymousId("bob-browser");
        var bob = Identifier.CustomerId("bob");
        var her = Identifier.Email("ann-stale@example.com");

        // His profile, hot here; her order, then her erasure (she may come back).
        Assert.Equal(TrackStatus.Accepted, (await here.Client.TrackAsync(here.Event("user.logged_in", [cookie, bob]))).Status);
        Assert.Equal(TrackStatus.Accepted, (await here.Client.TrackAsync(here.Event(EventTypes.OrderPlaced, [her], new { order_id = "o-ann", total = 21, currency = "GBP" }))).Status);
        var login = here.Event("user.logged_in", [her, Identifier.CustomerId("ann")], at: Start + TimeSpan.FromMinutes(30));
        await here.AdvanceAsync(TimeSpan.FromHours(1));
        await there.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.True(await here.Client.EraseProfileAsync(her, new EraseOptions { AllowReturn = true }));

        // On the other engine, an hour later, her email comes back on his browser: linked to him with the erasure's time.
        await here.AdvanceAsync(TimeSpan.FromHours(1));
        await there.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(TrackStatus.Accepted, (await there.Client.TrackAsync(there.Event("newsletter.signed_up", [cookie, her]) with { Id = "there-1" })).Status);

        // Her login, queued before the erasure, reaches the engine whose copy of his profile predates that link.
        var late = await here.Client.TrackAsync(login);

        Assert.Equal(TrackStatus.Erased, late.Status);
        Assert.Contains(late.Errors, e => e.Field == "identifiers" && e.Message.Contains("dated before", StringComparison.Ordinal));
        Assert.Null(await there.Client.GetProfileAsync(Identifier.CustomerId("ann")));
        Assert.Equal(TrackStatus.Erased, (await there.Client.TrackAsync(login)).Status); // as the other engine answers
    }

    /// <summary>
    /// The same read again for a profile left unlinked without any erasure: the conflict is still reported, the event goes
    /// in, and his profile (read fresh, not written) keeps the other engine's change.
    /// </summary>
    [Fact]
    public async Task AConflictDecidedOnAnOldCopy_IsReportedAndKeepsTheOtherEnginesChange()
    {
        var store = new InMemoryOmnichannelStore();
        await using var here = OmnichannelTestHost.Create(OnePartition, Start, store);
        await using var there = OmnichannelTestHost.Create(OnePartition, Start, store);
        var bob = Identifier.CustomerId("bob-2");
        var his = Identifier.Email("bob-2@example.com");
        Assert.Equal(TrackStatus.Accepted, (await here.Client.TrackAsync(here.Event("user.logged_in", [bob, his]))).Status);
        Assert.Equal(TrackStatus.Accepted, (await there.Client.TrackAsync(there.Event("user.updated", [bob], traits: new { tier = "gold" }) with { Id = "there-2" })).Status);

        var shared = await here.Client.TrackAsync(here.Event("user.logged_in", [his, Identifier.CustomerId("carol-2")]));

        Assert.Equal(TrackStatus.Accepted, shared.Status);
        Assert.Contains(shared.NotLinked, n => n.Field.StartsWith("identifiers[", StringComparison.Ordinal));
        var bobs = await here.Client.GetProfileAsync(bob);
        Assert.Equal("gold", bobs!.Traits["tier"]?.GetValue<string>());
        Assert.NotEqual(bobs.Id, (await here.Client.GetProfileAsync(Identifier.CustomerId("carol-2")))!.Id);
    }
}
