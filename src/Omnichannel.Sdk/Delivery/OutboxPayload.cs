using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Delivery;

/// <summary>What the engine writes into an outbox entry: the rendered message for each channel to try, in order.</summary>
internal sealed record OutboxPayload(string Key, string ProfileId, string? Topic, MessageClass Class, IReadOnlyList<OutboxCandidate> Candidates)
{
    /// <summary>The request, so a message held past the moment it was planned is rendered again for the moment it leaves.</summary>
    public MessageRequest? Request { get; init; }

    /// <summary>When the message was planned.</summary>
    public DateTimeOffset? QueuedAt { get; init; }

    /// <summary>
    /// The W3C trace context of the span that planned it (the tracked event's, a wake-up's, a <c>SendAsync</c> call's),
    /// so the dispatch span links back to the caller's trace although it runs later, on the dispatcher.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>
    /// Why the channels tried before a hand-over failed ("email/smtp: 550 mailbox unavailable"), carried to the process
    /// that serves the next channel, so the message's final outcome names every channel's reason, not the last one's.
    /// </summary>
    public IReadOnlyList<string>? EarlierFailures { get; init; }

    /// <summary>
    /// The keyed hashes (every key, current first) of the candidates' addresses, as planning looked them up on the
    /// suppression list: dispatch of the same payload object asks the list again with them rather than hashing again.
    /// Never written: an entry read back from storage hashes as ever.
    /// </summary>
    [JsonIgnore]
    public IReadOnlyList<(Identifier Address, IReadOnlyList<string> Hashes)>? AddressHashes { get; init; }

    /// <summary>The hashes <see cref="AddressHashes"/> holds for <paramref name="address"/>, or <see langword="null"/>.</summary>
    public IReadOnlyList<string>? HashesOf(Identifier address)
    {
        if (AddressHashes is { } known)
        {
            for (var i = 0; i < known.Count; i++)
            {
                if (known[i].Address == address)
                {
                    return known[i].Hashes;
                }
            }
        }

        return null;
    }

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new StringMapConverter() },
    };

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static OutboxPayload Deserialize(byte[] payload) =>
        JsonSerializer.Deserialize<OutboxPayload>(payload, Json) ?? throw new InvalidDataException("An outbox entry's payload is empty.");

    /// <summary>
    /// A candidate for <paramref name="message"/>. The message is not written here: the payload writes it straight into
    /// its own bytes (<see cref="OutboxCandidateConverter"/>), and a dispatch of the payload this process planned sends it as
    /// planned (<see cref="OutboxCandidate.Planned"/>) instead of reading those bytes back.
    /// </summary>
    public static OutboxCandidate Candidate(string channel, string address, OutboundMessage message) =>
        new(channel, address, message) { Shape = message.Channel == channel ? null : message.Channel };

    /// <summary>Whether <see cref="Message"/> can read the message back: one of the SDK's own (sealed) message types.</summary>
    public static bool CanKeep(OutboundMessage message) =>
        message is EmailMessage or SmsMessage or PushMessage or WhatsAppMessage or WebhookMessage or HostEventMessage or InAppMessage;

    /// <summary>The message to hand over: the planned one when this process planned it, otherwise read from the stored JSON.</summary>
    public static OutboundMessage Message(OutboxCandidate c) => c.Planned ?? ((c.Shape ?? c.Channel) switch
    {
        ChannelNames.Email => c.Message.Deserialize<EmailMessage>(Json),
        ChannelNames.Sms => c.Message.Deserialize<SmsMessage>(Json),
        ChannelNames.Push => c.Message.Deserialize<PushMessage>(Json),
        ChannelNames.WhatsApp => c.Message.Deserialize<WhatsAppMessage>(Json),
        ChannelNames.Webhook => c.Message.Deserialize<WebhookMessage>(Json),
        ChannelNames.Host => c.Message.Deserialize<HostEventMessage>(Json),
        ChannelNames.InApp => (OutboundMessage?)c.Message.Deserialize<InAppMessage>(Json),
        _ => throw new InvalidDataException($"No message shape for channel '{c.Channel}'."),
    }) ?? throw new InvalidDataException("An outbox candidate's message is empty.");
}

/// <summary>One channel to try: its address and the rendered message.</summary>
/// <remarks>
/// Equal only to itself: its message is a <see cref="JsonElement"/> (equal by document, not by content), written on first
/// use when the candidate holds the planned message.
/// </remarks>
[JsonConverter(typeof(OutboxCandidateConverter))]
internal sealed record OutboxCandidate
{
    private JsonElement? _message;

    /// <summary>A candidate read from stored JSON.</summary>
    public OutboxCandidate(string Channel, string Address, JsonElement Message)
    {
        this.Channel = Channel;
        this.Address = Address;
        _message = Message;
    }

    /// <summary>A candidate planned in this process, holding the message itself.</summary>
    public OutboxCandidate(string channel, string address, OutboundMessage planned)
    {
        Channel = channel;
        Address = address;
        Planned = Keeps(planned) ? planned : null;
        _message = Planned is null ? JsonSerializer.SerializeToElement(planned, planned.GetType(), OutboxPayload.Json) : null;
    }

    public string Channel { get; init; }

    public string Address { get; init; }

    /// <summary>The message as JSON: as stored, or the planned message written (once, on first use).</summary>
    public JsonElement Message => _message ??= JsonSerializer.SerializeToElement(Planned!, Planned!.GetType(), OutboxPayload.Json);

    /// <summary>
    /// The message planned in this process, or <see langword="null"/> for one read from storage. Only message types whose
    /// every value is the planner's own copy are held (not those with a <see cref="JsonElement"/> payload, which may belong
    /// to a document its renderer disposes): for them the JSON is written at once, as before.
    /// </summary>
    [JsonIgnore]
    public OutboundMessage? Planned { get; }

    /// <summary>
    /// The channel whose message type <see cref="Message"/> holds, when it is not <see cref="Channel"/>: a custom channel
    /// (<c>line</c>, <c>telegram</c>) is sent in one of the SDK's message types. Absent in entries written before it.
    /// </summary>
    public string? Shape { get; init; }

    /// <summary>Whether the candidate's JSON is written yet (tests).</summary>
    internal bool IsWritten => _message is not null;

    private static bool Keeps(OutboundMessage message) => message is EmailMessage or SmsMessage or PushMessage or WhatsAppMessage or InAppMessage;

    public bool Equals(OutboxCandidate? other) => ReferenceEquals(this, other);

    public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(this);

    /// <summary>Writes the message into <paramref name="writer"/>: the planned message serialised in place, or the stored JSON.</summary>
    internal void WriteMessage(Utf8JsonWriter writer, JsonSerializerOptions options)
    {
        if (_message is { } written)
        {
            written.WriteTo(writer);
        }
        else
        {
            JsonSerializer.Serialize(writer, Planned!, Planned!.GetType(), options);
        }
    }
}

/// <summary>
/// Writes and reads an <see cref="OutboxCandidate"/> as the serializer's own handling of the record did (camel-case names,
/// <c>shape</c> left out when null, names matched in any case on reading), writing a planned message straight into the
/// payload rather than into a <see cref="JsonElement"/> first.
/// </summary>
internal sealed class OutboxCandidateConverter : JsonConverter<OutboxCandidate>
{
    public override OutboxCandidate Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"Expected a JSON object for an outbox candidate, found {reader.TokenType}.");
        }

        string? channel = null, address = null, shape = null;
        JsonElement message = default;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            if (string.Equals(name, "channel", StringComparison.OrdinalIgnoreCase))
            {
                channel = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
            }
            else if (string.Equals(name, "address", StringComparison.OrdinalIgnoreCase))
            {
                address = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
            }
            else if (string.Equals(name, "message", StringComparison.OrdinalIgnoreCase))
            {
                message = JsonElement.ParseValue(ref reader);
            }
            else if (string.Equals(name, "shape", StringComparison.OrdinalIgnoreCase))
            {
                shape = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
            }
            else
            {
                reader.Skip(); // written by another version
            }
        }

        return new OutboxCandidate(channel!, address!, message) { Shape = shape };
    }

    public override void Write(Utf8JsonWriter writer, OutboxCandidate value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("channel", value.Channel);
        writer.WriteString("address", value.Address);
        writer.WritePropertyName("message");
        value.WriteMessage(writer, options);
        if (value.Shape is not null)
        {
            writer.WriteString("shape", value.Shape);
        }

        writer.WriteEndObject();
    }
}

/// <summary>
/// A message's string maps (<see cref="EmailMessage.Headers"/>, <see cref="OutboundMessage.Metadata"/>,
/// <see cref="PushMessage.Data"/>) as the serializer's own dictionary handling writes and reads them (a JSON object of
/// strings or nulls, into a <see cref="Dictionary{TKey, TValue}"/>), but read as one value: the serializer's own pushes a
/// frame for it, and the first push allocates its stack, on every message planned and dispatched.
/// </summary>
internal sealed class StringMapConverter : JsonConverter<IReadOnlyDictionary<string, string>>
{
    public override IReadOnlyDictionary<string, string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"Expected a JSON object of strings, found {reader.TokenType}.");
        }

        var map = new Dictionary<string, string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.GetString()!; // a property name: the reader allows nothing else here
            reader.Read();
            map[key] = reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString()!,
                JsonTokenType.Null => null!,
                _ => throw new JsonException($"Expected a string value for '{key}', found {reader.TokenType}."),
            };
        }

        return map;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (key, text) in value)
        {
            writer.WritePropertyName(key);
            if (text is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                writer.WriteStringValue(text);
            }
        }

        writer.WriteEndObject();
    }
}
