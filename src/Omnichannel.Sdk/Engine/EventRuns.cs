using System.Diagnostics;
using System.Threading.Channels;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// Runs: consecutive events of one profile in a partition's queue, applied in order and committed once (one document
// written, one transaction) when the store remembers several event ids per commit. A run is only a shortcut: whatever
// it cannot do exactly as one-at-a-time processing would (a merge, a new identifier, a conflict, a failure), it leaves
// to the events processed one at a time, with nothing written.
public sealed partial class OmnichannelEngine
{
    /// <summary>The most events one commit applies.</summary>
    private const int MaxRun = 64;

    private async ValueTask ProcessRunAsync(List<EventItem> run, HotProfiles hot)
    {
        var done = 0;
        using (var span = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.ProcessEvent, ActivityKind.Internal, run[0].Parent))
        {
            span?.SetTag("omnichannel.events", run.Count);
            try
            {
                done = await CommitRunAsync(run, hot, span).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                hot.Clear(); // nothing was acknowledged: the events go one at a time below
                done = 0;
            }
        }

        for (var i = done; i < run.Count; i++)
        {
            await ProcessItemAsync(run[i], hot).ConfigureAwait(false);
        }
    }

    /// <summary>Applies a prefix of <paramref name="run"/> to one profile and commits it once; returns how many events it finished (0: none, nothing written).</summary>
    private async ValueTask<int> CommitRunAsync(List<EventItem> run, HotProfiles hot, Activity? span)
    {
        var started = Stopwatch.GetTimestamp();
        var first = new EventChange(run[0].Event);
        var subject = await first.LoadAsync(this, hot).ConfigureAwait(false);
        if (subject.Finished is not null || subject.Profile is not { } p || subject.Involved.Count > 1)
        {
            return 0; // a duplicate, a refusal, a merge or a profile gone: the usual path says what to answer
        }

        var applied = new List<(EventItem Item, EventChange Change, ChangeEffect Effect)>(run.Count);
        List<EventItem>? duplicates = null; // sent twice in one run: rare
        DocumentOut document;
        List<Identifier>? lifts = null;
        DateTimeOffset now;
        try
        {
            now = _time.GetUtcNow();
            applied.Add((run[0], first, await first.ApplyAsync(this, subject, now).ConfigureAwait(false)));
            for (var k = 1; k < run.Count; k++)
            {
                var item = run[k];
                var v = item.Event;
                if (!item.Gate.TryStart() || EventChange.KnownProfile(this, v, p) is not { } known)
                {
                    break; // the rest goes one at a time, after this commit
                }

                // Sent twice in the run: the second is a duplicate. An id processed before is not read here: the commit
                // refuses the run for it, and the events go one at a time (resends are rare; a read per event is not).
                if (AppliedBefore(applied, v.Event.Id))
                {
                    (duplicates ??= []).Add(item);
                    continue;
                }

                var change = new EventChange(v);
                now = _time.GetUtcNow();
                applied.Add((item, change, await change.ApplyAsync(this, known, now).ConfigureAwait(false)));
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

        var further = new string[applied.Count - 1];
        for (var k = 1; k < applied.Count; k++)
        {
            further[k - 1] = applied[k].Effect.EventId!;
        }

        var commit = CommitOf(p, document, now, applied[0].Effect.EventId, OutboxOf(applied), further, applied[0].Effect.Claims, applied[0].Effect.Absorbed);
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
            return 0; // a conflict or a duplicate: one at a time, each with its own retries and answer
        }

        p.Version = result.Version;
        hot.Put(p, document.Length);
        foreach (var a in applied[0].Effect.Absorbed)
        {
            hot.Remove(a.ProfileId);
        }

        await LiftAfterCommitAsync(lifts).ConfigureAwait(false); // audit U86: only once the commit is durable

        var each = Stopwatch.GetElapsedTime(started).TotalSeconds / (applied.Count + (duplicates?.Count ?? 0));
        span?.Stop(); // before the callers hear their answers: a caller that looks at its trace then finds the span ended
        foreach (var (item, change, effect) in applied)
        {
            AfterCommit(change, p, effect, commit.WakeAt);
            // The first event may have had an identifier refused (a limit): said as one at a time says it.
            Finish(item, new TrackResult { EventId = item.Event.Event.Id, Status = TrackStatus.Accepted, ProfileId = p.Id, SegmentChanges = effect.Changes, NotLinked = NotLinked(item.Event.Event, effect.Result as ResolutionPlan), Ignored = OmnichannelEngine.Ignored(item.Event.Event) }, each);
        }

        foreach (var item in duplicates ?? [])
        {
            Finish(item, new TrackResult { EventId = item.Event.Event.Id, Status = TrackStatus.Duplicate }, each);
        }

        return applied.Count + (duplicates?.Count ?? 0);
    }

    // A run holds at most MaxRun events: a scan costs less than a set made for every run.
    private static bool AppliedBefore(List<(EventItem Item, EventChange Change, ChangeEffect Effect)> applied, string eventId)
    {
        foreach (var a in applied)
        {
            if (a.Item.Event.Event.Id == eventId)
            {
                return true;
            }
        }

        return false;
    }

    private static IReadOnlyList<OutboxEntry> OutboxOf(List<(EventItem Item, EventChange Change, ChangeEffect Effect)> applied) =>
        OutboxOf(applied, static a => a.Effect);

    /// <summary>The messages a run's changes planned, in order; no new list when (as nearly always) only one change or none planned any.</summary>
    private static IReadOnlyList<OutboxEntry> OutboxOf<T>(List<T> changes, Func<T, ChangeEffect> effectOf)
    {
        IReadOnlyList<OutboxEntry>? only = null;
        List<OutboxEntry>? all = null;
        foreach (var change in changes)
        {
            var outbox = effectOf(change).Outbox;
            if (outbox.Count == 0)
            {
                continue;
            }

            if (only is null)
            {
                only = outbox;
            }
            else
            {
                (all ??= [.. only]).AddRange(outbox);
            }
        }

        return all ?? only ?? [];
    }

    private void Finish(EventItem item, TrackResult result, double seconds)
    {
        _metrics.ProcessingDuration.Record(seconds);
        _metrics.EventsTracked.Add(1, new KeyValuePair<string, object?>("omnichannel.event.outcome", OmnichannelTelemetry.OutcomeName(result.Status)));
        item.Complete(result);
    }

    private static class EventRuns
    {
        /// <summary>The item read, then the items right behind it in the queue with the same route key (at most <see cref="MaxRun"/>).</summary>
        public static List<EventItem> Collect(ChannelReader<WorkItem> reader, EventItem item)
        {
            var run = new List<EventItem> { item };
            while (run.Count < MaxRun && reader.TryPeek(out var next) && next is EventItem e && e.RouteKey == item.RouteKey && reader.TryRead(out _))
            {
                run.Add(e);
            }

            return run;
        }

        /// <summary>
        /// Whether bringing a batch's events together could save enough commits to pay for it: at least one event in four
        /// shares its route key with an earlier one (a batch of many customers' events, such as a random sample of a
        /// million customers, saves almost nothing and would pay a store read and two passes).
        /// </summary>
        public static bool WorthOrdering(List<EventItem> items)
        {
            if (items.Count < 3)
            {
                return false;
            }

            var keys = new HashSet<Identifier>(items.Count);
            var repeats = 0;
            foreach (var item in items)
            {
                if (!keys.Add(item.RouteKey))
                {
                    repeats++;
                }
            }

            return repeats * 4 >= items.Count;
        }

        /// <summary>
        /// A batch's events in queue order with each route key's events brought together where that changes no order that
        /// holds today: an event joins the earlier events of its route key only when the last event of its person — every
        /// event linked to it by a shared identifier within the batch, or by identifiers one profile holds
        /// (<paramref name="owners"/>) — is among them, so it never overtakes an event of the same person. Events of one
        /// person under different route keys in one partition ran in the order given: an order placed by customer id must
        /// not overtake the cart she filled by email.
        /// </summary>
        /// <param name="items">The batch's events, in the order given.</param>
        /// <param name="owners">The profile holding each identifier of the batch that one holds.</param>
        public static IReadOnlyList<EventItem> Order(List<EventItem> items, IReadOnlyDictionary<Identifier, string> owners)
        {
            var n = items.Count;
            if (n < 3)
            {
                return items;
            }

            // Union-find over identifiers (and the profiles holding them, as keys of their own): a component is one person
            // as far as the batch and the store tell. Per component, the group of its latest event; per route key, the
            // group of the latest event routed by it. Groups are numbered in the order of their first event, which is the
            // order they are queued in; a counting sort then keeps each group's events in their order.
            var parent = new Dictionary<Identifier, Identifier>(n);
            var last = new Dictionary<Identifier, int>(n);
            var routed = new Dictionary<Identifier, int>(n);
            var groupOf = new int[n];
            var groups = 0;
            var moved = false; // an event queued before one given before it: else the order is the batch's own
            for (var i = 0; i < n; i++)
            {
                var item = items[i];
                var ids = item.Event.Identifiers;
                var group = routed.TryGetValue(item.RouteKey, out var mine) ? mine : -1;
                for (var k = 0; group >= 0 && k < ids.Count; k++) // by index: a foreach boxes the list's enumerator
                {
                    if ((last.TryGetValue(Find(parent, ids[k]), out var other) && other != group)
                        || (owners.TryGetValue(ids[k], out var owner) && last.TryGetValue(Find(parent, ProfileKey(owner)), out other) && other != group))
                    {
                        group = -1;
                    }
                }

                if (group < 0)
                {
                    group = groups++;
                }

                moved |= i > 0 && group < groupOf[i - 1];
                groupOf[i] = group;
                var root = Find(parent, ids[0]);
                for (var k = 0; k < ids.Count; k++)
                {
                    root = Union(parent, root, ids[k]);
                    if (owners.TryGetValue(ids[k], out var owner))
                    {
                        root = Union(parent, root, ProfileKey(owner));
                    }
                }

                last[root] = group;
                routed[item.RouteKey] = group;
            }

            if (!moved)
            {
                return items;
            }

            var next = new int[groups + 1];
            foreach (var g in groupOf)
            {
                next[g + 1]++;
            }

            for (var g = 1; g <= groups; g++)
            {
                next[g] += next[g - 1];
            }

            var ordered = new EventItem[n];
            for (var i = 0; i < n; i++)
            {
                ordered[next[groupOf[i]]++] = items[i];
            }

            return ordered;
        }

        public static Identifier ProfileKey(string profileId) => new("\0profile", profileId);

        public static Identifier Find(Dictionary<Identifier, Identifier> parent, Identifier key)
        {
            while (parent.TryGetValue(key, out var up))
            {
                if (parent.TryGetValue(up, out var upper))
                {
                    parent[key] = upper; // path halving
                    key = upper;
                }
                else
                {
                    key = up;
                }
            }

            return key;
        }

        /// <summary>Joins <paramref name="key"/>'s component to the one rooted at <paramref name="root"/>; returns the root of both.</summary>
        public static Identifier Union(Dictionary<Identifier, Identifier> parent, Identifier root, Identifier key)
        {
            var other = Find(parent, key);
            if (other != root)
            {
                parent[other] = root;
            }

            return root;
        }
    }
}
