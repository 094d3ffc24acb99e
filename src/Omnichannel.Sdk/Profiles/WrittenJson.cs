using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

/// <summary>
/// The stored JSON of immutable elements, kept once written, in runs of consecutive elements. A profile's timeline (up
/// to <see cref="OmnichannelOptions.TimelineLength"/> entries), touches and orders change by about one element per
/// event, yet every commit writes the whole document: with this, the unchanged elements are copied as bytes instead of
/// being serialised again, and they are copied (or, in the in-memory store's shared form, referred to) a run at a time,
/// not an element at a time, so a list of 10,000 kept elements costs a commit about 10,000 / <see cref="RunLength"/>
/// pieces, not 10,000.
/// </summary>
/// <remarks>
/// <para>Elements must never change once added (records with init-only members; a change replaces the element).
/// Collections shorter than <see cref="MinimumToKeep"/> keep nothing, so light profiles pay no memory for it.</para>
/// <para>A run is the JSON array (or object) of up to <see cref="RunLength"/> elements as one write gives it, with where
/// each element starts and ends. A later write walks the collection and reuses any stretch of a run whose elements are
/// the very same objects in the same order (with the same keys): a reference comparison per element, no writing.
/// Elements not found in a run (new ones, or ones whose neighbours changed) get a new run of their own; once the short
/// runs in a row hold a full run's worth, they are built again as one, so appending one element per commit copies each
/// element's bytes about twice in all and leaves fewer than <see cref="RunLength"/> short runs at the end.
/// Trimming the front of a list, inserting into its middle or replacing an element leaves every other stretch shared.
/// The document is byte for byte what writing every element again gives (an unindented writer, as the store's).</para>
/// </remarks>
internal sealed class WrittenJson<T>
    where T : class
{
    /// <summary>Below this many elements, writing is cheap enough that keeping bytes is not worth their memory.</summary>
    public const int MinimumToKeep = 16;

    /// <summary>The elements a full run holds (a run joining short ones may hold up to twice as many).</summary>
    public const int RunLength = 16;

    // Made when the first element is kept: most profiles' lists stay short, and every profile has four of these.
    private Dictionary<T, Place>? _where;

    private readonly record struct Place(Run Run, int Index);

    /// <summary>A run: its bytes ("[a,b]" or "{"k":a,"l":b}"), and where each element's entry and value are in them.</summary>
    private sealed class Run(T[] elements, string[]? keys, byte[] bytes, int[] starts, int[] values, int[] ends)
    {
        public T[] Elements { get; } = elements;

        public string[]? Keys { get; } = keys;

        public byte[] Bytes { get; } = bytes;

        public int[] Starts { get; } = starts;

        public int[] Values { get; } = values;

        public int[] Ends { get; } = ends;

        public ReadOnlyMemory<byte> Entries(int from, int to) => new(Bytes, Starts[from], Ends[to - 1] - Starts[from]);

        public ReadOnlySpan<byte> Value(int i) => Bytes.AsSpan(Values[i], Ends[i] - Values[i]);
    }

    /// <summary>The element's JSON as <paramref name="info"/> writes it: from its run when it was written before.</summary>
    public byte[] Utf8(T item, JsonTypeInfo<T> info)
    {
        if (_where is not null && _where.TryGetValue(item, out var at) && !info.Options.WriteIndented)
        {
            return at.Run.Value(at.Index).ToArray();
        }

        var scratch = JsonScratch.Take(info.Options);
        try
        {
            ElementWise.Write(scratch.Writer, item, info);
            scratch.Writer.Flush();
            return scratch.Buffer.WrittenSpan.ToArray();
        }
        finally
        {
            scratch.Return();
        }
    }

    // The last write's pieces, with the collection's version then (see WrittenOnceDictionary.Version) and the options it
    // wrote with: a write with neither moved gives them again without visiting an element. Null when the last write gave no version.
    private Stretch[]? _again;
    private int _againCount;
    private long _againVersion;
    private bool _againIsObject;
    private JsonTypeInfo<T>? _againInfo;

    /// <summary>
    /// Writes the last write's pieces again when it was given <paramref name="version"/> and the same <paramref name="info"/>
    /// (the collection unchanged since): one reference per run, no element visited. False, writing nothing, otherwise.
    /// </summary>
    public bool WriteAgain(Utf8JsonWriter writer, long version, bool isObject, JsonTypeInfo<T> info)
    {
        if (_again is null || _againVersion != version || _againIsObject != isObject || !ReferenceEquals(_againInfo, info))
        {
            return false;
        }

        var pieces = SharedElements.TakePieces();
        try
        {
            foreach (var span in _again.AsSpan(0, _againCount))
            {
                pieces.Add(span.Run.Entries(span.From, span.To));
            }

            SharedElements.WriteKept(writer, isObject, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pieces));
        }
        finally
        {
            SharedElements.ReturnPieces(pieces);
        }

        Visited = 0;
        return true;
    }

    /// <summary>The elements the last write visited: all of them, or none when it gave the last write's pieces again (tests read it).</summary>
    internal int Visited { get; private set; }

    /// <summary>
    /// Writes <paramref name="items"/> as a JSON array, or with <paramref name="keys"/> (one per item) as a JSON object,
    /// reusing the kept runs wherever they still hold (see the remarks). <paramref name="info"/>'s options must not indent.
    /// With <paramref name="version"/> (the collection's, moved by every change), the pieces are kept for <see cref="WriteAgain"/>.
    /// </summary>
    public void Write(Utf8JsonWriter writer, ReadOnlySpan<T> items, ReadOnlySpan<string> keys, bool isObject, JsonTypeInfo<T> info, long? version = null)
    {
        (_spans ??= []).Clear();
        WriteFrom(writer, items, keys, isObject, info, version, start: 0);
    }

    // Write's walk from items[start]; _spans holds the stretches of the elements before it (a list's matched prefix, see
    // WriteList), which are written first as they are.
    private void WriteFrom(Utf8JsonWriter writer, ReadOnlySpan<T> items, ReadOnlySpan<string> keys, bool isObject, JsonTypeInfo<T> info, long? version, int start)
    {
        _againInfo = null; // whatever happens below, the kept pieces are no longer the last write's
        Visited = items.Length - start;
        _where ??= new(ReferenceEqualityComparer.Instance);
        var spans = _spans!;
        _spansInfo = null;
        {
            // The last pieces, when each is a whole short run: new elements are a run of their own until these and they
            // make a full run, which is then built once. Appending one element per commit so copies each element's
            // bytes about twice in all, not once per commit of its run.
            var shortPieces = 0;
            var shortCount = 0;
            var tail = _tail ??= [];
            tail.Clear(); // the runs of those short pieces, for WriteAppended
            for (var k = spans.Count - 1; k >= 0 && IsWholeShortRun(spans[k]); k--)
            {
                // The matched prefix ends in whole short runs: a walk from its start would have them in hand here, ready
                // to join the new elements (without them, a list changed near its end would split into ever shorter runs).
                shortPieces++;
                shortCount += spans[k].Run.Elements.Length;
            }

            for (var k = spans.Count - shortPieces; k < spans.Count; k++)
            {
                tail.Add(spans[k].Run);
            }

            var shortFrom = start - shortCount;
            var i = start;
            while (i < items.Length)
            {
                if (_where.TryGetValue(items[i], out var at) && Holds(at.Run, at.Index, items, keys, i))
                {
                    var run = at.Run;
                    var to = at.Index + 1;
                    while (to < run.Elements.Length && i + (to - at.Index) < items.Length && Holds(run, to, items, keys, i + (to - at.Index)))
                    {
                        to++;
                    }

                    spans.Add(new Stretch(run, at.Index, to));
                    if (at.Index == 0 && to == run.Elements.Length && run.Elements.Length < RunLength)
                    {
                        (shortFrom, shortPieces, shortCount) = shortPieces > 0 ? (shortFrom, shortPieces + 1, shortCount + run.Elements.Length) : (i, 1, run.Elements.Length);
                        AddShort(tail, shortPieces, run);
                    }
                    else
                    {
                        shortPieces = 0;
                        tail.Clear();
                    }

                    i += to - at.Index;
                    continue;
                }

                var end = i + 1;
                while (end < items.Length && end - i < RunLength && !_where.ContainsKey(items[end]))
                {
                    end++;
                }

                var from = i;
                if (shortPieces > 0 && shortCount + (end - i) >= RunLength)
                {
                    from = shortFrom; // the short runs before and these new elements: one full run
                    spans.RemoveRange(spans.Count - shortPieces, shortPieces);
                }

                var built = Build(items[from..end], isObject ? keys[from..end] : default, isObject, info);
                spans.Add(new Stretch(built, 0, built.Elements.Length));
                if (from != i)
                {
                    shortPieces = 0; // joined into the new run
                }

                if (built.Elements.Length >= RunLength)
                {
                    shortPieces = 0;
                    tail.Clear();
                }
                else
                {
                    (shortFrom, shortPieces, shortCount) = shortPieces > 0 ? (shortFrom, shortPieces + 1, shortCount + built.Elements.Length) : (from, 1, built.Elements.Length);
                    AddShort(tail, shortPieces, built);
                }

                i = end;
            }

            Finish(writer, spans, tail.Count, isObject, info, version);
            _spansInfo = isObject ? null : info;
        }

        Prune(items);
    }

    // Whether the element after the last write's element at (span s, index j) is item.
    private static bool NextIs(List<Stretch> spans, int s, int j, T item) =>
        j + 1 < spans[s].To ? ReferenceEquals(spans[s].Run.Elements[j + 1], item)
        : s + 1 < spans.Count && ReferenceEquals(spans[s + 1].Run.Elements[spans[s + 1].From], item);

    private static bool IsWholeShortRun(Stretch s) => s.From == 0 && s.To == s.Run.Elements.Length && s.Run.Elements.Length < RunLength;

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

    /// <summary>
    /// How many whole runs of one level in a row, at a write's end, are joined into one run of the next level (level 0: runs
    /// under <see cref="RunLength"/> × this many elements; level k + 1: up to this many times level k's). A collection that
    /// only grows (her orders, never trimmed) so keeps at most this many pieces per level, O(log n) in all, instead of one per
    /// <see cref="RunLength"/> elements: each commit's document refers to, and copies the list of, every piece.
    /// </summary>
    internal const int JoinFanIn = 16;

    private static int Level(int count)
    {
        var level = 0;
        for (long size = (long)RunLength * JoinFanIn; count >= size; size *= JoinFanIn)
        {
            level++;
        }

        return level;
    }

    private static bool IsWholeFullRun(Stretch s) => s.From == 0 && s.To == s.Run.Elements.Length && s.Run.Elements.Length >= RunLength;

    // The whole full runs that end the stretches (before the trailing short runs), taken in order as a counter in base
    // JoinFanIn takes its digits: whenever JoinFanIn runs of one level stand last, they become one run of the next level. A
    // collection grown one commit at a time, or walked whole after a reload, so ends in at most JoinFanIn - 1 runs per level;
    // each element's bytes are copied once per level, O(log n) times in all. Runs already in that shape are only looked at.
    private void JoinTrailing(List<Stretch> spans, int tailCount, bool isObject)
    {
        var end = spans.Count - tailCount;
        var begin = end;
        while (begin > 0 && IsWholeFullRun(spans[begin - 1]))
        {
            begin--;
        }

        if (end - begin < JoinFanIn)
        {
            return;
        }

        var all = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(spans);
        var top = begin; // the stack of runs taken so far is all[begin..top]
        var same = 0; // how many runs of the top's level stand last on the stack
        for (var k = begin; k < end; k++)
        {
            all[top++] = all[k];
            same = top - 1 > begin && Level(all[top - 2].Run.Elements.Length) == Level(all[top - 1].Run.Elements.Length) ? same + 1 : 1;
            while (same == JoinFanIn)
            {
                var joined = Join(all[(top - JoinFanIn)..top], isObject);
                top -= JoinFanIn - 1;
                all[top - 1] = new Stretch(joined, 0, joined.Elements.Length);
                var level = Level(joined.Elements.Length);
                same = 1;
                while (top - 1 - same >= begin && Level(all[top - 1 - same].Run.Elements.Length) == level)
                {
                    same++;
                }
            }
        }

        spans.RemoveRange(top, end - top);
    }

    // One run holding the given whole runs' entries in order: their bytes joined with commas, their offsets moved.
    private Run Join(ReadOnlySpan<Stretch> runs, bool isObject)
    {
        var count = 0;
        var length = 1; // the closing bracket; each run adds its entries and the byte before them (the opening bracket or a comma)
        foreach (var s in runs)
        {
            count += s.Run.Elements.Length;
            length += 1 + s.Run.Entries(0, s.Run.Elements.Length).Length;
        }

        var elements = new T[count];
        var keys = isObject ? new string[count] : null;
        var (starts, values, ends) = (new int[count], new int[count], new int[count]);
        var bytes = new byte[length];
        var (at, n) = (0, 0);
        foreach (var s in runs)
        {
            var run = s.Run;
            bytes[at++] = n == 0 ? (isObject ? (byte)'{' : (byte)'[') : (byte)',';
            var entries = run.Entries(0, run.Elements.Length);
            entries.Span.CopyTo(bytes.AsSpan(at));
            var shift = at - run.Starts[0];
            for (var k = 0; k < run.Elements.Length; k++, n++)
            {
                elements[n] = run.Elements[k];
                if (keys is not null)
                {
                    keys[n] = run.Keys![k];
                }

                (starts[n], values[n], ends[n]) = (run.Starts[k] + shift, run.Values[k] + shift, run.Ends[k] + shift);
            }

            at += entries.Length;
        }

        bytes[at] = isObject ? (byte)'}' : (byte)']';
        var joined = new Run(elements, keys, bytes, starts, values, ends);
        for (var k = 0; k < elements.Length; k++)
        {
            _where![elements[k]] = new Place(joined, k);
        }

        return joined;
    }

    private static bool Holds(Run run, int index, ReadOnlySpan<T> items, ReadOnlySpan<string> keys, int i) =>
        ReferenceEquals(run.Elements[index], items[i]) && (run.Keys is null || string.Equals(run.Keys[index], keys[i], StringComparison.Ordinal));

    private Run Build(ReadOnlySpan<T> items, ReadOnlySpan<string> keys, bool isObject, JsonTypeInfo<T> info)
    {
        var starts = new int[items.Length];
        var values = new int[items.Length];
        var ends = new int[items.Length];
        var scratch = JsonScratch.Take(info.Options);
        byte[] bytes;
        try
        {
            var w = scratch.Writer;
            if (isObject)
            {
                w.WriteStartObject();
            }
            else
            {
                w.WriteStartArray();
            }

            for (var k = 0; k < items.Length; k++)
            {
                starts[k] = Position(w) + (k > 0 ? 1 : 0); // past the comma an unindented writer puts between entries
                if (isObject)
                {
                    w.WritePropertyName(keys[k]);
                }

                values[k] = isObject ? Position(w) : starts[k];
                if (_where!.TryGetValue(items[k], out var at))
                {
                    w.WriteRawValue(at.Run.Value(at.Index), skipInputValidation: true); // written by the same options before
                }
                else
                {
                    ElementWise.Write(w, items[k], info);
                }

                ends[k] = Position(w);
            }

            if (isObject)
            {
                w.WriteEndObject();
            }
            else
            {
                w.WriteEndArray();
            }

            w.Flush();
            bytes = scratch.Buffer.WrittenSpan.ToArray();
        }
        finally
        {
            scratch.Return();
        }

        var run = new Run(items.ToArray(), isObject ? keys.ToArray() : null, bytes, starts, values, ends);
        for (var k = 0; k < items.Length; k++)
        {
            _where![items[k]] = new Place(run, k);
        }

        return run;
    }

    private static int Position(Utf8JsonWriter w) => checked((int)(w.BytesCommitted + w.BytesPending));

    /// <summary>Forgets the places of elements no longer held (replaced or trimmed), once they outnumber the live ones.</summary>
    private void Prune(ReadOnlySpan<T> live)
    {
        if (_where is null || _where.Count <= (live.Length * 2) + MinimumToKeep)
        {
            return;
        }

        var kept = new Dictionary<T, Place>(live.Length, ReferenceEqualityComparer.Instance);
        foreach (var item in live)
        {
            if (_where.TryGetValue(item, out var at))
            {
                kept[item] = at;
            }
        }

        _where = kept;
    }
}

/// <summary>A thread's writer and buffer for one value written as the serializer would with given options (kept JSON pieces).</summary>
/// <remarks>
/// One per thread: this runs inside the document's own serialisation, where the serializer's cached writer is taken, so
/// SerializeToUtf8Bytes would make a new writer, buffer and stack for every run. Taken out while in use, so a nested call
/// (never expected) gets its own.
/// </remarks>
internal sealed class JsonScratch(JsonSerializerOptions options)
{
    [ThreadStatic]
    private static JsonScratch? t_scratch;

    public JsonSerializerOptions Options { get; } = options;

    public ArrayBufferWriter<byte> Buffer { get; } = new(512);

    // As the serializer would write: the same encoder, indentation and depth limit (0 is its default of 64, not the writer's 1000).
    public Utf8JsonWriter Writer { get; } = new(Stream.Null, new JsonWriterOptions
    {
        Encoder = options.Encoder, Indented = options.WriteIndented, IndentCharacter = options.IndentCharacter, IndentSize = options.IndentSize,
        NewLine = options.NewLine, MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth, SkipValidation = true,
    });

    public static JsonScratch Take(JsonSerializerOptions options)
    {
        // Only a writer made for these options writes as they would (encoder, indentation, depth).
        var scratch = t_scratch is { } kept && ReferenceEquals(kept.Options, options) ? kept : new JsonScratch(options);
        t_scratch = null;
        scratch.Buffer.ResetWrittenCount();
        scratch.Writer.Reset(scratch.Buffer);
        return scratch;
    }

    public void Return()
    {
        if (Buffer.Capacity <= 64 * 1024)
        {
            t_scratch = this; // an unusually large run's buffer is not kept for the thread's lifetime
        }
    }
}
