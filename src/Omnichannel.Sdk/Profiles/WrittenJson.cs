using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

/// <summary>
/// The stored JSON of immutable elements, kept once written. A profile's timeline (up to
/// <see cref="OmnichannelOptions.TimelineLength"/> entries) and its orders change by about one element per event, yet
/// every commit writes the whole document: with this, the unchanged elements are copied as bytes instead of being
/// serialised again.
/// </summary>
/// <remarks>Elements must never change once added (records with init-only members; a change replaces the element).
/// Collections shorter than <see cref="MinimumToKeep"/> keep nothing, so light profiles pay no memory for it.</remarks>
internal sealed class WrittenJson<T>
    where T : class
{
    /// <summary>Below this many elements, writing is cheap enough that keeping bytes is not worth their memory.</summary>
    public const int MinimumToKeep = 16;

    // Made when the first element is kept: most profiles' lists stay short, and every profile has four of these.
    private Dictionary<T, byte[]>? _written;

    /// <summary>The element's JSON as <paramref name="info"/> writes it, from the first time it was written.</summary>
    public byte[] Utf8(T item, JsonTypeInfo<T> info)
    {
        _written ??= new(ReferenceEqualityComparer.Instance);
        if (!_written.TryGetValue(item, out var bytes))
        {
            bytes = Serialize(item, info);
            _written[item] = bytes;
        }

        return bytes;
    }

    // One writer and buffer per thread: this runs inside the document's own serialisation, where the serializer's cached
    // writer is taken, so SerializeToUtf8Bytes would make a new writer, buffer and stack for every element. Taken out
    // while in use, so a nested call (never expected) gets its own.
    [ThreadStatic]
    private static Scratch? _scratch;

    private static byte[] Serialize(T item, JsonTypeInfo<T> info)
    {
        // Only a writer made for these options writes as they would (encoder, indentation, depth).
        var scratch = _scratch is { } kept && ReferenceEquals(kept.Options, info.Options) ? kept : new Scratch(info.Options);
        _scratch = null;
        scratch.Buffer.ResetWrittenCount();
        scratch.Writer.Reset(scratch.Buffer);
        JsonSerializer.Serialize(scratch.Writer, item, info);
        scratch.Writer.Flush();
        var bytes = scratch.Buffer.WrittenSpan.ToArray();
        if (scratch.Buffer.Capacity <= 64 * 1024)
        {
            _scratch = scratch; // an unusually large element's buffer is not kept for the thread's lifetime
        }

        return bytes;
    }

    private sealed class Scratch(JsonSerializerOptions options)
    {
        public JsonSerializerOptions Options { get; } = options;

        public ArrayBufferWriter<byte> Buffer { get; } = new(512);

        // As the serializer would write: the same encoder, indentation and depth limit (0 is its default of 64, not the writer's 1000).
        public Utf8JsonWriter Writer { get; } = new(Stream.Null, new JsonWriterOptions
        {
            Encoder = options.Encoder, Indented = options.WriteIndented, IndentCharacter = options.IndentCharacter, IndentSize = options.IndentSize,
            NewLine = options.NewLine, MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth, SkipValidation = true,
        });
    }

    /// <summary>Forgets the bytes of elements no longer held (replaced or trimmed), once they outnumber the live ones.</summary>
    public void Prune(IEnumerable<T> live, int count)
    {
        if (_written is null || _written.Count <= (count * 2) + MinimumToKeep)
        {
            return;
        }

        var kept = new Dictionary<T, byte[]>(count, ReferenceEqualityComparer.Instance);
        foreach (var item in live)
        {
            if (_written.TryGetValue(item, out var bytes))
            {
                kept[item] = bytes;
            }
        }

        _written = kept;
    }
}

/// <summary>A list of immutable elements whose stored JSON is kept once written (see <see cref="WrittenJson{T}"/>).</summary>
internal sealed class WrittenOnceList<T> : List<T>
    where T : class
{
    private WrittenJson<T>? _written;

    internal WrittenJson<T> Written => _written ??= new();
}

/// <summary>A dictionary (ordinal keys) of immutable values whose stored JSON is kept once written (see <see cref="WrittenJson{T}"/>).</summary>
internal sealed class WrittenOnceDictionary<T>() : Dictionary<string, T>(StringComparer.Ordinal)
    where T : class
{
    private WrittenJson<T>? _written;

    internal WrittenJson<T> Written => _written ??= new();
}

/// <summary>Reads a JSON array into a <see cref="WrittenOnceList{T}"/> and writes one, copying the kept bytes of its elements.</summary>
internal sealed class WrittenOnceListConverter<T> : JsonConverter<List<T>>
    where T : class
{
    public override List<T>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"Expected an array of {typeof(T).Name}, found {reader.TokenType}.");
        }

        var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        var list = new WrittenOnceList<T>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            list.Add(JsonSerializer.Deserialize(ref reader, info) ?? throw new JsonException($"A null {typeof(T).Name} in an array of them."));
        }

        return list;
    }

    public override void Write(Utf8JsonWriter writer, List<T> value, JsonSerializerOptions options)
    {
        var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        writer.WriteStartArray();
        if (value is WrittenOnceList<T> { Count: >= WrittenJson<T>.MinimumToKeep } kept)
        {
            foreach (var item in kept)
            {
                SharedElements.WriteKept(writer, kept.Written.Utf8(item, info));
            }

            kept.Written.Prune(kept, kept.Count);
        }
        else
        {
            foreach (var item in value)
            {
                JsonSerializer.Serialize(writer, item, info);
            }
        }

        writer.WriteEndArray();
    }
}

/// <summary>Reads a JSON object into a <see cref="WrittenOnceDictionary{T}"/> and writes one, copying the kept bytes of its values.</summary>
internal sealed class WrittenOnceDictionaryConverter<T> : JsonConverter<Dictionary<string, T>>
    where T : class
{
    public override Dictionary<string, T>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"Expected an object of {typeof(T).Name} values, found {reader.TokenType}.");
        }

        var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        var map = new WrittenOnceDictionary<T>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            map[key] = JsonSerializer.Deserialize(ref reader, info) ?? throw new JsonException($"A null {typeof(T).Name} under '{key}'.");
        }

        return map;
    }

    public override void Write(Utf8JsonWriter writer, Dictionary<string, T> value, JsonSerializerOptions options)
    {
        var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        writer.WriteStartObject();
        var kept = value as WrittenOnceDictionary<T> is { Count: >= WrittenJson<T>.MinimumToKeep } k ? k : null;
        foreach (var (key, item) in value)
        {
            writer.WritePropertyName(key);
            if (kept is not null)
            {
                SharedElements.WriteKept(writer, kept.Written.Utf8(item, info));
            }
            else
            {
                JsonSerializer.Serialize(writer, item, info);
            }
        }

        kept?.Written.Prune(kept.Values, kept.Count);
        writer.WriteEndObject();
    }
}

/// <summary>
/// A dictionary (ordinal keys) of lists of immutable elements whose stored JSON is kept per list while the list holds
/// the same elements (see <see cref="WrittenJson{T}"/>): the cart's and wishlist's changes per product, kept for 30 days
/// after an order, change in one product per event while a busy profile holds thousands of them.
/// </summary>
/// <remarks>
/// The lists themselves change in place (insert, fold, compact), so the bytes of a list are reused only while it holds
/// the very elements, in the same order, that they were written from: a reference comparison per element, no writing.
/// </remarks>
internal sealed class WrittenOnceGroups<T>() : Dictionary<string, List<T>>(StringComparer.Ordinal)
    where T : class
{
    // Made when the first list is kept: light profiles pay nothing.
    private Dictionary<List<T>, (T[] Elements, byte[] Bytes)>? _written;

    /// <summary>The list's JSON as <paramref name="info"/> writes it, written again only when its elements changed.</summary>
    public byte[] Utf8(List<T> list, JsonTypeInfo<List<T>> info)
    {
        _written ??= new(ReferenceEqualityComparer.Instance);
        if (_written.TryGetValue(list, out var kept) && Holds(list, kept.Elements))
        {
            return kept.Bytes;
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(list, info);
        _written[list] = ([.. list], bytes);
        return bytes;
    }

    private static bool Holds(List<T> list, T[] elements)
    {
        if (list.Count != elements.Length)
        {
            return false;
        }

        for (var i = 0; i < elements.Length; i++)
        {
            if (!ReferenceEquals(list[i], elements[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Forgets the bytes of lists no longer held, once they outnumber the live ones.</summary>
    public void Prune()
    {
        if (_written is null || _written.Count <= (Count * 2) + WrittenJson<T>.MinimumToKeep)
        {
            return;
        }

        var kept = new Dictionary<List<T>, (T[], byte[])>(Count, ReferenceEqualityComparer.Instance);
        foreach (var list in Values)
        {
            if (_written.TryGetValue(list, out var bytes))
            {
                kept[list] = bytes;
            }
        }

        _written = kept;
    }

    /// <summary>Whether the lists hold enough elements for keeping their bytes to pay.</summary>
    public bool WorthKeeping()
    {
        var n = 0;
        foreach (var list in Values)
        {
            n += list.Count;
            if (n >= WrittenJson<T>.MinimumToKeep)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Reads a JSON object of arrays into a <see cref="WrittenOnceGroups{T}"/> and writes one, copying the kept bytes of unchanged lists.</summary>
internal sealed class WrittenOnceGroupsConverter<T> : JsonConverter<Dictionary<string, List<T>>>
    where T : class
{
    public override Dictionary<string, List<T>>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"Expected an object of {typeof(T).Name} arrays, found {reader.TokenType}.");
        }

        var info = (JsonTypeInfo<List<T>>)options.GetTypeInfo(typeof(List<T>));
        var map = new WrittenOnceGroups<T>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            map[key] = JsonSerializer.Deserialize(ref reader, info) ?? throw new JsonException($"A null array of {typeof(T).Name} under '{key}'.");
        }

        return map;
    }

    public override void Write(Utf8JsonWriter writer, Dictionary<string, List<T>> value, JsonSerializerOptions options)
    {
        var info = (JsonTypeInfo<List<T>>)options.GetTypeInfo(typeof(List<T>));
        writer.WriteStartObject();
        var kept = value is WrittenOnceGroups<T> k && k.WorthKeeping() ? k : null;
        foreach (var (key, list) in value)
        {
            writer.WritePropertyName(key);
            if (kept is not null)
            {
                SharedElements.WriteKept(writer, kept.Utf8(list, info));
            }
            else
            {
                JsonSerializer.Serialize(writer, list, info);
            }
        }

        kept?.Prune();
        writer.WriteEndObject();
    }
}
