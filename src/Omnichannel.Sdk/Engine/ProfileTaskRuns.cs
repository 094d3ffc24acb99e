using System.Diagnostics;
using System.Threading.Channels;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// Runs of profile work: the sends, delivery outcomes and wake-ups queued for one profile in a partition are applied in
// order and committed once, as runs of events are (one document written, one transaction, every event id remembered).
// A campaign or a dispatch round queues several messages per customer at once; each used to write her whole profile.
// Like a run of events, a run of profile work is only a shortcut: a conflict, a failure or a resent outcome leaves the
// work to be done one piece at a time, with nothing written.
public sealed partial class OmnichannelEngine
{
    /// <summary>The most pieces of profile work one collection takes from a partition's queue.</summary>
    private const int MaxProfileTasks = 256;

    private async ValueTask ProcessProfileTasksAsync(List<ProfileTask> tasks, HotProfiles hot)
    {
        List<List<ProfileTask>> runs;
        try
        {
            runs = await ProfileTaskRuns.GroupAsync(tasks, _store).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            runs = [.. tasks.Select(t => new List<ProfileTask> { t })]; // no grouping without knowing who is who: in queue order
        }

        foreach (var run in runs)
        {
            if (run.Count == 1)
            {
                await RunProfileTaskTracedAsync(run[0], hot).ConfigureAwait(false);
                continue;
            }

            var done = 0;
            using (var span = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.ProfileWork, ActivityKind.Internal, run[0].Parent))
            {
                span?.SetTag("omnichannel.changes", run.Count);
                try
                {
                    done = await CommitProfileTasksAsync(run, hot).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    done = 0; // nothing was answered or written: the work goes one piece at a time below
                }
            }

            for (var i = done; i < run.Count; i++)
            {
                await RunProfileTaskTracedAsync(run[i], hot).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Applies every piece of <paramref name="run"/> (work on one profile) and commits once; returns how many it finished (all, or 0 with nothing written).</summary>
    private async ValueTask<int> CommitProfileTasksAsync(List<ProfileTask> run, HotProfiles hot)
    {
        // A read in the run sees what it would see one piece at a time: the writes before it, and the stored version
        // (checked at load when it asks for it, and by the commit when the run writes).
        var checkStored = run.Exists(t => t.Change.Fresh);
        var subject = await run[0].Change.LoadAsync(this, hot, checkStored).ConfigureAwait(false);
        if (subject.Finished is not null || subject.Profile is not { } p)
        {
            return 0; // gone or merged away: the usual path says what to answer
        }

        var effects = new List<ChangeEffect>(run.Count);
        List<string>? eventIds = null;
        DocumentOut document;
        List<Identifier>? lifts = null;
        DateTimeOffset now = default;
        try
        {
            foreach (var task in run)
            {
                now = _time.GetUtcNow();
                var effect = await task.Change.ApplyAsync(this, subject, now).ConfigureAwait(false);
                if (effect.Claims.Count > 0 || effect.Absorbed.Count > 0)
                {
                    Evict(hot, p.Id, subject.Involved);
                    return 0; // profile work never claims or merges; if it did, one at a time would commit it right
                }

                if (effect.EventId is { } id)
                {
                    if ((eventIds ??= []).Contains(id))
                    {
                        Evict(hot, p.Id, subject.Involved);
                        return 0; // the same outcome twice: one at a time answers the second as a duplicate
                    }

                    eventIds.Add(id);
                }

                effects.Add(effect);
            }

            if (effects.TrueForAll(e => e.ReadOnly))
            {
                if (!checkStored && await StoredIsNewerAsync(p, hot).ConfigureAwait(false))
                {
                    return 0; // decided on an old copy, with no commit to say so: one at a time, on the stored version
                }

                foreach (var (task, effect) in run.Zip(effects))
                {
                    task.Completion.TrySetResult(new UnitResult(UnitStatus.Finished, p.Id, effect)); // reads only: nothing to commit
                }

                return run.Count;
            }

            if (await ListsFromOlderCopyAsync(p, hot).ConfigureAwait(false))
            {
                Evict(hot, p.Id, subject.Involved);
                return 0; // review of U87: one at a time, on the stored version, works out what goes on the store's list
            }

            lifts = await SyncSuppressionListAsync(p).ConfigureAwait(false);

            document = WriteDocument(p);
        }
        catch
        {
            Evict(hot, p.Id, subject.Involved);
            throw;
        }

        var commit = CommitOf(p, document, now, eventIds?[0], OutboxOf(effects, static e => e), eventIds is { Count: > 1 } ? [.. eventIds.Skip(1)] : null);
        CommitResult result;
        try
        {
            result = await _store.CommitAsync(commit).ConfigureAwait(false);
        }
        catch
        {
            Evict(hot, p.Id, subject.Involved);
            throw;
        }

        if (result.Status != CommitStatus.Committed)
        {
            Evict(hot, p.Id, subject.Involved);
            return 0; // a conflict or an outcome already recorded: one at a time, from the store
        }

        p.Version = result.Version;
        hot.Put(p, document.Length);
        await LiftAfterCommitAsync(lifts).ConfigureAwait(false); // audit U86: only once the commit is durable
        for (var i = 0; i < run.Count; i++)
        {
            try
            {
                AfterCommit(run[i].Change, p, effects[i], commit.WakeAt);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogProfileTaskFailed(_logger, Privacy.ScrubbedException.Of(ex), p.Id); // committed: the work must not run again
            }

            run[i].Completion.TrySetResult(new UnitResult(effects[i].ReadOnly ? UnitStatus.Finished : UnitStatus.Committed, p.Id, effects[i]));
        }

        return run.Count;
    }

    private static class ProfileTaskRuns
    {
        /// <summary>Takes the profile work queued behind <paramref name="first"/>, up to the next event, in queue order.</summary>
        public static List<ProfileTask> Collect(ChannelReader<WorkItem> reader, ProfileTask first)
        {
            var tasks = new List<ProfileTask> { first };
            while (tasks.Count < MaxProfileTasks && reader.TryPeek(out var next) && next is ProfileTask following && reader.TryRead(out _))
            {
                tasks.Add(following);
            }

            return tasks;
        }

        /// <summary>
        /// Groups <paramref name="tasks"/> by the profile they are about, each group in queue order. A group runs where its
        /// first piece stood: work on other profiles may run later than it would have, never out of order with work on
        /// the same profile. The same profile may be addressed by two ids (one merged into the other, as an unsubscribe
        /// link of an email sent before the merge is): when the work names more than one id, each is resolved (once, and
        /// the answer is handed to the work's first load, so nothing is read twice) and the groups are by live profile.
        /// </summary>
        public static async ValueTask<List<List<ProfileTask>>> GroupAsync(List<ProfileTask> tasks, IOmnichannelStore store)
        {
            var named = new Dictionary<string, string>(tasks.Count, StringComparer.Ordinal); // sized once: a run of sends names hundreds
            foreach (var t in tasks)
            {
                named.TryAdd(t.Change.ProfileId, t.Change.ProfileId);
            }

            if (named.Count > 1)
            {
                var ids = named.Keys.ToList();
                var reads = ids.Select(id => store.ResolveProfileIdAsync(id).AsTask()).ToList(); // together: a store may batch them
                await Task.WhenAll(reads).ConfigureAwait(false);
                var found = new HashSet<string>(ids.Count, StringComparer.Ordinal);
                for (var i = 0; i < ids.Count; i++)
                {
                    if (reads[i].Result is { } live)
                    {
                        named[ids[i]] = live;
                        found.Add(ids[i]);
                    }
                }

                foreach (var t in tasks)
                {
                    // Gone (erased): no hint, so that the work's own read says so, as it would alone.
                    t.Change.Resolved = found.Contains(t.Change.ProfileId) ? named[t.Change.ProfileId] : null;
                }
            }

            var runs = new List<List<ProfileTask>>(named.Count);
            var open = new Dictionary<string, List<ProfileTask>>(named.Count, StringComparer.Ordinal);
            foreach (var t in tasks)
            {
                var key = named[t.Change.ProfileId];
                if (open.TryGetValue(key, out var run))
                {
                    run.Add(t);
                }
                else
                {
                    open[key] = run = [t];
                    runs.Add(run);
                }
            }

            return runs;
        }
    }
}
