using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

// Runs built, joined sixteen at a time at a write's end, and pruned from the element index.
internal sealed partial class WrittenJson<T>
{
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
