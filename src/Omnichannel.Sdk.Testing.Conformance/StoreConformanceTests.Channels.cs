using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Testing.Conformance;

// Claims limited to channels: a worker for email and another for SMS on one database each take their own channel's
// messages, and an entry without a channel is anyone's.
public abstract partial class StoreConformanceTests
{
    /// <summary>
    /// A claim limited to channels takes only entries of those channels and entries without one, in due order, up to the
    /// limit; the others stay for a claimer that serves them, and the next-due answer for that claimer ignores them. Each
    /// entry's channel comes back as it was written. A store that keeps the interface's default overloads (which ignore the
    /// channels) fails here: implement <c>ClaimOutboxAsync</c> and <c>GetNextOutboxDueAsync</c> with channels.
    /// </summary>
    [Fact]
    public Task Outbox_ClaimLimitedToChannels_LeavesTheOthers() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with
        {
            Outbox =
            [
                Entry("m1", "p1", T0) with { Channel = "sms" },
                Entry("m2", "p1", T0.AddMinutes(1)) with { Channel = "email" },
                Entry("m3", "p1", T0.AddMinutes(2)),
                Entry("m4", "p1", T0.AddMinutes(3)) with { Channel = "email" },
                Entry("m5", "p1", T0.AddHours(1)) with { Channel = "sms" },
            ],
        });

        string[] email = ["email"];
        Assert.Equal(T0.AddMinutes(1), await store.GetNextOutboxDueAsync(email));
        Assert.Equal(T0, await store.GetNextOutboxDueAsync((IReadOnlyCollection<string>?)null));
        var first = await store.ClaimOutboxAsync(T0.AddMinutes(10), TimeSpan.FromMinutes(30), 2, email);
        Assert.True(
            first.Select(e => e.MessageKey).SequenceEqual(["m2", "m3"]),
            $"ClaimOutboxAsync(limit 2, channels [email]) took [{string.Join(", ", first.Select(e => e.MessageKey))}]: it takes the email entries and those without a channel, earliest due first (m2, m3), never the sms entry m1");
        Assert.Equal(["email", null], first.Select(e => e.Channel));
        var rest = await store.ClaimOutboxAsync(T0.AddMinutes(10), TimeSpan.FromMinutes(30), 10, email);
        Assert.Equal(["m4"], rest.Select(e => e.MessageKey));
        Assert.Equal(T0.AddMinutes(40), await store.GetNextOutboxDueAsync(email)); // the leases' end, not the sms entries

        var sms = await store.ClaimOutboxAsync(T0.AddMinutes(10), TimeSpan.FromMinutes(30), 10, ["sms", "push"]);
        var m1 = Assert.Single(sms);
        Assert.Equal(("m1", "sms", 1), (m1.MessageKey, m1.Channel, m1.Attempt));
        Assert.Equal(T0.AddHours(1), (await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(30), 10, ["sms"])).Single(e => e.MessageKey == "m5").DueAt);
    });

    /// <summary>
    /// Hashes added to the suppression list without an erasure (a hard-bounced address) are answered by
    /// <c>IsSuppressedAsync</c>, added once however often, and removed by <c>LiftErasureAsync</c>. A store that keeps the
    /// interface's default <c>SuppressAsync</c> (which adds nothing) fails here.
    /// </summary>
    [Fact]
    public Task Suppression_AddedWithoutAnErasure_IsAnsweredAndLifted() => With(async store =>
    {
        await store.SuppressAsync(["bounced-1", "bounced-1", "bounced-2"]);
        await store.SuppressAsync(["bounced-1"]);

        Assert.True(await store.IsSuppressedAsync("bounced-1"), "SuppressAsync([\"bounced-1\"]) then IsSuppressedAsync(\"bounced-1\") answered false");
        Assert.True(await store.IsSuppressedAsync("bounced-2"));
        Assert.False(await store.IsSuppressedAsync("bounced-3"));
        Assert.Equal(1, await store.LiftErasureAsync(["bounced-1"]));
        Assert.False(await store.IsSuppressedAsync("bounced-1"));
        Assert.True(await store.IsSuppressedAsync("bounced-2"));
    });

    /// <summary>A claim limited to channels that none of the due entries has takes nothing, and the next-due answer is null.</summary>
    [Fact]
    public Task Outbox_ClaimLimitedToOtherChannels_TakesNothing() => With(async store =>
    {
        await store.CommitAsync(New("p1", "1") with { Outbox = [Entry("m1", "p1", T0) with { Channel = "sms" }] });

        Assert.Empty(await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(5), 10, ["email"]));
        Assert.Null(await store.GetNextOutboxDueAsync(["email"]));
        Assert.Equal(1, Assert.Single(await store.ClaimOutboxAsync(T0.AddDays(1), TimeSpan.FromMinutes(5), 10, ["sms"])).Attempt);
    });

    /// <summary>
    /// Every shape of commit keeps its entries' channels: alone, with measurement deltas, with further event ids, with
    /// both, several entries mixing channels and none, and commits made at once (a store may group them). A commit refused
    /// (a conflict, a message key already accepted) writes no entry and changes no other entry's channel.
    /// </summary>
    [Fact]
    public Task Outbox_EveryCommitShape_KeepsItsEntriesChannels() => With(async store =>
    {
        var key = new Measurement.MeasurementKey("j", "s1", "", "sms", "", new DateOnly(2026, 1, 1), "queued");
        IReadOnlyList<string> further(string id) => store.CommitsFurtherEventIds ? [id] : [];
        await store.CommitAsync(New("p1", "1") with { Outbox = [Entry("m1", "p1", T0) with { Channel = "sms" }] });
        await store.CommitAsync(New("p2", "1") with { Measurements = [new(key, 1)], Outbox = [Entry("m2", "p2", T0) with { Channel = "sms" }] });
        await store.CommitAsync(New("p3", "1", eventId: "e3") with { FurtherEventIds = further("e3b"), Outbox = [Entry("m3", "p3", T0) with { Channel = "sms" }] });
        await store.CommitAsync(New("p4", "1", eventId: "e4") with
        {
            FurtherEventIds = further("e4b"),
            Measurements = [new(key, 1)],
            Outbox = [Entry("m4", "p4", T0) with { Channel = "sms" }, Entry("m4-any", "p4", T0), Entry("m4-mail", "p4", T0) with { Channel = "email" }],
        });

        // At once: fresh profiles, and commits refused (p1 exists: a conflict; m1 is taken), whose entries name sms.
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => (i % 3) switch
        {
            0 => store.CommitAsync(New($"q{i}", "1") with { Measurements = i % 2 == 0 ? [new(key, 1)] : [], Outbox = [Entry($"n{i}", $"q{i}", T0) with { Channel = "sms" }] }).AsTask(),
            1 => store.CommitAsync(New("p1", "2") with { Outbox = [Entry($"bad{i}", "p1", T0) with { Channel = "sms" }] }).AsTask(),
            _ => store.CommitAsync(New($"r{i}", "1") with { Outbox = [Entry("m4-mail", $"r{i}", T0) with { Channel = "sms" }] }).AsTask(),
        }));
        Assert.All(results.Where((_, i) => i % 3 != 0), r => Assert.NotEqual(CommitStatus.Committed, r.Status));

        var sms = await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(5), 100, ["sms"]);
        AssertKeys(["m1", "m2", "m3", "m4", "m4-any", "n0", "n3", "n6", "n9"], sms.Select(e => e.MessageKey).Order(StringComparer.Ordinal),
            "ClaimOutboxAsync(channels [sms])", "every commit shape keeps its entries' channels, and a refused commit writes none and moves none");
        Assert.All(sms, e => Assert.Equal(e.MessageKey == "m4-any" ? null : "sms", e.Channel));
        Assert.Equal("email", Assert.Single(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(5), 100, ["email"])).Channel);
    });
}
