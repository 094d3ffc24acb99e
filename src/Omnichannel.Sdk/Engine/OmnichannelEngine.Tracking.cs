using System.Diagnostics;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk;

// Taking events in: one event or a batch is validated, normalised, routed to its partition and queued.
public sealed partial class OmnichannelEngine
{
    /// <inheritdoc />
    public async ValueTask<TrackResult> TrackAsync(CustomerEvent customerEvent, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var activity = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.Track);
        activity?.SetTag("omnichannel.event.type", customerEvent?.Type);
        ThrowIfOnWorker(nameof(TrackAsync));
        ThrowIfDisposed();
        var gate = CallGate.For(cancellationToken);
        var (item, rejected) = Prepare(customerEvent!, gate);
        var result = rejected;
        if (result is null)
        {
            await WriteAsync(_queues[item!.Partition].Writer, item, cancellationToken).ConfigureAwait(false);
            try
            {
                result = await item.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !gate.TryWithdraw())
            {
                // A worker already started it: it is applied (or refused), and the caller hears which (audit U29).
                result = await item.Completion.Task.ConfigureAwait(false);
            }
        }

        if (activity is not null)
        {
            activity.SetTag("omnichannel.event.outcome", OmnichannelTelemetry.OutcomeName(result.Status));
            if (result.Status is TrackStatus.Failed or TrackStatus.StoreFailed)
            {
                activity.SetStatus(ActivityStatusCode.Error, result.FailureReason);
            }
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrackResult>> TrackBatchAsync(IEnumerable<CustomerEvent> events, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ArgumentNullException.ThrowIfNull(events);
        ThrowIfOnWorker(nameof(TrackBatchAsync));
        ThrowIfDisposed();
        using var activity = OmnichannelTelemetry.ActivitySource.StartActivity(OmnichannelTelemetry.Spans.TrackBatch);
        var pending = events.TryGetNonEnumeratedCount(out var count) ? new List<Task<TrackResult>>(count) : [];
        var items = new List<EventItem>(pending.Capacity);
        var gate = CallGate.For(cancellationToken); // the whole batch is applied, or none of it (audit U29)
        foreach (var e in events)
        {
            var (item, rejected) = Prepare(e, gate);
            if (rejected is not null)
            {
                pending.Add(Task.FromResult(rejected));
                continue;
            }

            items.Add(item!);
            pending.Add(item!.Completion.Task);
        }

        if (items.Count == 0)
        {
            // Nothing to queue (every event rejected, or none): the caller hears the rejections, as for one invalid event
            // called before disposal. Through the queue gate it waited behind a batch waiting for room, and once disposal
            // began heard ObjectDisposedException for rejections already counted and logged.
            var rejections = new TrackResult[pending.Count];
            for (var i = 0; i < rejections.Length; i++)
            {
                rejections[i] = pending[i].Result; // completed: Task.FromResult
            }

            activity?.SetTag("omnichannel.events", rejections.Length);
            return rejections;
        }

        // One person's events are applied in the order given. Partitions run side by side, so an event routed to another
        // partition than the last event of its person waits until that one is done. Her events are those linked by a shared
        // identifier within the batch, directly or through other events (a page view by anonymous id and email, then one
        // customer's identify by that email and another's screen by that anonymous id), or through identifiers one stored
        // profile holds. Else which claim won, and so whose profile an identifier ended on, depended on which worker ran first.
        var batch = new BatchCompletion(items.Count);
        foreach (var item in items)
        {
            item.Batch = batch; // before any is queued: a worker may complete it at once
        }

        var owners = items.Count > 1 && SpansPartitions(items) ? await ReadOwnersAsync(items, cancellationToken).ConfigureAwait(false) : null;
        var ordered = _runs ? await OrderAsync(items, owners, cancellationToken).ConfigureAwait(false) : items;
        var people = ordered.Count > 1 ? new PersonChains(ordered.Count, owners ?? NoOwners) : null;
        List<EventItem>? after = null;

        // A batch is queued whole before a wake-up run queues its work: a worker may commit the batch's first event while
        // the rest is still being written, and a wake-up it made due (an offline sync's cart, hours old) must not run
        // between it and its order, which the same batch carries.
        await _batchWrites.WaitAsync(cancellationToken).ConfigureAwait(false);
        var token = cancellationToken; // None once a worker started the batch: then it is queued and applied whole
        try
        {
            ThrowIfDisposed(); // a disposal that began meanwhile closes the queues once this gate is free: nothing is queued
            foreach (var item in ordered)
            {
                if (people is not null)
                {
                    people.Add(item, after ??= []);
                }

                while (true)
                {
                    try
                    {
                        if (people is not null)
                        {
                            foreach (var earlier in after!)
                            {
                                if (earlier.Partition != item.Partition && !earlier.Completion.Task.IsCompleted)
                                {
                                    // However it ended (withdrawn with the batch is the only fault): the rest must still be queued.
                                    await ((Task)earlier.Completion.Task).WaitAsync(token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                                    token.ThrowIfCancellationRequested();
                                }
                            }
                        }

                        var writer = _queues[item.Partition].Writer;
                        if (!writer.TryWrite(item))
                        {
                            await WriteAsync(writer, item, token).ConfigureAwait(false);
                        }

                        break;
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested && !gate.TryWithdraw())
                    {
                        token = CancellationToken.None; // a worker started the batch: the rest is queued too (audit U29)
                    }
                }
            }
        }
        finally
        {
            _batchWrites.Release();
        }

        try
        {
            await batch.AllDone.Task.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested && !gate.TryWithdraw())
        {
            await batch.AllDone.Task.ConfigureAwait(false); // started: every result, not "cancelled"
        }

        var results = Results(pending);
        activity?.SetTag("omnichannel.events", results.Length);
        return results;
    }

    // Every task completed: their results, or what awaiting them all throws when one was withdrawn (as Task.WhenAll does).
    private static TrackResult[] Results(List<Task<TrackResult>> done)
    {
        var results = new TrackResult[done.Count];
        for (var i = 0; i < results.Length; i++)
        {
            if (!done[i].IsCompletedSuccessfully)
            {
                return Task.WhenAll(done).GetAwaiter().GetResult(); // completed: throws at once, as the await did
            }

            results[i] = done[i].Result;
        }

        return results;
    }

    private static readonly IReadOnlyDictionary<Identifier, string> NoOwners = new Dictionary<Identifier, string>();

    /// <summary>
    /// Whether the batch's events went to two partitions or more: only then could two events of one stored person that
    /// share no identifier in the batch run side by side. Any two of hers, even with one identifier each: her cart add by
    /// phone and her later removal by email change no identifiers, but applied the other way round the add never enters
    /// her into a cart segment (nor starts what that entry starts), and one at a time it does (audit BO).
    /// </summary>
    private static bool SpansPartitions(List<EventItem> items)
    {
        var first = items[0].Partition;
        foreach (var item in items)
        {
            if (item.Partition != first)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The profile holding each identifier of the batch that one holds, or <see langword="null"/> when the store could not say.</summary>
    private async ValueTask<IReadOnlyDictionary<Identifier, string>?> ReadOwnersAsync(List<EventItem> items, CancellationToken cancellationToken)
    {
        var identifiers = new HashSet<Identifier>();
        foreach (var item in items)
        {
            var ids = item.Event.Identifiers;
            for (var k = 0; k < ids.Count; k++) // by index: UnionWith would box the list's enumerator for every event
            {
                identifiers.Add(ids[k]);
            }
        }

        try
        {
            return await _store.ResolveIdentifiersAsync([.. identifiers], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
        {
            return null; // the batch's own links still hold; the store is asked again when the events are applied
        }
    }

    /// <summary>
    /// The profile holding each of <paramref name="identifiers"/> (already normalised) that one holds, for the cluster
    /// client's grouping of a batch by person.
    /// </summary>
    internal ValueTask<IReadOnlyDictionary<Identifier, string>> ResolveOwnersAsync(IReadOnlyList<Identifier> identifiers, CancellationToken cancellationToken = default) =>
        _store.ResolveIdentifiersAsync(identifiers, cancellationToken);

    /// <summary>
    /// A batch's events in the order to queue them (<see cref="EventRuns.Order"/>): the identifiers' owners are read only
    /// when the batch alone would move an event ahead of one given before it (one customer's batch moves nothing), and
    /// then they may keep it in place (two identifiers of one profile are one person). Without them (a failed read), the
    /// batch keeps its order.
    /// </summary>
    private async ValueTask<IReadOnlyList<EventItem>> OrderAsync(List<EventItem> items, IReadOnlyDictionary<Identifier, string>? owners, CancellationToken cancellationToken)
    {
        if (!EventRuns.WorthOrdering(items) || ReferenceEquals(EventRuns.Order(items, NoOwners), items))
        {
            return items;
        }

        owners ??= await ReadOwnersAsync(items, cancellationToken).ConfigureAwait(false);
        return owners is null ? items : EventRuns.Order(items, owners); // an order changes nothing but the number of commits
    }

    /// <summary>
    /// A batch's people as its events are queued: union-find over identifiers and the profiles holding them (a component is
    /// one person as far as the batch and the store tell), with each person's latest event.
    /// </summary>
    private sealed class PersonChains(int capacity, IReadOnlyDictionary<Identifier, string> owners)
    {
        private readonly Dictionary<Identifier, Identifier> _parent = new(capacity);
        private readonly Dictionary<Identifier, EventItem> _last = new(capacity);

        /// <summary>Makes <paramref name="item"/> its person's latest event; fills <paramref name="after"/> with the latest events of the people it joins.</summary>
        public void Add(EventItem item, List<EventItem> after)
        {
            after.Clear();
            var ids = item.Event.Identifiers;
            Identifier? root = null;
            for (var k = 0; k < ids.Count; k++)
            {
                Join(ids[k], ref root);
                if (owners.TryGetValue(ids[k], out var owner))
                {
                    Join(EventRuns.ProfileKey(owner), ref root);
                }
            }

            _last[root!.Value] = item;

            void Join(Identifier key, ref Identifier? root)
            {
                var r = EventRuns.Find(_parent, key);
                if (_last.Remove(r, out var earlier) && !after.Contains(earlier))
                {
                    after.Add(earlier);
                }

                root = root is { } joined ? EventRuns.Union(_parent, joined, r) : r;
            }
        }
    }

    private Identifier? Normalize(Identifier identifier, bool asStored = false)
    {
        if (identifier.Type is null || !_options.Identity.Rules.TryGetValue(identifier.Type, out var rule))
        {
            return null;
        }

        // A value no event could carry (a NUL, an unpaired surrogate, a control character, too long) is held by nobody.
        // Answered here, not by the store: PostgreSQL cannot even be asked about a NUL, and SQLite would be asked about
        // another value (an unpaired surrogate becomes U+FFFD on the way in).
        var raw = IdentifierText.Trim(identifier.Value);
        if (raw.Length > EventValidator.MaxIdentifierLength || JsonLimits.TextProblem(raw, controlsAllowed: false) is not null)
        {
            return null;
        }

        var value = raw;
        if (rule.Normalizer is { } normalize && !normalize(raw, _options.Identity, out value, out _))
        {
            // An address an older version accepted (ann@example..com, before audit U31) may still be stored, as that
            // version kept it (trimmed, lower-cased): her erasure, export or suppression check finds it (review 30).
            if (!asStored || identifier.Type != IdentifierTypes.Email || raw.IndexOf('@') <= 0)
            {
                return null;
            }

            value = IdentifierText.Clean(raw).Trim().ToLowerInvariant();
        }

        return value.Length > EventValidator.MaxIdentifierLength || _validator.IsBlocked(identifier.Type, value) ? null : new Identifier(identifier.Type, value);
    }

    [ThreadStatic]
    private static List<ValidationError>? t_errors;

    private (EventItem? Item, TrackResult? Rejected) Prepare(CustomerEvent? e, CallGate gate)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        // One list per thread, copied only for a refusal: almost every event has no error, and this runs for each one.
        // Taken while in use, so a call that comes back here on the same thread (a custom clock or logger) makes its own.
        var errors = t_errors ?? [];
        t_errors = null;
        errors.Clear();
        ValidatedEvent? valid;
        try
        {
            valid = _validator.Validate(e, _time.GetUtcNow(), errors);
            if (valid is not null)
            {
                var normalized = OutcomeProperties.Normalize(valid.Event, _options.Identity, _delivery, errors);
                if (normalized.Timestamp.Offset != TimeSpan.Zero)
                {
                    // One instant, one spelling: the profile keeps instants (first and last seen, devices, timeline) from
                    // whichever event came first, so 10:00+01:00 and 09:00Z would leave arrival order in the document.
                    normalized = normalized with { Timestamp = normalized.Timestamp.ToUniversalTime() };
                }

                valid = errors.Count > 0 ? null : ReferenceEquals(normalized, valid.Event) ? valid : valid with { Event = normalized };
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug in validation: this event is refused (and the bug logged), the others of a batch go on.
            LogValidationFailed(_logger, Privacy.ScrubbedException.Of(ex), e?.Type);
            errors.Add(new("event", $"could not be validated ({ex.GetType().Name}: {ex.Message})"));
            valid = null;
        }

        IReadOnlyList<ValidationError> refused = valid is null ? [.. errors] : [];
        errors.Clear();
        t_errors = errors;
        if (valid is null)
        {
            _metrics.EventsTracked.Add(1, new KeyValuePair<string, object?>("omnichannel.event.outcome", "rejected"));
            LogRejected(_logger, e?.Type, refused.Count);
            return (null, new TrackResult { EventId = e?.Id ?? string.Empty, Status = TrackStatus.Rejected, Errors = refused });
        }

        // Route by the most trusted identifier, so one person's events usually meet in one partition.
        var rules = _options.Identity.RuleTable;
        var key = valid.Identifiers[0];
        for (var i = 1; i < valid.Identifiers.Count; i++)
        {
            var id = valid.Identifiers[i];
            if (rules[id.Type].Priority > rules[key.Type].Priority)
            {
                key = id; // the first of the most trusted
            }
        }

        var partition = (int)((uint)HashCode.Combine(StringComparer.Ordinal.GetHashCode(key.Type), StringComparer.Ordinal.GetHashCode(key.Value)) % (uint)_queues.Length);
        return (new EventItem(valid, partition, key, gate), null);
    }
}
