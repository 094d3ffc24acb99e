using Omnichannel.Sdk.Orleans.Implementation;

namespace Omnichannel.Sdk.Orleans;

// Batches: one call per customer, her events in order; people linked by a shared identifier go together.
public sealed partial class OmnichannelClusterClient
{
    /// <inheritdoc />
    /// <remarks>
    /// One call per customer. One person's events (linked by a shared identifier, directly or through other events of the
    /// batch, or by identifiers one stored profile holds, which one silo is asked for when events linking identifiers go
    /// under two grain keys or more) go in the order given: a run of them under one grain key is one call (several in
    /// turn when it is large), and the next run starts when it has answered. When a
    /// customer's call fails (her silo died, the call timed out), her events from there on are answered
    /// <see cref="TrackStatus.StoreFailed"/> (transient: sending them again applies each once) and the other customers'
    /// results are returned as usual. As on one engine, a token cancelled before the first call is sent throws
    /// <see cref="OperationCanceledException"/> with nothing applied; once a call is sent the whole batch is sent and
    /// reported, whatever the token. A client whose Orleans client was stopped (its host disposed) throws
    /// <see cref="ObjectDisposedException"/>, as a single <see cref="TrackAsync"/> does.
    /// </remarks>
    public async Task<IReadOnlyList<TrackResult>> TrackBatchAsync(IEnumerable<CustomerEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var list = events.ToList();
        cancellationToken.ThrowIfCancellationRequested(); // as one engine: a batch cancelled before it is sent is not applied
        var results = new TrackResult[list.Count];

        // One person's events (linked by a shared identifier, or by their grain key) in order; people in parallel.
        var people = await PeopleOfAsync(list, cancellationToken).ConfigureAwait(false);

        // As one engine, whose started batch applies whole: from the first call sent the token is no longer heeded, so the
        // caller is never told "cancelled" about a batch part of which was applied.
        cancellationToken.ThrowIfCancellationRequested();
        await Task.WhenAll(people.Select(async person =>
        {
            var json = person.Select(x => ClusterJson.Write(x.Event)).ToArray();
            for (var start = 0; start < person.Count;)
            {
                // The run of her events under one grain key: one call, in one turn of that grain. Her events under
                // another key wait for it, so that an order placed by customer id never overtakes the cart she filled
                // by email (two grains run in parallel, possibly on two silos). A long run goes as several calls, one
                // after the other: one call over Orleans' message size limit was never answered (a timeout, and the same
                // on every retry, the size being the batch's), and a huge one can outlast the response timeout.
                var end = start + 1;
                var size = json[start].Length;
                while (end < person.Count && person[end].Route == person[start].Route && size + json[end].Length <= CallBudget)
                {
                    size += json[end].Length;
                    end++;
                }

                var items = person.GetRange(start, end - start);
                string[] answers;
                IProfileGrain grain;
                try
                {
                    // Outside the call's catch: a stopped client (its host disposed) throws ObjectDisposedException, as a
                    // single TrackAsync and a disposed engine do; as a transient result, a caller retried it for ever.
                    grain = Profile(items[0].Route);
                }
                catch (InvalidOperationException ex) when (ex is not ObjectDisposedException)
                {
                    // Not connected yet (the host not started): transient, as before; starting the host cures it.
                    foreach (var (e, index, _) in person.Skip(start))
                    {
                        results[index] = CallFailed(e?.Id, ex);
                    }

                    return;
                }

                try
                {
                    answers = await TrackOnAsync(grain, json[start..end]).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // One customer's call failed (her silo died, the call timed out or was refused): her events from here
                    // on get a transient failure (sending the later ones now would let them overtake) and the other
                    // customers' results still come back, as one engine answers every event of a batch.
                    foreach (var (e, index, _) in person.Skip(start))
                    {
                        results[index] = CallFailed(e?.Id, ex);
                    }

                    return;
                }

                for (var k = 0; k < items.Count; k++)
                {
                    results[items[k].Index] = ClusterJson.Read<TrackResult>(answers[k]);
                }

                start = end;
            }
        })).ConfigureAwait(false);
        return results;
    }

    // Characters of event JSON in one grain call: far below Orleans' message limit (100 MB by default) even as UTF-8.
    private const int CallBudget = 256 * 1024;

    /// <summary>
    /// A batch's events grouped by person, each in the order given: events linked through a shared identifier or grain key,
    /// directly or through other events of the batch, or through identifiers one stored profile holds (read when events went
    /// under two grain keys or more: only then could two of her events that share nothing in the batch run side by side).
    /// </summary>
    private async Task<List<List<(CustomerEvent Event, int Index, string Route)>>> PeopleOfAsync(List<CustomerEvent> list, CancellationToken cancellationToken)
    {
        var parent = new int[list.Count];
        var firstWith = new Dictionary<string, int>(StringComparer.Ordinal);
        var routes = new string[list.Count];
        var identifiers = new List<Identifier>[list.Count];
        string? firstRoute = null;
        var readOwners = false;
        for (var i = 0; i < list.Count; i++)
        {
            parent[i] = i;
            routes[i] = RouteOf(list[i]);
            Link(i, routes[i]);
            identifiers[i] = [];
            foreach (var id in list[i]?.Identifiers ?? [])
            {
                if (Normalized(id) is { } n)
                {
                    identifiers[i].Add(n);
                    Link(i, n.Type + "\0" + n.Value);
                }
            }

            // Any two events under different routes, even with one identifier each: two of one stored person's events
            // change no identifiers, but run the other way round they can skip a segment entry that one at a time makes
            // (her cart add by phone, then her removal by email; audit BO).
            readOwners |= firstRoute is not null && firstRoute != routes[i];
            firstRoute ??= routes[i];
        }

        if (readOwners)
        {
            var asked = identifiers.SelectMany(x => x).Distinct().ToArray();
            string?[]? owners;
            try
            {
                owners = await Engine.OwnersAsync([.. asked.Select(ClusterJson.WriteIdentifier)]).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
            {
                // The batch's own links still hold; each silo asks the store again when it applies them. A cancellation
                // the caller did not ask for (the silo's own, as it stops) is such a failure too: it threw
                // OperationCanceledException, which a caller reads as its own and does not send again.
                owners = null;
            }

            if (owners is not null)
            {
                var ownerOf = new Dictionary<Identifier, string>(asked.Length);
                for (var k = 0; k < asked.Length; k++)
                {
                    if (owners[k] is { } owner)
                    {
                        ownerOf[asked[k]] = owner;
                    }
                }

                for (var i = 0; i < list.Count; i++)
                {
                    foreach (var n in identifiers[i])
                    {
                        if (ownerOf.TryGetValue(n, out var owner))
                        {
                            Link(i, "\0profile\0" + owner);
                        }
                    }
                }
            }
        }

        var people = new Dictionary<int, List<(CustomerEvent Event, int Index, string Route)>>();
        var ordered = new List<List<(CustomerEvent Event, int Index, string Route)>>();
        for (var i = 0; i < list.Count; i++)
        {
            var root = Find(i);
            if (!people.TryGetValue(root, out var person))
            {
                people[root] = person = [];
                ordered.Add(person);
            }

            person.Add((list[i], i, routes[i]));
        }

        return ordered;

        void Link(int i, string key)
        {
            if (!firstWith.TryAdd(key, i))
            {
                parent[Find(i)] = Find(firstWith[key]);
            }
        }

        int Find(int i)
        {
            while (parent[i] != i)
            {
                i = parent[i] = parent[parent[i]];
            }

            return i;
        }
    }
}
