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
    /// its own bytes (<see cref="OutboxCandidateConverter"/>), and a dispatch of the payload this process planned hands over
    /// a copy of it (<see cref="OutboxCandidate.Planned"/>, <see cref="KeptMessage.Copy"/>) instead of reading those bytes back.
    /// </summary>
    public static OutboxCandidate Candidate(string channel, string address, OutboundMessage message) =>
        new(channel, address, message) { Shape = message.Channel == channel ? null : message.Channel };

    /// <summary>Whether <see cref="Message"/> can read the message back: one of the SDK's own (sealed) message types.</summary>
    public static bool CanKeep(OutboundMessage message) =>
        message is EmailMessage or SmsMessage or PushMessage or WhatsAppMessage or WebhookMessage or HostEventMessage or InAppMessage;

    /// <summary>The message to hand over, a new object each call: a copy of the planned one when this process planned it, otherwise read from the stored JSON.</summary>
    public static OutboundMessage Message(OutboxCandidate c) => c.Planned is { } planned ? KeptMessage.Copy(planned) : ((c.Shape ?? c.Channel) switch
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
        Planned = KeptMessage.Keeps(planned) ? KeptMessage.Copy(planned) : null;
        _message = Planned is null ? JsonSerializer.SerializeToElement(planned, planned.GetType(), OutboxPayload.Json) : null;
    }

    public string Channel { get; init; }

    public string Address { get; init; }

    /// <summary>The message as JSON: as stored, or the planned message written (once, on first use).</summary>
    public JsonElement Message => _message ??= JsonSerializer.SerializeToElement(Planned!, Planned!.GetType(), OutboxPayload.Json);

    /// <summary>
    /// A copy of the message planned in this process, or <see langword="null"/> for one read from storage or one
    /// <see cref="KeptMessage.Keeps"/> refuses (its JSON is then written at once, as before). Never handed out itself:
    /// <see cref="OutboxPayload.Message"/> gives a copy, as reading the JSON gave a new object.
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
/// A planned message kept as an object instead of its JSON, and the copies made of it: what reading the JSON back gives, by
/// construction. A copy shares only immutable values (strings, <see cref="MessageAction"/>); its maps and lists are new
/// <see cref="Dictionary{TKey, TValue}"/> and <see cref="List{T}"/> objects with the default comparer, as the serializer
/// reads them. So neither a renderer that changes its maps after returning them nor a transport that edits what it is
/// given changes what a retry is handed (review of session 39).
/// </summary>
internal static class KeptMessage
{
    /// <summary>
    /// Whether the copy would equal the JSON read back: one of the SDK's types without a <see cref="JsonElement"/> (which
    /// may belong to a document its renderer disposes), no required value or map left null (the JSON then leaves it out,
    /// and reading it back fails or gives an empty map), and no surrogate in any text (a lone one is not kept by the JSON).
    /// </summary>
    public static bool Keeps(OutboundMessage message)
    {
        if (message.MessageId is null || message.Metadata is null || !Text(message.ProfileId) || !Text(message.Topic) || !Map(message.Metadata))
        {
            return false;
        }

        return message switch
        {
            EmailMessage e => e.From is not null && e.To is not null && e.Subject is not null && e.Headers is not null
                && Text(e.MessageId) && Text(e.From) && Text(e.ReplyTo) && Text(e.To) && Text(e.Subject) && Text(e.HtmlBody) && Text(e.TextBody) && Map(e.Headers),
            SmsMessage s => s.To is not null && s.Body is not null && Text(s.MessageId) && Text(s.To) && Text(s.From) && Text(s.Body),
            PushMessage p => p.DeviceTokens is not null && p.Title is not null && p.Body is not null && p.Data is not null
                && Text(p.MessageId) && Text(p.Title) && Text(p.Body) && Text(p.DeepLink) && Map(p.Data) && p.DeviceTokens.All(t => t is not null && Text(t)),
            WhatsAppMessage w => w.To is not null && w.TemplateParameters is not null
                && Text(w.MessageId) && Text(w.To) && Text(w.TemplateName) && Text(w.TemplateLanguage) && Text(w.Text) && w.TemplateParameters.All(t => t is not null && Text(t)),
            InAppMessage i => i.To is not null && i.Text is not null && i.Actions is not null
                && Text(i.MessageId) && Text(i.To) && Text(i.Text) && i.Actions.All(a => a is not null && a.Label is not null && Text(a.Label) && Text(a.Url)),
            _ => false,
        };

        static bool Text(string? text)
        {
            if (text is null)
            {
                return true;
            }

            var span = text.AsSpan();
            for (var i = span.IndexOfAnyInRange('\uD800', '\uDFFF'); i >= 0 && i < span.Length; i++)
            {
                if (char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
                {
                    i++; // a whole pair: kept by the JSON as it is
                }
                else if (char.IsSurrogate(span[i]))
                {
                    return false;
                }
            }

            return true;
        }

        static bool Map(IReadOnlyDictionary<string, string> map)
        {
            foreach (var (key, value) in map)
            {
                if (key is null || !Text(key) || !Text(value))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>A copy of a message <see cref="Keeps"/> accepted: new maps and lists, the same immutable values.</summary>
    public static OutboundMessage Copy(OutboundMessage message) => message switch
    {
        EmailMessage e => e with { Headers = Map(e.Headers), Metadata = Map(e.Metadata) },
        SmsMessage s => s with { Metadata = Map(s.Metadata) },
        PushMessage p => p with { DeviceTokens = new List<string>(p.DeviceTokens), Data = Map(p.Data), Metadata = Map(p.Metadata) },
        WhatsAppMessage w => w with { TemplateParameters = new List<string>(w.TemplateParameters), Metadata = Map(w.Metadata) },
        InAppMessage i => i with { Actions = new List<MessageAction>(i.Actions), Metadata = Map(i.Metadata) },
        _ => throw new InvalidOperationException($"A {message.GetType().Name} is not kept as an object."),
    };

    private static Dictionary<string, string> Map(IReadOnlyDictionary<string, string> map)
    {
        var copy = new Dictionary<string, string>(map.Count);
        foreach (var (key, value) in map)
        {
            copy[key] = value;
        }

        return copy;
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
