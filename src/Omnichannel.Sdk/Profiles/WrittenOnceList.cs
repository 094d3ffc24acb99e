using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

/// <summary>
/// A list of immutable elements that keeps each element's stored JSON once it has been written. A profile's timeline
/// (up to <see cref="OmnichannelOptions.TimelineLength"/> entries) changes by about one entry per event, yet every commit
/// writes the whole document: with this, the unchanged entries are copied as bytes instead of being serialised again.
/// </summary>
/// <remarks>Elements must never change after they are added (records with init-only members). Lists shorter than
/// <see cref="MinimumToKeep"/> keep nothing, so light profiles pay no memory for it.</remarks>
internal sealed class WrittenOnceList<T> : List<T>
    where T : class
{
    /// <summary>Below this many elements, writing is cheap enough that keeping bytes is not worth their memory.</summary>
    public const int MinimumToKeep = 16;

    private Dictionary<T, byte[]>? _written;

    /// <summary>The element's JSON as <paramref name="info"/> writes it, from the first time it was written.</summary>
    public byte[] Utf8(T item, JsonTypeInfo<T> info)
    {
        _written ??= new Dictionary<T, byte[]>(ReferenceEqualityComparer.Instance);
        if (!_written.TryGetValue(item, out var bytes))
        {
            bytes = JsonSerializer.SerializeToUtf8Bytes(item, info);
            _written[item] = bytes;
        }

        return bytes;
    }

    /// <summary>Forgets the bytes of elements no longer in the list (after trims), once they outnumber the list.</summary>
    public void Prune()
    {
        if (_written is null || _written.Count <= (Count * 2) + MinimumToKeep)
        {
            return;
        }

        var kept = new Dictionary<T, byte[]>(Count, ReferenceEqualityComparer.Instance);
        foreach (var item in this)
        {
            if (_written.TryGetValue(item, out var bytes))
            {
                kept[item] = bytes;
            }
        }

        _written = kept;
    }
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
        if (value is WrittenOnceList<T> { Count: >= WrittenOnceList<T>.MinimumToKeep } kept)
        {
            foreach (var item in kept)
            {
                writer.WriteRawValue(kept.Utf8(item, info), skipInputValidation: true); // written by the same options before
            }

            kept.Prune();
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
