using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

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
        if (value is WrittenOnceList<T> { Count: >= WrittenJson<T>.MinimumToKeep } kept && !options.WriteIndented)
        {
            kept.Written.WriteList(writer, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(kept), info);
            return;
        }

        writer.WriteStartArray();
        foreach (var item in value)
        {
            ElementWise.Write(writer, item, info);
        }

        writer.WriteEndArray();
    }
}

/// <summary>Reads a JSON object into a <see cref="WrittenOnceDictionary{T}"/> and writes one, copying the kept bytes of its values.</summary>
internal sealed class WrittenOnceDictionaryConverter<T> : JsonConverter<WrittenOnceDictionary<T>>
    where T : class
{
    public override WrittenOnceDictionary<T>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
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

    public override void Write(Utf8JsonWriter writer, WrittenOnceDictionary<T> value, JsonSerializerOptions options)
    {
        var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        if (value is { Keeps: true, Count: >= WrittenJson<T>.MinimumToKeep } kept && !options.WriteIndented)
        {
            // Unchanged since its last write (no entry added, replaced or removed: every change moves the version): that
            // write's pieces again, without visiting an entry. A profile's orders change on a few of its events only.
            if (kept.Written.WriteAgain(writer, kept.Version, isObject: true, info))
            {
                return;
            }

            // Only entries added since the last write (a new order): those, after the last write's pieces.
            var added = kept.AddedSinceWritten(out var writtenVersion);
            var count = added?.Count ?? kept.Count;

            // The entries in the dictionary's own order, into arrays the thread keeps (no allocation per commit).
            var keys = t_keys is { } k && k.Length >= count ? k : new string[Math.Max(count, 64)];
            var values = t_values is { } v && v.Length >= count ? v : new T[keys.Length];
            t_keys = null;
            t_values = null;
            var n = 0;
            if (added is not null)
            {
                foreach (var key in added)
                {
                    keys[n] = key;
                    values[n++] = kept[key];
                }
            }

            try
            {
                if (added is null || !kept.Written.WriteAppended(writer, writtenVersion, values.AsSpan(0, n), keys.AsSpan(0, n), isObject: true, info, kept.Version))
                {
                    Array.Clear(keys, 0, n);
                    Array.Clear(values, 0, n);
                    if (keys.Length < kept.Count)
                    {
                        keys = new string[kept.Count];
                        values = new T[kept.Count];
                    }

                    n = 0;
                    foreach (var (key, item) in kept)
                    {
                        keys[n] = key;
                        values[n++] = item;
                    }

                    kept.Written.Write(writer, values.AsSpan(0, n), keys.AsSpan(0, n), isObject: true, info, kept.Version);
                }

                kept.MarkWritten();
            }
            finally
            {
                Array.Clear(keys, 0, n);
                Array.Clear(values, 0, n); // a thread's arrays never hold a profile's elements past its write
                if (keys.Length <= 4096)
                {
                    (t_keys, t_values) = (keys, values);
                }
            }

            return;
        }

        writer.WriteStartObject();
        foreach (var (key, item) in value)
        {
            writer.WritePropertyName(key);
            ElementWise.Write(writer, item, info);
        }

        writer.WriteEndObject();
    }

    [ThreadStatic]
    private static string[]? t_keys;

    [ThreadStatic]
    private static T[]? t_values;
}
