using System.Text.Json;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// What crosses a grain call: the SDK's own JSON forms (events, results, identifiers) and the stored profile document,
/// so no Orleans attribute is needed on the core's types and a silo of one version reads what another wrote.
/// </summary>
internal static class ClusterJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General) { Converters = { new OptionalElement() } };

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Read<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidDataException($"A cluster message held no {typeof(T).Name}.");

    /// <summary>An event as sent: <see langword="null"/> (the engine rejects it with a clear error) stays null.</summary>
    public static CustomerEvent? ReadEvent(string json) => JsonSerializer.Deserialize<CustomerEvent>(json, Options);

    public static string WriteIdentifier(Identifier identifier) => JsonSerializer.Serialize(new[] { identifier.Type, identifier.Value }, Options);

    public static Identifier ReadIdentifier(string json)
    {
        var parts = JsonSerializer.Deserialize<string?[]>(json, Options) ?? [];
        return new Identifier(parts.ElementAtOrDefault(0)!, parts.ElementAtOrDefault(1)!);
    }

    /// <summary>A profile as its stored document, preceded by its store version (8 bytes, little-endian).</summary>
    public static byte[] WriteProfile(CustomerProfile profile)
    {
        var document = ProfileSerializer.Serialize(profile);
        var message = new byte[8 + document.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(message, profile.Version);
        document.CopyTo(message, 8);
        return message;
    }

    public static CustomerProfile ReadProfile(byte[] message) =>
        ProfileSerializer.Deserialize(message[8..], System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(message));

    /// <summary>An event's properties and traits may be absent (an undefined element): absent travels as null.</summary>
    private sealed class OptionalElement : System.Text.Json.Serialization.JsonConverter<JsonElement>
    {
        public override bool HandleNull => true;

        public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                return default;
            }

            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.Clone();
        }

        public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options)
        {
            if (value.ValueKind == JsonValueKind.Undefined)
            {
                writer.WriteNullValue();
            }
            else
            {
                value.WriteTo(writer);
            }
        }
    }
}
