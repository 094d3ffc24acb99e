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
internal sealed partial class WrittenJson<T>
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
}
