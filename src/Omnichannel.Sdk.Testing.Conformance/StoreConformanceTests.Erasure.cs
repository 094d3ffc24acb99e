using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Testing.Conformance;

// Erasure: what a person's erasure removes, what it leaves (tombstones, suppression), and lifting it.
public abstract partial class StoreConformanceTests
{
    /// <summary>Erasing deletes the profile, its identifiers and aliases to it, and suppresses the hashes.</summary>
    [Fact]
    public Task Erase_DeletesProfileIdentifiersAndAliases_AndSuppresses() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1", claims: [new(Identifier.AnonymousId("a1"), null)]));
        await store.CommitAsync(New("p2", "2", claims: [new(Identifier.Email("a@x.io"), null)]));
        await store.CommitAsync(New("p2", "2+1", claims: [new(Identifier.AnonymousId("a1"), "p1")]) with { ExpectedVersion = 1, Absorbed = [new("p1", 1)] });
        await store.CommitAsync(New("p3", "3", claims: [new(Identifier.Email("other@x.io"), null)]));

        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p2", SuppressionHashes = ["hash-a"] }));

        Assert.Null(await store.LoadProfileAsync("p2"));
        Assert.Null(await store.ResolveProfileIdAsync("p1"));
        Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.Email("a@x.io"), Identifier.AnonymousId("a1")]));
        Assert.True(await store.IsSuppressedAsync("hash-a"));
        Assert.False(await store.IsSuppressedAsync("hash-b"));
        Assert.NotNull(await store.LoadProfileAsync("p3"));
        Assert.False(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p2", SuppressionHashes = ["hash-c"] }));
        Assert.False(await store.IsSuppressedAsync("hash-c")); // nothing is written for a profile that is not there

        // The erased identifiers are free again for a new profile.
        var again = await store.CommitAsync(New("p4", "4", claims: [new(Identifier.Email("a@x.io"), null)]));
        Assert.Equal(CommitStatus.Committed, again.Status);
    });

    /// <summary>
    /// Erasing a profile that absorbed one that had absorbed another deletes the whole alias chain: no alias keeps the
    /// ids she had (an alias left behind also kept its old id taken).
    /// </summary>
    [Fact]
    public Task Erase_DeletesTheWholeAliasChain() => With(async store =>
    {
        await store.CommitAsync(New("c0", "0"));
        await store.CommitAsync(New("c1", "1"));
        await store.CommitAsync(New("c2", "2"));
        await store.CommitAsync(New("c1", "1+0") with { ExpectedVersion = 1, Absorbed = [new("c0", 1)] });
        await store.CommitAsync(New("c2", "2+1") with { ExpectedVersion = 1, Absorbed = [new("c1", 2)] });
        await store.CommitAsync(New("d0", "other"));
        await store.CommitAsync(New("d1", "other"));
        await store.CommitAsync(New("d1", "other+") with { ExpectedVersion = 1, Absorbed = [new("d0", 1)] });

        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "c2" }));

        Assert.Null(await store.ResolveProfileIdAsync("c0"));
        Assert.Equal("d1", await store.ResolveProfileIdAsync("d0"));
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(New("c0", "new"))).Status);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(New("c1", "new"))).Status);
    });

    /// <summary>
    /// Erasing forgets the remembered keys of the journey messages of every id the person had (<c>j:{profile id}:…</c>)
    /// and the processed ids of their outcome events, and no other key.
    /// </summary>
    [Fact]
    public Task Erase_ForgetsTheJourneyMessageKeysOfEveryIdOfThePerson() => With(async store =>
    {
        var due = T0.AddDays(100);
        await store.CommitAsync(New("k0", "0") with { Outbox = [Entry("j:k0:welcome#1:w1:1", "k0", due)] });
        await store.CommitAsync(New("k1", "1") with { Outbox = [Entry("j:k1:welcome#1:w1:1", "k1", due), Entry("host-key-1", "k1", due)] });
        await store.CommitAsync(New("k1", "1+0") with { ExpectedVersion = 1, Absorbed = [new("k0", 1)] });
        await store.CommitAsync(New("k10", "other") with { Outbox = [Entry("j:k10:welcome#1:w1:1", "k10", due)] });
        await store.CommitAsync(New("k1", "1+0+sent", eventId: "j:k0:welcome#1:w1:1:sent") with { ExpectedVersion = 2 });
        await store.CommitAsync(New("k10", "other+sent", eventId: "j:k10:welcome#1:w1:1:sent") with { ExpectedVersion = 1 });
        await store.CommitAsync(New("k10", "other+event", eventId: "host-event-1") with { ExpectedVersion = 2 });

        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "k1" }));

        // The outcome events of her journey messages are forgotten too; nobody else's.
        Assert.False(await store.IsEventProcessedAsync("j:k0:welcome#1:w1:1:sent"));
        Assert.True(await store.IsEventProcessedAsync("j:k10:welcome#1:w1:1:sent"));
        Assert.True(await store.IsEventProcessedAsync("host-event-1"));

        // A forgotten key is accepted again; a remembered one is not (the commit carrying it is refused).
        Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(New("n1", "n") with
        {
            Outbox = [Entry("j:k0:welcome#1:w1:1", "n1", due), Entry("j:k1:welcome#1:w1:1", "n1", due), Entry("host-key-1", "n1", due), Entry("j:k10:welcome#1:w1:1", "n1", due)],
        })).Status);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(New("n1", "n") with
        {
            Outbox = [Entry("j:k0:welcome#1:w1:1", "n1", due), Entry("j:k1:welcome#1:w1:1", "n1", due)],
        })).Status);
        Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(New("n2", "n") with { Outbox = [Entry("host-key-1", "n2", due)] })).Status);
        var claimed = (await store.ClaimOutboxAsync(due.AddDays(1), TimeSpan.FromMinutes(1), 10))
            .Select(e => e.MessageKey + " " + e.ProfileId)
            .Order(StringComparer.Ordinal);
        Assert.Equal(["j:k0:welcome#1:w1:1 n1", "j:k10:welcome#1:w1:1 k10", "j:k1:welcome#1:w1:1 n1"], claimed);
    });

    /// <summary>
    /// Erasing forgets the processed event ids the erasure names, as sent (a client may build one from her address), and
    /// no other id, however alike: the event-id tombstones refuse them from now on (audit U63).
    /// </summary>
    [Fact]
    public Task Erase_ForgetsTheProcessedEventIdsItNames_AndNoOther() => With(async store =>
    {
        await store.CommitAsync(New("e1", "ann", eventId: "signup-ann@example.com"));
        await store.CommitAsync(New("e1", "ann+order", eventId: "order-ann@example.com-1") with { ExpectedVersion = 1 });
        await store.CommitAsync(New("e2", "joann", eventId: "signup-joann@example.com"));
        await store.CommitAsync(New("e2", "joann+", eventId: "signup-ann@example.com-2") with { ExpectedVersion = 1 });

        Assert.True(await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "e1",
            EventIds = ["signup-ann@example.com", "order-ann@example.com-1", "never-processed"],
        }));

        Assert.False(await store.IsEventProcessedAsync("signup-ann@example.com"));
        Assert.False(await store.IsEventProcessedAsync("order-ann@example.com-1"));
        Assert.True(await store.IsEventProcessedAsync("signup-joann@example.com"));
        Assert.True(await store.IsEventProcessedAsync("signup-ann@example.com-2"));
        Assert.Equal(2, await store.PurgeProcessedEventsAsync(T0.AddDays(1))); // only the other person's ids were left
    });

    /// <summary>
    /// Audit U99: an erasure forgets the accepted message keys it names, sent or pending (a host may build a key from an
    /// address), and no other key: a key forgotten is accepted again, another's (her pending one not named, too) is still taken.
    /// </summary>
    [Fact]
    public Task Erase_ForgetsTheMessageKeysItNames_AndNoOther() => With(async store =>
    {
        await store.CommitAsync(New("e1", "1") with { Outbox = [Entry("welcome-ann@example.com", "e1", T0), Entry("pending-ann@example.com", "e1", T0.AddDays(1)), Entry("pending-unnamed", "e1", T0.AddDays(1))] });
        await store.CommitAsync(New("e2", "2") with { Outbox = [Entry("welcome-joann@example.com", "e2", T0.AddDays(1))] });
        var sent = Assert.Single(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10));
        Assert.True(await store.CompleteOutboxAsync(sent.MessageKey, sent.Attempt)); // sent: only the remembered key is left

        Assert.True(await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "e1",
            MessageKeys = ["welcome-ann@example.com", "pending-ann@example.com", "welcome-ann@example.com\u2192sms", "never-accepted"],
        }));

        await store.CommitAsync(New("e3", "3"));
        var again = await store.CommitAsync(New("e3", "3b") with
        {
            ExpectedVersion = 1,
            Outbox = [Entry("welcome-ann@example.com", "e3", T0), Entry("pending-ann@example.com", "e3", T0), Entry("never-accepted", "e3", T0)],
        });
        Assert.Equal(CommitStatus.Committed, again.Status);
        Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(New("e3", "3c") with { ExpectedVersion = 2, Outbox = [Entry("welcome-joann@example.com", "e3", T0)] })).Status);
        Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(New("e3", "3c") with { ExpectedVersion = 2, Outbox = [Entry("pending-unnamed", "e3", T0)] })).Status);
    });

    /// <summary>
    /// Audit U102: given <see cref="ProfileErasure.MessageKeyTombstone"/>, an erasure forgets every key accepted for the
    /// profile or for a profile merged into it, however many (a profile names only its last 500), sent or pending, hand-over
    /// keys too, and keeps the tombstone the function answers for each key the erasure does not name (none for a journey
    /// key, for which it answers null); a named key keeps the erasure's own tombstone. The processed ids of the found keys'
    /// outcome events go with them. Another profile's keys, hashes and processed ids are untouched.
    /// </summary>
    [Fact]
    public Task Erase_ForgetsEveryMessageKeyAcceptedForTheProfileOrOneMergedIntoIt_KeepingEachOnesHash() => With(async store =>
    {
        static string Receipt(int i) => $"receipt-{i}-ann@example.com";
        static string HashOf(string key) => "hash:" + key;
        var erasedAt = T0.AddDays(2);

        // Her browser's profile accepts a key, then her account's 502 (the first two sent, the rest pending) and a hand-over
        // key of one of them; the account absorbs the browser's profile. Bob accepts a key of his.
        await store.CommitAsync(New("m0", "0") with { Outbox = [Entry("cart-ann@example.com", "m0", T0.AddDays(1))] });
        var keys = Enumerable.Range(0, 502).Select(Receipt).ToList();
        await store.CommitAsync(New("m1", "1") with { Outbox = [.. keys.Select((k, i) => Entry(k, "m1", i < 2 ? T0 : T0.AddDays(1)))] });
        await store.CommitAsync(New("b1", "bob") with { Outbox = [Entry("receipt-bob@example.com", "b1", T0.AddDays(1))] });
        await store.CommitAsync(New("m1", "1+") with { ExpectedVersion = 1, Outbox = [Entry(Receipt(9) + "\u2192line", "m1", T0.AddDays(1)), Entry("j:m1:welcome#1:w1:1", "m1", T0.AddDays(1))] });
        await store.CommitAsync(New("m1", "1+0") with { ExpectedVersion = 2, Absorbed = [new("m0", 1)] });
        await store.CommitAsync(New("m1", "1+0+sent", eventId: Receipt(0) + ":sent") with { ExpectedVersion = 3 });
        await store.CommitAsync(New("m1", "1+0+failed", eventId: "cart-ann@example.com:failed") with { ExpectedVersion = 4 });
        await store.CommitAsync(New("b1", "bob+sent", eventId: "receipt-bob@example.com:sent") with { ExpectedVersion = 1 });
        foreach (var sent in await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10))
        {
            Assert.True(await store.CompleteOutboxAsync(sent.MessageKey, sent.Attempt)); // sent: only the remembered key is left
        }

        // An erasure against a version she has moved past forgets nothing and keeps no hash.
        Assert.False(await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "m1",
            ExpectedVersion = 1,
            MessageKeyTombstone = key => new Tombstone(HashOf(key), erasedAt, AllowsReturn: false),
        }));
        Assert.Empty(await store.FindTombstonesAsync([HashOf(Receipt(0)), HashOf("cart-ann@example.com")]));
        await store.CommitAsync(New("n0", "n0"));
        Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(New("n0", "n0+") with { ExpectedVersion = 1, Outbox = [Entry("cart-ann@example.com", "n0", T0)] })).Status);
        Assert.True(await store.IsEventProcessedAsync(Receipt(0) + ":sent"));

        Assert.True(await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "m1",
            MessageKeys = [Receipt(501)], // what her document still names (here one key)
            Tombstones = [new Tombstone(HashOf(Receipt(501)), T0, AllowsReturn: false)],
            MessageKeyTombstone = key => key.StartsWith("j:", StringComparison.Ordinal) ? null : new Tombstone(HashOf(key), erasedAt, AllowsReturn: false),
        }));

        // Every key of hers, of the profile merged into hers, and her hand-over key is accepted again (forgotten)...
        List<string> hers = [.. keys, Receipt(9) + "\u2192line", "cart-ann@example.com", "j:m1:welcome#1:w1:1"];
        await store.CommitAsync(New("n1", "n"));
        var again = await store.CommitAsync(New("n1", "n+") with { ExpectedVersion = 1, Outbox = [.. hers.Select(k => Entry(k, "n1", T0.AddDays(30)))] });
        Assert.True(again.Status == CommitStatus.Committed, $"after the erasure of m1, committing the keys accepted for m1 and for m0 (merged into m1) answered {again.Status}: every one of them must be forgotten, not only the ones MessageKeys names");

        // ...each but the journey key keeps its hash (the named one its own tombstone), so the engine still refuses it.
        var found = (await store.FindTombstonesAsync([.. hers.Select(HashOf)])).ToDictionary(t => t.Hash, StringComparer.Ordinal);
        Assert.True(found.Count == hers.Count - 1, $"after the erasure, {found.Count} of the {hers.Count - 1} keys' tombstones were found: each key the erasure forgets keeps the tombstone MessageKeyTombstone answers");
        Assert.False(found.ContainsKey(HashOf("j:m1:welcome#1:w1:1")));
        Assert.Equal(new Tombstone(HashOf(Receipt(501)), T0, false), found[HashOf(Receipt(501))]);
        Assert.Equal(new Tombstone(HashOf(Receipt(0)), erasedAt, false), found[HashOf(Receipt(0))]);
        Assert.Equal(new Tombstone(HashOf("cart-ann@example.com"), erasedAt, false), found[HashOf("cart-ann@example.com")]);

        // The processed ids of her messages' outcome events ({key}:sent|failed|cancelled) are forgotten with the keys.
        Assert.False(await store.IsEventProcessedAsync(Receipt(0) + ":sent"), "the outcome id of a key forgotten by the erasure is still processed");
        Assert.False(await store.IsEventProcessedAsync("cart-ann@example.com:failed"), "the outcome id of a key forgotten by the erasure is still processed");

        // Bob's key is still taken and has no tombstone; his outcome id is still processed, his pending message still there.
        Assert.True(await store.IsEventProcessedAsync("receipt-bob@example.com:sent"));
        await store.CommitAsync(New("n2", "n2"));
        Assert.Equal(CommitStatus.MessageKeyTaken, (await store.CommitAsync(New("n2", "n2+") with { ExpectedVersion = 1, Outbox = [Entry("receipt-bob@example.com", "n2", T0)] })).Status);
        Assert.Empty(await store.FindTombstonesAsync([HashOf("receipt-bob@example.com")]));
        var claimed = await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(1), 10);
        Assert.Equal(["receipt-bob@example.com b1"], claimed.Select(e => e.MessageKey + " " + e.ProfileId));
    });

    /// <summary>An erasure leaves its tombstones (found by hash, replaced by a later erasure) and removes the pending work.</summary>
    [Fact]
    public Task Erase_LeavesTombstones_AndRemovesWakeUpsMembershipsAndOutbox() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1", claims: [new(Identifier.Email("a@x.io"), null)]) with
        {
            WakeAt = T0.AddDays(1),
            Segments = ["vip"],
            Outbox = [Entry("m1", "p1", T0), Entry("m2", "p1", T0.AddDays(3))],
        });
        await store.CommitAsync(New("p2", "2") with { WakeAt = T0.AddDays(2), Outbox = [Entry("m3", "p2", T0)] });

        Assert.True(await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "p1",
            ExpectedVersion = 1,
            SuppressionHashes = ["h-email"],
            Tombstones = [new Tombstone("h-email", T0, AllowsReturn: false), new Tombstone("h-cookie", T0, AllowsReturn: true)],
        }));

        Assert.Equal(["p2"], (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10)).Select(w => w.ProfileId));
        Assert.Empty(await store.ListSegmentMembersAsync("vip", null, 10));
        Assert.Equal(["m3"], (await store.ClaimOutboxAsync(T0.AddDays(10), TimeSpan.FromMinutes(1), 10)).Select(e => e.MessageKey));
        var found = await store.FindTombstonesAsync(["h-email", "h-cookie", "h-other"]);
        Assert.Equal(
            [new Tombstone("h-cookie", T0, true), new Tombstone("h-email", T0, false)],
            found.OrderBy(t => t.Hash, StringComparer.Ordinal));
        Assert.Empty(await store.FindTombstonesAsync([]));

        // A second erasure of someone holding the same hash replaces the tombstone.
        await store.CommitAsync(New("p3", "3"));
        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p3", Tombstones = [new Tombstone("h-cookie", T0.AddDays(1), AllowsReturn: false)] }));
        Assert.Equal([new Tombstone("h-cookie", T0.AddDays(1), false)], await store.FindTombstonesAsync(["h-cookie"]));
    });

    /// <summary>An erasure against a version the profile has moved past writes nothing.</summary>
    [Fact]
    public Task Erase_WithStaleVersion_WritesNothing() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1", claims: [new(Identifier.Email("a@x.io"), null)]));
        await store.CommitAsync(New("p1", "1b") with { ExpectedVersion = 1 });

        Assert.False(await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "p1",
            ExpectedVersion = 1,
            SuppressionHashes = ["h"],
            Tombstones = [new Tombstone("h", T0, false)],
        }));

        Assert.NotNull(await store.LoadProfileAsync("p1"));
        Assert.Single(await store.ResolveIdentifiersAsync([Identifier.Email("a@x.io")]));
        Assert.False(await store.IsSuppressedAsync("h"));
        Assert.Empty(await store.FindTombstonesAsync(["h"]));
    });

    /// <summary>Lifting an erasure removes the hash's tombstone and its suppression entry, and only those.</summary>
    [Fact]
    public Task LiftErasure_RemovesTombstoneAndSuppression() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1"));
        await store.EraseProfileAsync(new ProfileErasure
        {
            ProfileId = "p1",
            SuppressionHashes = ["h1", "h2"],
            Tombstones = [new Tombstone("h1", T0, false), new Tombstone("h2", T0, false), new Tombstone("h3", T0, false)],
        });

        Assert.Equal(2, await store.LiftErasureAsync(["h1", "h-none"]));

        Assert.False(await store.IsSuppressedAsync("h1"));
        Assert.True(await store.IsSuppressedAsync("h2"));
        Assert.Equal(["h2", "h3"], (await store.FindTombstonesAsync(["h1", "h2", "h3"])).Select(t => t.Hash).Order(StringComparer.Ordinal));
        Assert.Equal(0, await store.LiftErasureAsync(["h1"]));
    });
}
