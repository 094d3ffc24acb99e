using System.Collections.Concurrent;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Testing.Tests.ConformanceKit;

/// <summary>
/// Audit U57: the store conformance kit as a third-party store author uses it. Each broken store breaks one documented
/// rule over the in-memory store, and the kit must fail it by the test that names the rule; each variant differs from
/// the in-memory store only where the contract allows it, and the kit must pass it.
/// </summary>
public sealed class AuditU57ConformanceKitTests
{
    private static readonly Dictionary<string, (Func<IOmnichannelStore, BrokenStore> Make, string[] Rules)> Broken = new()
    {
        ["commit ignores the expected version"] = (s => new(s)
        {
            Commit = async c => await s.CommitAsync(c with { ExpectedVersion = (await s.LoadProfileAsync(c.ProfileId))?.Version ?? 0 }),
        }, ["Commit_WithStaleVersion_ConflictsAndWritesNothing", "Commit_NewProfileWhenIdExists_Conflicts"]),

        ["commit checks the version, then writes over whatever is there"] = (s => new(s)
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
        }, ["Commit_RacingAtOneVersion_ExactlyOneWins"]),

        ["a merge ignores the absorbed profile's version"] = (s => new(s)
        {
            Commit = async c => await s.CommitAsync(c with
            {
                Absorbed = [.. await Task.WhenAll(c.Absorbed.Select(async a => a with { ExpectedVersion = (await s.LoadProfileAsync(a.ProfileId))?.Version ?? a.ExpectedVersion }))],
            }),
        }, ["Commit_WithStaleAbsorbedVersion_Conflicts"]),

        ["an identifier claim takes it from whoever holds it"] = (s => new(s)
        {
            Commit = async c =>
            {
                var owners = await s.ResolveIdentifiersAsync([.. c.Claims.Select(x => x.Identifier)]);
                return await s.CommitAsync(c with { Claims = [.. c.Claims.Select(x => x with { ExpectedOwner = owners.GetValueOrDefault(x.Identifier) })] });
            },
        }, ["Commit_WhenClaimedIdentifierChangedOwner_ConflictsAtomically"]),

        ["a retried event is applied again"] = (s => new(s)
        {
            Commit = async c => await s.CommitAsync(c.EventId is { } id && await s.IsEventProcessedAsync(id) ? c with { EventId = null } : c),
        }, ["Commit_WithProcessedEventId_ReportsDuplicateAndWritesNothing"]),

        ["further event ids are declared but only the first is remembered"] = (s => new(s)
        {
            FurtherEventIds = true,
            Commit = c => s.CommitAsync(c with { FurtherEventIds = [] }),
        }, ["Commit_WithFurtherEventIds_RemembersEach_AndRefusesAnyProcessedOne"]),

        ["a taken outbox key is dropped and the rest committed"] = (s => new(s)
        {
            Commit = async c => await s.CommitAsync(c) is { Status: CommitStatus.MessageKeyTaken } ? await s.CommitAsync(c with { Outbox = [] }) : await s.CommitAsync(c),
        }, ["Outbox_AKeyIsEnqueuedOnlyOnce", "Outbox_AKeyAcceptedForOnePerson_RefusesTheCommitOfAnother"]),

        ["due wake-ups come latest first"] = (s => new(s)
        {
            DueProfiles = async (by, limit) => [.. (await s.GetDueProfilesAsync(by, limit)).Reverse()],
        }, ["WakeUps_AreSetMovedClearedAndListedInOrder"]),

        ["due wake-ups are picked by profile id, not by instant"] = (s => new(s)
        {
            DueProfiles = async (by, limit) => [.. (await s.GetDueProfilesAsync(by, int.MaxValue)).OrderBy(w => w.ProfileId, StringComparer.Ordinal).Take(limit)],
        }, ["WakeUps_AreSetMovedClearedAndListedInOrder"]),

        ["due wake-ups ignore the limit"] = (s => new(s)
        {
            DueProfiles = (by, _) => s.GetDueProfilesAsync(by, int.MaxValue),
        }, ["WakeUps_AreSetMovedClearedAndListedInOrder"]),

        ["a wake-up at the cut-off is not due"] = (s => new(s)
        {
            DueProfiles = (by, limit) => s.GetDueProfilesAsync(by == DateTimeOffset.MinValue ? by : by.AddTicks(-1), limit),
        }, ["WakeUps_AreDueAtTheirExactTick_WhateverTheOffset"]),

        ["a claim hands the previous claim's leased entries out again"] = (s =>
        {
            IReadOnlyList<OutboxEntry> last = [];
            return new(s)
            {
                Claim = async (now, lease, limit) =>
                {
                    var fresh = await s.ClaimOutboxAsync(now, lease, limit);
                    var answer = (IReadOnlyList<OutboxEntry>)[.. fresh, .. last];
                    last = fresh;
                    return answer;
                },
            };
        }, ["Outbox_ClaimLeaseCompleteAndReschedule", "Outbox_ConcurrentClaimers_NeverShareAnEntry"]),

        ["a claim ignores its limit"] = (s => new(s)
        {
            Claim = (now, lease, _) => s.ClaimOutboxAsync(now, lease, int.MaxValue),
        }, ["Outbox_Claims_TakeAtMostTheLimit_EarliestDueFirst"]),

        ["a claim picks due entries by key, not earliest due first"] = (s => new(s)
        {
            Claim = async (now, lease, limit) =>
            {
                // Leases every due entry, keeps the first keys, and frees the others at their due time again.
                var all = (await s.ClaimOutboxAsync(now, lease, int.MaxValue)).OrderBy(e => e.MessageKey, StringComparer.Ordinal).ToList();
                foreach (var e in all.Skip(limit))
                {
                    await s.RescheduleOutboxAsync(e.MessageKey, e.Attempt, e.DueAt);
                }

                return [.. all.Take(limit)];
            },
        }, ["Outbox_Claims_TakeAtMostTheLimit_EarliestDueFirst"]),

        ["a claim answers at most two entries"] = (s => new(s)
        {
            Claim = (now, lease, limit) => s.ClaimOutboxAsync(now, lease, Math.Min(limit, 2)),
        }, ["Outbox_Claims_TakeAtMostTheLimit_EarliestDueFirst"]),

        ["due wake-ups answer at most two"] = (s => new(s)
        {
            DueProfiles = (by, limit) => s.GetDueProfilesAsync(by, Math.Min(limit, 2)),
        }, ["WakeUps_AreSetMovedClearedAndListedInOrder"]),

        ["a claim reads the server's clock, not the time it is given"] = (s => new(s)
        {
            Claim = (_, lease, limit) => s.ClaimOutboxAsync(ServerNow, lease, limit),
        }, ["Outbox_ClaimLeaseCompleteAndReschedule"]),

        ["an event's processing time is the server's clock"] = (s => new(s)
        {
            Commit = c => s.CommitAsync(c with { ProcessedAt = ServerNow }),
        }, ["PurgeProcessedEvents_ForgetsOnlyOlderIds"]),

        ["rescheduling ignores the attempt fence"] = (s => IgnoringTheFence(s, (attempts, claim) => new(s)
        {
            Claim = claim,
            Reschedule = (key, attempt, dueAt) => s.RescheduleOutboxAsync(key, attempts.GetValueOrDefault(key, attempt), dueAt),
        }), ["Outbox_ClaimLeaseCompleteAndReschedule"]),

        ["completing ignores the attempt fence"] = (s => IgnoringTheFence(s, (attempts, claim) => new(s)
        {
            Claim = claim,
            Complete = (key, attempt) => s.CompleteOutboxAsync(key, attempts.GetValueOrDefault(key, attempt)),
        }), ["Outbox_ClaimLeaseCompleteAndReschedule"]),

        ["an erased profile's document stays readable"] = (s =>
        {
            var erased = new ConcurrentDictionary<string, StoredProfile>();
            return new(s)
            {
                Erase = async e =>
                {
                    var before = await s.LoadProfileAsync(e.ProfileId);
                    var done = await s.EraseProfileAsync(e);
                    if (done && before is not null)
                    {
                        erased[e.ProfileId] = before;
                    }

                    return done;
                },
                Load = async id => await s.LoadProfileAsync(id) ?? erased.GetValueOrDefault(id),
            };
        }, ["Erase_DeletesProfileIdentifiersAndAliases_AndSuppresses"]),

        ["an erased profile's identifiers stay resolvable"] = (s =>
        {
            var owners = new ConcurrentDictionary<Identifier, string>();
            var leaked = new ConcurrentDictionary<Identifier, string>();
            return new(s)
            {
                Commit = async c =>
                {
                    var r = await s.CommitAsync(c);
                    foreach (var claim in r.Status == CommitStatus.Committed ? c.Claims : [])
                    {
                        owners[claim.Identifier] = c.ProfileId;
                    }

                    return r;
                },
                Erase = async e =>
                {
                    var done = await s.EraseProfileAsync(e);
                    foreach (var (identifier, owner) in done ? owners : [])
                    {
                        if (owner == e.ProfileId)
                        {
                            leaked[identifier] = owner;
                        }
                    }

                    return done;
                },
                Resolve = async ids =>
                {
                    var found = new Dictionary<Identifier, string>(await s.ResolveIdentifiersAsync(ids));
                    foreach (var id in ids)
                    {
                        if (!found.ContainsKey(id) && leaked.TryGetValue(id, out var owner))
                        {
                            found[id] = owner;
                        }
                    }

                    return found;
                },
            };
        }, ["Erase_DeletesProfileIdentifiersAndAliases_AndSuppresses"]),

        ["an erasure ignores the expected version"] = (s => new(s)
        {
            Erase = e => s.EraseProfileAsync(e with { ExpectedVersion = null }),
        }, ["Erase_WithStaleVersion_WritesNothing"]),

        ["a later erasure's tombstone does not replace the first"] = (s =>
        {
            var first = new ConcurrentDictionary<string, Tombstone>();
            return new(s)
            {
                Erase = async e =>
                {
                    var done = await s.EraseProfileAsync(e);
                    foreach (var t in done ? e.Tombstones : [])
                    {
                        first.TryAdd(t.Hash, t);
                    }

                    return done;
                },
                Tombstones = async hashes => [.. (await s.FindTombstonesAsync(hashes)).Select(t => first.GetValueOrDefault(t.Hash, t))],
            };
        }, ["Erase_LeavesTombstones_AndRemovesWakeUpsMembershipsAndOutbox"]),

        ["purging forgets an id processed at the cut-off"] = (s => new(s)
        {
            Purge = before => s.PurgeProcessedEventsAsync(before.AddTicks(1)),
        }, ["PurgeProcessedEvents_CutsAtTheExactTick"]),

        ["instants are kept to the second"] = (s => Cut(s, TimeSpan.TicksPerSecond), ["WakeUps_AreDueAtTheirExactTick_WhateverTheOffset", "Outbox_IsDueAndLeasedToTheExactTick_WhateverTheOffset", "PurgeProcessedEvents_CutsAtTheExactTick", "Tombstones_KeepTheirErasureInstantToTheTick"]),

        // What a timestamptz column keeps: the contract asks for 100-ns ticks (the engine compares instants to the tick).
        ["instants are kept to the microsecond"] = (s => Cut(s, 10), ["WakeUps_AreDueAtTheirExactTick_WhateverTheOffset", "Outbox_IsDueAndLeasedToTheExactTick_WhateverTheOffset", "PurgeProcessedEvents_CutsAtTheExactTick", "Tombstones_KeepTheirErasureInstantToTheTick"]),

        ["profile ids are listed in UTF-16 order"] = (s => new(s)
        {
            ListIds = async (after, limit) => [.. (await s.ListProfileIdsAsync(after, limit)).Order(StringComparer.Ordinal)],
        }, ["Ids_AboveTheBasicPlane_AreListedAfterPrivateUseAndCompatibilityCharacters_OnEveryStore"]),
    };

    // The clock a store's server reads, a year after the kit's instants (a constant: the tests read no machine clock).
    private static readonly DateTimeOffset ServerNow = new(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly Dictionary<string, Func<IOmnichannelStore, BrokenStore>> Allowed = new()
    {
        ["instants come back in other offsets"] = s => new(s)
        {
            DueProfiles = async (by, limit) => [.. (await s.GetDueProfilesAsync(by, limit)).Select(w => w with { WakeAt = Shift(w.WakeAt, 14) })],
            Claim = async (now, lease, limit) => [.. (await s.ClaimOutboxAsync(now, lease, limit)).Select(e => e with { DueAt = Shift(e.DueAt, -12) })],
            Tombstones = async hashes => [.. (await s.FindTombstonesAsync(hashes)).Select(t => t with { ErasedAt = Shift(t.ErasedAt, 5) })],
            NextOutboxDue = async () => await s.GetNextOutboxDueAsync() is { } d ? Shift(d, -3) : null,
        },
        ["tombstones are found in another order"] = s => new(s)
        {
            Tombstones = async hashes => [.. (await s.FindTombstonesAsync(hashes)).Reverse()],
        },
        ["a refused commit reports another version"] = s => new(s)
        {
            Commit = async c => await s.CommitAsync(c) is var r && r.Status != CommitStatus.Committed ? r with { Version = 42 } : r,
        },
        ["every call completes asynchronously"] = s => new(s)
        {
            Commit = async c =>
            {
                await Task.Yield();
                return await s.CommitAsync(c);
            },
            Claim = async (now, lease, limit) =>
            {
                await Task.Yield();
                return await s.ClaimOutboxAsync(now, lease, limit);
            },
            Load = async id =>
            {
                await Task.Yield();
                return await s.LoadProfileAsync(id);
            },
        },
        ["further event ids are not taken (the default)"] = s => new(s) { FurtherEventIds = false },

        // The interface's default AdvanceOutboxAsync: nothing is brought forward; the message leaves at its old due time.
        ["advancing an outbox entry is not supported (the default)"] = s => new(s) { Advance = (_, _) => ValueTask.FromResult(false) },
    };

    public static TheoryData<string> BrokenStores => [.. Broken.Keys];

    public static TheoryData<string> AllowedVariants => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(BrokenStores))]
    public async Task TheKit_FailsABrokenStore_ByTheRuleItBreaks(string mutant)
    {
        var (make, rules) = Broken[mutant];
        var failures = await KitRun.FailuresAsync(() => make(new InMemoryOmnichannelStore()));
        foreach (var rule in rules)
        {
            Assert.True(failures.ContainsKey(rule), $"'{mutant}' passed {rule}; the kit failed it by: {string.Join(", ", failures.Keys)}");
        }
    }

    [Theory]
    [MemberData(nameof(AllowedVariants))]
    public async Task TheKit_PassesAStoreThatDiffersOnlyWhereTheContractAllows(string variant)
    {
        var failures = await KitRun.FailuresAsync(() => Allowed[variant](new InMemoryOmnichannelStore()));
        Assert.True(failures.Count == 0, $"'{variant}' failed: {string.Join("; ", failures.Select(f => f.Key + ": " + f.Value))}");
    }

    [Fact]
    public async Task TheKit_PassesTheInMemoryStore_ThroughTheDecorator()
    {
        Assert.NotEmpty(KitRun.Facts);
        Assert.Empty(await KitRun.FailuresAsync(() => new BrokenStore(new InMemoryOmnichannelStore())));
    }

    // The same instant in another offset, where its local time is representable.
    private static DateTimeOffset Shift(DateTimeOffset d, int hours)
    {
        var local = d.UtcTicks + (hours * TimeSpan.TicksPerHour);
        return local >= DateTimeOffset.MinValue.UtcTicks && local <= DateTimeOffset.MaxValue.UtcTicks ? d.ToOffset(TimeSpan.FromHours(hours)) : d;
    }

    // Writes every instant cut to a multiple of `ticks` (a column that keeps less than 100-ns ticks).
    // A store that remembers each claimed entry's latest attempt and answers later calls with it, whatever attempt they name.
    private static BrokenStore IgnoringTheFence(
        IOmnichannelStore s,
        Func<ConcurrentDictionary<string, int>, Func<DateTimeOffset, TimeSpan, int, ValueTask<IReadOnlyList<OutboxEntry>>>, BrokenStore> make)
    {
        var attempts = new ConcurrentDictionary<string, int>();
        return make(attempts, async (now, lease, limit) =>
        {
            var claimed = await s.ClaimOutboxAsync(now, lease, limit);
            foreach (var e in claimed)
            {
                attempts[e.MessageKey] = e.Attempt;
            }

            return claimed;
        });
    }

    private static BrokenStore Cut(IOmnichannelStore s, long ticks)
    {
        DateTimeOffset C(DateTimeOffset d) => new(d.UtcTicks - (d.UtcTicks % ticks), TimeSpan.Zero);
        return new(s)
        {
            Commit = c => s.CommitAsync(c with
            {
                ProcessedAt = C(c.ProcessedAt),
                WakeAt = c.WakeAt is { } w ? C(w) : null,
                Outbox = [.. c.Outbox.Select(e => e with { DueAt = C(e.DueAt) })],
            }),
            Erase = e => s.EraseProfileAsync(e with { Tombstones = [.. e.Tombstones.Select(t => t with { ErasedAt = C(t.ErasedAt) })] }),
            Purge = before => s.PurgeProcessedEventsAsync(C(before)),
            DueProfiles = (by, limit) => s.GetDueProfilesAsync(C(by), limit),
        };
    }
}
