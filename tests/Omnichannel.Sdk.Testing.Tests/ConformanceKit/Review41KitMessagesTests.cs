using System.Collections.Concurrent;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Testing.Tests.ConformanceKit;

/// <summary>
/// Review of the forty-first session: a store author runs the kit from a NuGet package and sees the failure message,
/// not the kit's source line. The checks audit U57 added must say which call answered what and which rule it breaks
/// (before: "Assert.False() Failure: Expected False, Actual True" for a broken fence).
/// </summary>
public sealed class Review41KitMessagesTests
{
    [Fact]
    public async Task ABrokenRescheduleFence_IsNamed()
    {
        var failures = await KitRun.FailuresAsync(() =>
        {
            var s = new InMemoryOmnichannelStore();
            var attempts = new ConcurrentDictionary<string, int>();
            return new BrokenStore(s)
            {
                Claim = async (now, lease, limit) =>
                {
                    var claimed = await s.ClaimOutboxAsync(now, lease, limit);
                    foreach (var e in claimed)
                    {
                        attempts[e.MessageKey] = e.Attempt;
                    }

                    return claimed;
                },
                Reschedule = (key, attempt, dueAt) => s.RescheduleOutboxAsync(key, attempts.GetValueOrDefault(key, attempt), dueAt),
            };
        });

        Assert.Contains("RescheduleOutboxAsync(\"m1\", attempt 1) answered true after m1 was claimed again (attempt 2)", failures["Outbox_ClaimLeaseCompleteAndReschedule"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClaimByKey_SaysWhatItAnswered_AndTheRule()
    {
        var failures = await KitRun.FailuresAsync(() =>
        {
            var s = new InMemoryOmnichannelStore();
            return new BrokenStore(s)
            {
                Claim = async (now, lease, limit) =>
                {
                    var all = (await s.ClaimOutboxAsync(now, lease, int.MaxValue)).OrderBy(e => e.MessageKey, StringComparer.Ordinal).ToList();
                    foreach (var e in all.Skip(limit))
                    {
                        await s.RescheduleOutboxAsync(e.MessageKey, e.Attempt, e.DueAt);
                    }

                    return [.. all.Take(limit)];
                },
            };
        });

        Assert.StartsWith("ClaimOutboxAsync(T0 + 10 min, limit 2) answered [a, b], not [e, d]: a claim leases the due entries earliest due first", failures["Outbox_Claims_TakeAtMostTheLimit_EarliestDueFirst"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task DueWakeUpsIgnoringTheLimit_SayWhatTheyAnswered()
    {
        var failures = await KitRun.FailuresAsync(() =>
        {
            var s = new InMemoryOmnichannelStore();
            return new BrokenStore(s) { DueProfiles = (by, _) => s.GetDueProfilesAsync(by, int.MaxValue) };
        });

        Assert.StartsWith("GetDueProfilesAsync(T0 + 3 days, limit 2) answered [p2, p3, p1], not [p2, p3]", failures["WakeUps_AreSetMovedClearedAndListedInOrder"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACheckThenWriteCommit_IsToldToCommitAtomically()
    {
        var failures = await KitRun.FailuresAsync(() =>
        {
            var s = new InMemoryOmnichannelStore();
            return new BrokenStore(s)
            {
                Commit = async c =>
                {
                    if (((await s.LoadProfileAsync(c.ProfileId))?.Version ?? 0) != c.ExpectedVersion)
                    {
                        return new CommitResult(CommitStatus.Conflict, 0);
                    }

                    await Task.Yield(); // another writer commits here
                    return await s.CommitAsync(c with { ExpectedVersion = (await s.LoadProfileAsync(c.ProfileId))?.Version ?? 0 });
                },
            };
        });

        // The round the race first shows in is up to the scheduler (round 1 in about two runs of three), so not its number.
        Assert.Matches(@"round \d+: \d+ of 8 commits racing at ExpectedVersion \d+ won; exactly one must \(check the version and write in one atomic step\)", failures["Commit_RacingAtOneVersion_ExactlyOneWins"]);
    }
}
