using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

/// <summary>
/// Writes a list or a string-keyed dictionary of elements one element at a time, each as a root value. A collection
/// written by the serializer pushes a frame for each object element, and a serializer call that pushes allocates its
/// frame array (about 300 bytes); written element by element, elements whose members are all values push nothing. Same
/// bytes as the serializer's collection converters (keys written as they are: the stored options have no key policy).
/// Each element is written by its type's compiled contract writer (<see cref="ContractWriter"/>), which pushes no frame at
/// all, so elements with nested objects allocate nothing either; with <see cref="ProfileSerializer.UseSerializer"/> (the
/// tests' reference), by the serializer.
/// </summary>
internal static class ElementWise
{
    /// <summary>Writes one element as the serializer writes it as a root value under <paramref name="info"/>.</summary>
    public static void Write<T>(Utf8JsonWriter writer, T item, JsonTypeInfo<T> info)
    {
        if (ProfileSerializer.UseSerializer)
        {
            JsonSerializer.Serialize(writer, item, info);
            return;
        }

        try
        {
            ContractWriter.For(info).Invoke(writer, item);
        }
        catch (InvalidOperationException e) when (writer.CurrentDepth >= (writer.Options.MaxDepth == 0 ? 1000 : writer.Options.MaxDepth))
        {
            // The serializer checks the depth itself and throws JsonException; the writer's own check throws this.
            throw new JsonException($"The element is nested deeper than the maximum depth of {writer.CurrentDepth}.", e);
        }
    }

    public static void WriteArray<T>(Utf8JsonWriter writer, List<T> items, JsonTypeInfo<T> info)
    {
        writer.WriteStartArray();
        foreach (var item in items)
        {
            Write(writer, item, info);
        }

        writer.WriteEndArray();
    }

    public static void WriteObject<T>(Utf8JsonWriter writer, Dictionary<string, T> items, JsonTypeInfo<T> info)
    {
        writer.WriteStartObject();
        foreach (var (key, item) in items)
        {
            writer.WritePropertyName(key);
            Write(writer, item, info);
        }

        writer.WriteEndObject();
    }
}
