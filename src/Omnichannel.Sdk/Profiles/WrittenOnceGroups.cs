using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

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
    public override Dictionary<string, List<T>>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        KeyedListsReader.Read<T, WrittenOnceGroups<T>>(ref reader, options);

    public override void Write(Utf8JsonWriter writer, Dictionary<string, List<T>> value, JsonSerializerOptions options)
    {
        var info = (JsonTypeInfo<List<T>>)options.GetTypeInfo(typeof(List<T>));
        JsonTypeInfo<T>? itemInfo = null;
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
                ElementWise.WriteArray(writer, list, itemInfo ??= (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T))); // cart and wishlist changes: flat records
            }
        }

        kept?.Prune();
        writer.WriteEndObject();
    }
}

/// <summary>
/// A dictionary (ordinal keys) of lists of immutable elements, each list's stored JSON kept in runs (see
/// <see cref="WrittenJson{T}"/>): the segment rule history's events per type, which gain about one event per commit while a
/// long-lived customer's history holds hundreds. The runs belong to the key, not to the list object, since a list may be
/// replaced by a copy holding the same elements.
/// </summary>
internal sealed class WrittenOnceLists<T>() : Dictionary<string, List<T>>(StringComparer.Ordinal)
    where T : class
{
    // Made when the first list is long enough to keep: light profiles pay nothing.
    private Dictionary<string, WrittenJson<T>>? _written;

    /// <summary>The kept runs of the list under <paramref name="key"/>.</summary>
    public WrittenJson<T> WrittenFor(string key)
    {
        _written ??= new(StringComparer.Ordinal);
        if (!_written.TryGetValue(key, out var written))
        {
            written = new WrittenJson<T>();
            _written[key] = written;
        }

        return written;
    }

    /// <summary>Forgets the runs of keys no longer held.</summary>
    public void Prune()
    {
        if (_written is null || _written.Count <= Count)
        {
            return;
        }

        foreach (var key in _written.Keys.ToArray())
        {
            if (!ContainsKey(key))
            {
                _written.Remove(key);
            }
        }
    }
}

/// <summary>Reads a JSON object of arrays into a <see cref="WrittenOnceLists{T}"/> and writes one, the long arrays from their kept runs.</summary>
internal sealed class WrittenOnceListsConverter<T> : JsonConverter<Dictionary<string, List<T>>>
    where T : class
{
    public override Dictionary<string, List<T>>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        KeyedListsReader.Read<T, WrittenOnceLists<T>>(ref reader, options);

    public override void Write(Utf8JsonWriter writer, Dictionary<string, List<T>> value, JsonSerializerOptions options)
    {
        var kept = value is WrittenOnceLists<T> k && !options.WriteIndented ? k : null;
        var info = kept is null ? null : (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        writer.WriteStartObject();
        foreach (var (key, list) in value)
        {
            writer.WritePropertyName(key);
            if (kept is not null && list.Count >= WrittenJson<T>.MinimumToKeep)
            {
                kept.WrittenFor(key).Write(writer, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list), default, isObject: false, info!);
            }
            else
            {
                ElementWise.WriteArray(writer, list, info ??= (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T))); // no frame pushed per list
            }
        }

        writer.WriteEndObject();
        kept?.Prune();
    }
}

/// <summary>Reads a JSON object of arrays (or null) into a keyed-lists dictionary of the kind that keeps their bytes.</summary>
internal static class KeyedListsReader
{
    public static TMap? Read<T, TMap>(ref Utf8JsonReader reader, JsonSerializerOptions options)
        where T : class
        where TMap : Dictionary<string, List<T>>, new()
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
        var map = new TMap();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            reader.Read();
            map[key] = JsonSerializer.Deserialize(ref reader, info) ?? throw new JsonException($"A null array of {typeof(T).Name} under '{key}'.");
        }

        return map;
    }
}
