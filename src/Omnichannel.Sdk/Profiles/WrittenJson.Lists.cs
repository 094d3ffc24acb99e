using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

// Lists written from the last write's pieces: a trimmed front, an appended end, an object grown by appended keys.
internal sealed partial class WrittenJson<T>
{
    // The last array write's pieces as stretches of runs, in order (their elements, one after another, are the list it
    // wrote), and the options it wrote with: null when the last write was not one of a list.
    private List<Stretch>? _spans;
    private JsonTypeInfo<T>? _spansInfo;

    private readonly record struct Stretch(Run Run, int From, int To);

    /// <summary>How far into the last write a list's first element may have moved for <see cref="WriteList"/> to find it.</summary>
    internal const int MostTrimmed = 64;

    /// <summary>
    /// Writes <paramref name="items"/> as a JSON array, as <see cref="Write"/> does. A list that changed since its last
    /// write only by losing elements at its front (up to <see cref="MostTrimmed"/>) and gaining some at its end (a capped
    /// timeline, her touches as they age out) is written from the last write's pieces: a reference comparison per element
    /// against the runs, in order, with no look-up, and only the added elements written. Any other change past a front trim
    /// (an element replaced, as an outcome replaces her message's touch; inserted; removed) keeps the stretches before it and
    /// walks the list from there; a list whose first element is not found near the last write's front is walked whole.
    /// </summary>
    public void WriteList(Utf8JsonWriter writer, ReadOnlySpan<T> items, JsonTypeInfo<T> info)
    {
        if (!WriteShifted(writer, items, info))
        {
            Write(writer, items, default, isObject: false, info);
        }
    }

    private bool WriteShifted(Utf8JsonWriter writer, ReadOnlySpan<T> items, JsonTypeInfo<T> info)
    {
        if (_spans is not { Count: > 0 } spans || !ReferenceEquals(_spansInfo, info) || _tail is not { } tail || items.IsEmpty)
        {
            return false;
        }

        // Where her first element was in the last write: the first span holding it, and how far into it.
        var (first, skip, passed) = (-1, 0, 0);
        for (var s = 0; s < spans.Count && first < 0 && passed <= MostTrimmed; s++)
        {
            var span = spans[s];
            for (var j = span.From; j < span.To && passed <= MostTrimmed; j++, passed++)
            {
                if (ReferenceEquals(span.Run.Elements[j], items[0]))
                {
                    (first, skip) = (s, j);
                    break;
                }
            }
        }

        if (first < 0)
        {
            return false; // not found near the front: a walk
        }

        // How many of the elements the last write held from there on are hers, in order: all of them, or the first n. One
        // element of the last write that hers no longer holds is stepped over (the gap): a timeline trims the oldest entry
        // of a kind, which need not be its front (audit U100), and what follows it is still hers.
        var (n, cut, cutAt, gap, gapAt) = (0, -1, 0, -1, 0);
        for (var s = first; s < spans.Count && cut < 0; s++)
        {
            var span = spans[s];
            for (var j = s == first ? skip : span.From; j < span.To; j++, n++)
            {
                if (n >= items.Length || !ReferenceEquals(span.Run.Elements[j], items[n]))
                {
                    if (gap < 0 && n < items.Length && NextIs(spans, s, j, items[n]))
                    {
                        (gap, gapAt) = (s, j);
                        n--; // the old element is not hers: the loop's step passes it without counting it
                        continue;
                    }

                    (cut, cutAt) = (s, j);
                    break;
                }
            }
        }

        var tailFrom = spans.Count - tail.Count; // the trailing whole short runs
        if (cut >= 0 || gap >= 0 || first > tailFrom || (first == tailFrom && skip != spans[first].From))
        {
            // Changed past a front trim (an element replaced, inserted or removed), or trimmed into the short runs: the
            // matched elements are written from their stretches as they are (the gap cut out), and the rest walked.
            var last = cut >= 0 ? cut : spans.Count - 1;
            var matched = new List<Stretch>(last - first + 2);
            for (var s = first; s <= last; s++)
            {
                var from = s == first ? skip : spans[s].From;
                var to = s == cut ? cutAt : spans[s].To;
                if (s == gap)
                {
                    if (gapAt > from)
                    {
                        matched.Add(spans[s] with { From = from, To = gapAt });
                    }

                    from = gapAt + 1;
                }

                if (to > from)
                {
                    matched.Add(spans[s] with { From = from, To = to });
                }
            }

            spans.Clear();
            spans.AddRange(matched);
            WriteFrom(writer, items, default, isObject: false, info, version: null, start: n);
            return true;
        }

        var added = items[n..];
        _againInfo = null;
        _spansInfo = null; // whatever happens below, the spans are rewritten
        Visited = added.Length;
        {
            spans.RemoveRange(0, first);
            if (skip != spans[0].From)
            {
                spans[0] = spans[0] with { From = skip };
            }

            if (!added.IsEmpty)
            {
                var shortCount = 0;
                foreach (var run in tail)
                {
                    shortCount += run.Elements.Length;
                }

                if (shortCount + added.Length >= RunLength)
                {
                    // The short runs and the added elements, as full runs (the last one may be short: the new tail).
                    var all = new T[shortCount + added.Length];
                    var at = 0;
                    foreach (var run in tail)
                    {
                        run.Elements.CopyTo(all, at);
                        at += run.Elements.Length;
                    }

                    added.CopyTo(all.AsSpan(at));
                    spans.RemoveRange(spans.Count - tail.Count, tail.Count);
                    tail.Clear();
                    for (var from = 0; from < all.Length; from += RunLength)
                    {
                        var built = Build(all.AsSpan(from, Math.Min(all.Length, from + RunLength) - from), default, isObject: false, info);
                        spans.Add(new Stretch(built, 0, built.Elements.Length));
                        if (built.Elements.Length < RunLength)
                        {
                            tail.Add(built);
                        }
                    }
                }
                else
                {
                    var built = Build(added, default, isObject: false, info);
                    spans.Add(new Stretch(built, 0, built.Elements.Length));
                    tail.Add(built);
                }
            }

            Finish(writer, spans, tail.Count, isObject: false, info, version: null);
            _spansInfo = info;
        }

        Prune(items);
        return true;
    }

    // Short runs join the trailing ones, or start them afresh (shortPieces counts them, this one included).
    private static void AddShort(List<Run> tail, int shortPieces, Run run)
    {
        if (shortPieces == 1)
        {
            tail.Clear();
        }

        tail.Add(run);
    }

    // Joins the trailing whole runs (see JoinTrailing), then writes the stretches as the collection's JSON and keeps them.
    private void Finish(Utf8JsonWriter writer, List<Stretch> spans, int tailCount, bool isObject, JsonTypeInfo<T> info, long? version)
    {
        JoinTrailing(spans, tailCount, isObject);
        var pieces = SharedElements.TakePieces();
        try
        {
            foreach (var span in spans)
            {
                pieces.Add(span.Run.Entries(span.From, span.To));
            }

            SharedElements.WriteKept(writer, isObject, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pieces));
        }
        finally
        {
            SharedElements.ReturnPieces(pieces);
        }

        KeepPieces(spans, version, isObject, info);
    }

    // The last write's pieces, for WriteAgain and WriteAppended (with a version), or none.
    private void KeepPieces(List<Stretch> pieces, long? version, bool isObject, JsonTypeInfo<T> info)
    {
        if (version is not { } v)
        {
            _again = null;
            return;
        }

        if (_again is null || _again.Length < pieces.Count || _again.Length > (pieces.Count * 2) + RunLength)
        {
            _again = new Stretch[pieces.Count + (pieces.Count / 4) + 4]; // room for a few more runs
        }
        else
        {
            Array.Clear(_again, pieces.Count, _againCount > pieces.Count ? _againCount - pieces.Count : 0); // no stale run held
        }

        pieces.CopyTo(_again);
        (_againCount, _againVersion, _againIsObject, _againInfo) = (pieces.Count, v, isObject, info);
    }

    // The whole short runs the last write ended with (their pieces are the last ones it kept), in order.
    private List<Run>? _tail;

    /// <summary>
    /// Writes the last write's pieces followed by <paramref name="items"/>, the entries added since it (at
    /// <paramref name="fromVersion"/>) and nothing else changed: a collection that grows at its end, such as her orders, costs
    /// a commit what it added, not a walk of every entry. The added entries join the short runs the last write ended with,
    /// as a full write would join them. False, writing nothing, when the kept pieces are not that write's.
    /// </summary>
    public bool WriteAppended(Utf8JsonWriter writer, long fromVersion, ReadOnlySpan<T> items, ReadOnlySpan<string> keys, bool isObject, JsonTypeInfo<T> info, long version)
    {
        if (_again is null || _againVersion != fromVersion || _againIsObject != isObject || !ReferenceEquals(_againInfo, info) || _tail is not { } tail || items.IsEmpty)
        {
            return false;
        }

        _againInfo = null; // whatever happens below, the kept pieces are no longer the last write's
        _spansInfo = null;
        Visited = items.Length;
        _where ??= new(ReferenceEqualityComparer.Instance);
        var pieces = _spans ??= [];
        pieces.Clear();
        {
            var shortCount = 0;
            foreach (var run in tail)
            {
                shortCount += run.Elements.Length;
            }

            pieces.AddRange(_again.AsSpan(0, _againCount));
            if (shortCount + items.Length >= RunLength)
            {
                // The short runs and the added entries, as full runs (the last one may be short: the new tail).
                var all = new T[shortCount + items.Length];
                var allKeys = isObject ? new string[all.Length] : null;
                var n = 0;
                foreach (var run in tail)
                {
                    run.Elements.CopyTo(all, n);
                    run.Keys?.CopyTo(allKeys!, n);
                    n += run.Elements.Length;
                }

                items.CopyTo(all.AsSpan(n));
                if (isObject)
                {
                    keys.CopyTo(allKeys.AsSpan(n));
                }

                pieces.RemoveRange(pieces.Count - tail.Count, tail.Count);
                tail.Clear();
                for (var from = 0; from < all.Length; from += RunLength)
                {
                    var to = Math.Min(all.Length, from + RunLength);
                    var built = Build(all.AsSpan(from, to - from), isObject ? allKeys.AsSpan(from, to - from) : default, isObject, info);
                    pieces.Add(new Stretch(built, 0, built.Elements.Length));
                    if (built.Elements.Length < RunLength)
                    {
                        tail.Add(built);
                    }
                }
            }
            else
            {
                var built = Build(items, keys, isObject, info);
                pieces.Add(new Stretch(built, 0, built.Elements.Length));
                tail.Add(built);
            }

            Finish(writer, pieces, tail.Count, isObject, info, version);
        }

        return true;
    }
}
