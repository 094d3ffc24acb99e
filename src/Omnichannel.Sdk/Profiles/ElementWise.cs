using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

/// <summary>
/// Writes a list or a string-keyed dictionary of elements one element at a time, each as a root value. A collection
/// written by the serializer pushes a frame for each object element, and a serializer call that pushes allocates its
/// frame array (about 300 bytes); written element by element, elements whose members are all values push nothing. Same
/// bytes as the serializer's collection converters (keys written as they are: the stored options have no key policy).
/// Only for such flat elements: one with nested objects would push, and allocate, once per element instead.
/// </summary>
internal static class ElementWise
{
    public static void WriteArray<T>(Utf8JsonWriter writer, List<T> items, JsonTypeInfo<T> info)
    {
        writer.WriteStartArray();
        foreach (var item in items)
        {
            JsonSerializer.Serialize(writer, item, info);
        }

        writer.WriteEndArray();
    }

    public static void WriteObject<T>(Utf8JsonWriter writer, Dictionary<string, T> items, JsonTypeInfo<T> info)
    {
        writer.WriteStartObject();
        foreach (var (key, item) in items)
        {
            writer.WritePropertyName(key);
            JsonSerializer.Serialize(writer, item, info);
        }

        writer.WriteEndObject();
    }
}
