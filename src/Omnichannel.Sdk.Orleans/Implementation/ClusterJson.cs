using System.Text.Json;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// What crosses a grain call: the SDK's own JSON forms (events, results, identifiers) and the stored profile document,
/// so no Orleans attribute is needed on the core's types and a silo of one version reads what another wrote.
/// </summary>
internal static class ClusterJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General) { Converters = { new OptionalElement(), new ExactText() } };

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

    /// <summary>
    /// Text exactly as given, unpaired surrogates included: System.Text.Json writes one as U+FFFD, so an event id or
    /// identifier the engine refuses ("an unpaired surrogate") reached the silo as another, valid one and was accepted
    /// there (and two such ids became one). Well-formed text goes as usual; other text as a JSON string with the lone
    /// surrogates escaped, read back by hand (the reader refuses such an escape).
    /// </summary>
    private sealed class ExactText : System.Text.Json.Serialization.JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String || !reader.ValueIsEscaped)
            {
                return reader.GetString();
            }

            try
            {
                return reader.GetString();
            }
            catch (InvalidOperationException)
            {
                // An escaped unpaired surrogate, as Write spells one: unescape by hand below.
            }

            var raw = System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);
            var text = new System.Text.StringBuilder(raw.Length);
            for (var i = 0; i < raw.Length; i++)
            {
                if (raw[i] != '\\')
                {
                    text.Append(raw[i]);
                }
                else if (raw[++i] == 'u')
                {
                    text.Append((char)Convert.ToUInt16(raw.Substring(i + 1, 4), 16));
                    i += 4;
                }
                else
                {
                    text.Append(raw[i] switch { 'b' => '\b', 'f' => '\f', 'n' => '\n', 'r' => '\r', 't' => '\t', var c => c }); // \" \\ \/ as themselves
                }
            }

            return text.ToString();
        }

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
        {
            if (!HasLoneSurrogate(value))
            {
                writer.WriteStringValue(value);
                return;
            }

            var literal = new System.Text.StringBuilder(value.Length + 16).Append('"');
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    literal.Append(c).Append(value[++i]);
                }
                else if (char.IsSurrogate(c) || c < ' ' || c is '"' or '\\')
                {
                    literal.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    literal.Append(c);
                }
            }

            writer.WriteRawValue(literal.Append('"').ToString(), skipInputValidation: true);
        }

        private static bool HasLoneSurrogate(string value)
        {
            for (var i = 0; i < value.Length; i++)
            {
                if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    i++;
                }
                else if (char.IsSurrogate(value[i]))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
