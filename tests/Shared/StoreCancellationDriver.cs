using System.Text;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.StoreCancellation;

/// <summary>
/// Audit U30: every <see cref="IOmnichannelStore"/> method called with a token already cancelled must throw
/// <see cref="OperationCanceledException"/> and change nothing (the rule of audit U29), including the calls whose
/// arguments let a store answer without a look at the database (text it cannot hold, an empty list). A seeded store,
/// a snapshot of everything the interface can read, the call, the snapshot again.
/// </summary>
internal static class StoreCancellationDriver
{
    public static readonly DateTimeOffset Now = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly MeasurementKey Key = new("j", "s", "", "email", "t", new DateOnly(2026, 5, 1), "journey.sent");

    /// <summary>Case name → the call with the given token.</summary>
    public static readonly IReadOnlyDictionary<string, Func<IOmnichannelStore, CancellationToken, Task>> Calls = new Dictionary<string, Func<IOmnichannelStore, CancellationToken, Task>>
    {
        ["LoadProfile"] = (s, t) => s.LoadProfileAsync("p1", t).AsTask(),
        ["LoadProfile (id it cannot hold)"] = (s, t) => s.LoadProfileAsync("p\0", t).AsTask(),
        ["ResolveProfileId"] = (s, t) => s.ResolveProfileIdAsync("p1", t).AsTask(),
        ["ResolveProfileId (id it cannot hold)"] = (s, t) => s.ResolveProfileIdAsync("p\0", t).AsTask(),
        ["ResolveIdentifiers"] = (s, t) => s.ResolveIdentifiersAsync([Identifier.Email("a@example.com")], t).AsTask(),
        ["ResolveIdentifiers (none)"] = (s, t) => s.ResolveIdentifiersAsync([], t).AsTask(),
        ["IsEventProcessed"] = (s, t) => s.IsEventProcessedAsync("e1", t).AsTask(),
        ["IsEventProcessed (id it cannot hold)"] = (s, t) => s.IsEventProcessedAsync("e\0", t).AsTask(),
        ["Commit"] = (s, t) => s.CommitAsync(NewProfile("p3", "e3"), t).AsTask(),
        ["Commit (absorbs itself)"] = (s, t) => s.CommitAsync(NewProfile("p3", "e3") with { Absorbed = [new AbsorbedProfile("p3", 0)] }, t).AsTask(),
        ["EraseProfile"] = (s, t) => s.EraseProfileAsync(new ProfileErasure { ProfileId = "p1", SuppressionHashes = ["h9"], Tombstones = [new Tombstone("h9", Now, false)] }, t).AsTask(),
        ["EraseProfile (id it cannot hold)"] = (s, t) => s.EraseProfileAsync(new ProfileErasure { ProfileId = "p\0" }, t).AsTask(),
        ["IsSuppressed"] = (s, t) => s.IsSuppressedAsync("h2", t).AsTask(),
        ["IsSuppressed (hash it cannot hold)"] = (s, t) => s.IsSuppressedAsync("h\0", t).AsTask(),
        ["FindTombstones"] = (s, t) => s.FindTombstonesAsync(["h2"], t).AsTask(),
        ["FindTombstones (none)"] = (s, t) => s.FindTombstonesAsync([], t).AsTask(),
        ["LiftErasure"] = (s, t) => s.LiftErasureAsync(["h2"], t).AsTask(),
        ["LiftErasure (none)"] = (s, t) => s.LiftErasureAsync([], t).AsTask(),
        ["PurgeProcessedEvents"] = (s, t) => s.PurgeProcessedEventsAsync(DateTimeOffset.MaxValue, t).AsTask(),
        ["ListProfileIds"] = (s, t) => s.ListProfileIdsAsync(null, 10, t).AsTask(),
        ["ListProfileIds (cursor it cannot hold)"] = (s, t) => s.ListProfileIdsAsync("\uFFFF\uFFFF\uD800", 10, t).AsTask(),
        ["GetDueProfiles"] = (s, t) => s.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10, t).AsTask(),
        ["ListSegmentMembers"] = (s, t) => s.ListSegmentMembersAsync("seg", null, 10, t).AsTask(),
        ["ListSegmentMembers (segment it cannot hold)"] = (s, t) => s.ListSegmentMembersAsync("s\0", null, 10, t).AsTask(),
        ["ClaimOutbox"] = (s, t) => s.ClaimOutboxAsync(Now, TimeSpan.FromMinutes(5), 10, t).AsTask(),
        ["ClaimOutbox (nothing due)"] = (s, t) => s.ClaimOutboxAsync(Now.AddYears(-10), TimeSpan.FromMinutes(5), 10, t).AsTask(),
        ["CompleteOutbox"] = (s, t) => s.CompleteOutboxAsync("m1", 1, t).AsTask(),
        ["CompleteOutbox (key it cannot hold)"] = (s, t) => s.CompleteOutboxAsync("m\0", 1, t).AsTask(),
        ["RescheduleOutbox"] = (s, t) => s.RescheduleOutboxAsync("m1", 1, Now.AddDays(1), t).AsTask(),
        ["RescheduleOutbox (key it cannot hold)"] = (s, t) => s.RescheduleOutboxAsync("m\0", 1, Now.AddDays(1), t).AsTask(),
        ["GetNextOutboxDue"] = (s, t) => s.GetNextOutboxDueAsync(t).AsTask(),
        ["GetMeasurements"] = (s, t) => s.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j" }, t).AsTask(),
        ["GetMeasurements (journey it cannot hold)"] = (s, t) => s.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j\0" }, t).AsTask(),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Calls.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    /// <summary>
    /// p1 (an identifier, a wake-up, a segment, a measurement, outbox m1 claimed once and m2 due), p2 erased (h2
    /// suppressed and tombstoned).
    /// </summary>
    public static async Task SeedAsync(IOmnichannelStore store)
    {
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(NewProfile("p1", "e1") with
        {
            Claims = [new IdentifierClaim(Identifier.Email("a@example.com"), null)],
            WakeAt = Now.AddHours(1),
            Segments = ["seg"],
            Outbox =
            [
                new OutboxEntry { MessageKey = "m1", ProfileId = "p1", DueAt = Now.AddMinutes(-2), Payload = [1] },
                new OutboxEntry { MessageKey = "m2", ProfileId = "p1", DueAt = Now.AddMinutes(-1), Payload = [2] },
            ],
            Measurements = [new MeasurementDelta(Key, 1, 2.5)],
        })).Status);
        Assert.Equal("m1", Assert.Single(await store.ClaimOutboxAsync(Now, TimeSpan.FromMinutes(1), 1)).MessageKey);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(NewProfile("p2", "e2"))).Status);
        Assert.True(await store.EraseProfileAsync(new ProfileErasure { ProfileId = "p2", SuppressionHashes = ["h2"], Tombstones = [new Tombstone("h2", Now, false)] }));
    }

    /// <summary>Everything the interface can read without changing anything, as text.</summary>
    public static async Task<string> SnapshotAsync(IOmnichannelStore store)
    {
        var s = new StringBuilder();
        foreach (var id in new[] { "p1", "p2", "p3" })
        {
            s.Append(id).Append('=').Append((await store.LoadProfileAsync(id))?.Version).Append(';');
        }

        foreach (var (k, v) in (await store.ResolveIdentifiersAsync([Identifier.Email("a@example.com")])).OrderBy(p => p.Value, StringComparer.Ordinal))
        {
            s.Append(k.Value).Append("->").Append(v).Append(';');
        }

        foreach (var e in new[] { "e1", "e2", "e3" })
        {
            s.Append(e).Append(await store.IsEventProcessedAsync(e)).Append(';');
        }

        s.Append("ids ").AppendJoin(',', await store.ListProfileIdsAsync(null, 10)).Append(';');
        s.Append("due ").AppendJoin(',', (await store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10)).Select(w => w.ProfileId + "@" + w.WakeAt.UtcTicks)).Append(';');
        s.Append("seg ").AppendJoin(',', await store.ListSegmentMembersAsync("seg", null, 10)).Append(';');
        foreach (var h in new[] { "h2", "h9" })
        {
            s.Append(h).Append(await store.IsSuppressedAsync(h)).Append(';');
        }

        s.Append("tomb ").AppendJoin(',', (await store.FindTombstonesAsync(["h2", "h9"])).Select(t => t.Hash).Order(StringComparer.Ordinal)).Append(';');
        s.Append("next ").Append((await store.GetNextOutboxDueAsync())?.UtcTicks).Append(';');
        s.Append("m ").AppendJoin(',', (await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j" })).Select(r => r.Count + "/" + r.Sum)).Append(';');
        return s.ToString();
    }

    /// <summary>The case with a cancelled token: throws, changes nothing; then the store still reads and writes.</summary>
    public static async Task PreCancelledChangesNothingAsync(IOmnichannelStore store, string name)
    {
        await SeedAsync(store);
        var before = await SnapshotAsync(store);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var ex = await Record.ExceptionAsync(() => Calls[name](store, cancelled.Token));

        Assert.True(ex is OperationCanceledException, $"{name}: expected OperationCanceledException, got {(ex is null ? "an answer" : ex.GetType().Name + ": " + ex.Message)}");
        Assert.Equal(before, await SnapshotAsync(store));

        // Still usable: the same call without a token runs, and a commit goes through.
        await Calls[name](store, CancellationToken.None);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(NewProfile("p4", "e4"))).Status);
        Assert.Equal(1, (await store.LoadProfileAsync("p4"))?.Version);
    }

    public static ProfileCommit NewProfile(string id, string? eventId) => new()
    {
        ProfileId = id,
        ExpectedVersion = 0,
        Document = Encoding.UTF8.GetBytes("{\"id\":\"" + id + "\"}"),
        EventId = eventId,
        ProcessedAt = Now,
    };
}
