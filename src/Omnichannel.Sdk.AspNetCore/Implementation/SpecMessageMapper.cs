using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

/// <summary>One message turned into an event, or every reason it could not be.</summary>
internal sealed record MappedMessage(CustomerEvent? Event, IReadOnlyList<ValidationError> Errors, string? MessageId)
{
    /// <summary>The Spec field each of the event's identifiers came from (<c>userId</c>, <c>traits.email</c>…), by index.</summary>
    public IReadOnlyList<string> IdentifierFields { get; init; } = [];

    /// <summary>The Spec field the event's traits came from: <c>traits</c>, or <c>context.traits</c> (an identify with none of its own).</summary>
    public string TraitsField { get; init; } = "traits";

    /// <summary>
    /// Context the mapper left out of the event (a value too long or with a control character, a device id or a
    /// <c>context.traits</c> identifier the SDK cannot hold), in the message's own terms and never by value: answered
    /// under <c>ignored</c> with what the engine did not apply.
    /// </summary>
    public IReadOnlyList<ValidationError> LeftOut { get; init; } = [];

    private const string EngineTimeZoneField = "context.timeZone";

    /// <summary>
    /// The engine's errors (and the parts it ignored) in the terms of the message the client sent:
    /// <c>identifiers[1].value</c> names the field the identifier came from (<c>traits.email</c>), <c>traits.…</c> the
    /// object they came from (<c>context.traits.…</c>), and <c>context.timeZone</c> is the Spec's <c>context.timezone</c>;
    /// every other field is the same in both.
    /// </summary>
    public IReadOnlyList<ValidationError> InMessageTerms(IReadOnlyList<ValidationError> errors)
    {
        var traitsMoved = TraitsField != "traits" && errors.Any(e => IsTraitsField(e.Field));
        if (!traitsMoved && !errors.Any(e => e.Field == EngineTimeZoneField) && (IdentifierFields.Count == 0 || !errors.Any(e => e.Field.StartsWith("identifiers[", StringComparison.Ordinal))))
        {
            return errors;
        }

        return [.. errors.Select(e =>
        {
            if (traitsMoved && IsTraitsField(e.Field))
            {
                // Review of audit U65: a key of an identify's context.traits refused at "traits.a.a…" named a field the
                // message did not have.
                return e with { Field = TraitsField + e.Field["traits".Length..] };
            }

            if (e.Field == EngineTimeZoneField)
            {
                // The engine names EventContext's property; the client sent the Spec's context.timezone.
                return e with { Field = "context.timezone" };
            }

            var close = e.Field.IndexOf(']', StringComparison.Ordinal);
            return e.Field.StartsWith("identifiers[", StringComparison.Ordinal) && close > 12
                && int.TryParse(e.Field.AsSpan(12, close - 12), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)
                && i < IdentifierFields.Count
                ? e with { Field = IdentifierFields[i] }
                : e;
        })];
    }

    private static bool IsTraitsField(string field) =>
        field.StartsWith("traits", StringComparison.Ordinal) && (field.Length == 6 || field[6] is '.' or '[');
}

/// <summary>What a request knows beyond its messages.</summary>
internal readonly record struct RequestFacts(TrackingWriteKey Source, DateTimeOffset ReceivedAt, DateTimeOffset? BatchSentAt, string? RemoteIp);

/// <summary>
/// Turns one Segment-Spec message (<see href="https://segment.com/docs/connections/spec/common/"/>) into a
/// <see cref="CustomerEvent"/>, following <see cref="TrackingMapping"/>. Pure: no clock, no I/O.
/// </summary>
internal sealed partial class SpecMessageMapper
{
    private static readonly string[] CallTypes = ["track", "identify", "page", "screen", "alias", "group"];

    private readonly TrackingApiOptions _options;
    private readonly TrackingMapping _map;

    private readonly int _maxContextValueLength;

    private readonly IdentityOptions? _identity;

    // The engine's MaxClockSkew: a clock correction that lands further ahead than this is no correction (see Corrected).
    private readonly TimeSpan _maxClockSkew;

    // TrackEvents by folded name (see FoldedEventName), for the spellings an exact lookup misses.
    private readonly Dictionary<string, string> _foldedTrackEvents;

    public SpecMessageMapper(TrackingApiOptions options, int maxContextValueLength = 256, IdentityOptions? identity = null, TimeSpan? maxClockSkew = null)
    {
        _options = options;
        _map = options.Mapping;
        _maxContextValueLength = maxContextValueLength;
        _identity = identity;
        _maxClockSkew = maxClockSkew ?? TimeSpan.FromMinutes(5);
        _foldedTrackEvents = FoldedTrackEvents(_map.TrackEvents);
    }

    /// <summary>Maps a message.</summary>
    /// <param name="message">The message object.</param>
    /// <param name="callType">The call its path names (<c>/track</c>…), or <see langword="null"/> inside a batch (then <c>type</c> says).</param>
    /// <param name="facts">The source, arrival time, batch <c>sentAt</c> and remote address.</param>
    public MappedMessage Map(JsonElement message, string? callType, RequestFacts facts)
    {
        var errors = new List<ValidationError>();
        if (message.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("message", $"must be a JSON object, not {message.ValueKind.ToString().ToLowerInvariant()}"));
            return new(null, errors, null);
        }

        try
        {
            // Text with an unpaired surrogate (an escape such as \ud800) cannot be decoded: refused with its path, where it
            // would otherwise fail the first read of it as "could not be read". Context is read leniently instead.
            if (UnreadableText(message) is { } unreadable)
            {
                errors.Add(new(unreadable, "is not well-formed text (an unpaired surrogate); expected well-formed Unicode text"));
                return new(null, errors, null);
            }

            // A repeated key in properties has no agreed meaning (RFC 8259, section 4) and a JsonObject refuses one: this
            // message is rejected with the key's path, as the engine rejects such an event, and the others of a batch go on.
            if (message.TryGetProperty("properties", out var properties) && RepeatedKey(properties, "properties") is { } repeated)
            {
                errors.Add(new(repeated, "is a repeated key; a key may appear once in an object"));
                return new(null, errors, null);
            }

            return MapChecked(message, callType, facts, errors);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or OutOfMemoryException))
        {
            // A message this mapper cannot read is this message's problem, not the store's: a 503 would have the client
            // send the whole batch again for ever.
            errors.Add(new("message", $"could not be read ({ex.GetType().Name})"));
            return new(null, errors, null);
        }
    }

    private MappedMessage MapChecked(JsonElement message, string? callType, RequestFacts facts, List<ValidationError> errors)
    {

        var type = callType ?? Str(message, "type")?.Trim().ToLowerInvariant();
        if (type is null || Array.IndexOf(CallTypes, type) < 0)
        {
            errors.Add(new("type", "must be one of track, identify, page, screen, alias, group"));
        }

        var messageId = Str(message, "messageId");
        if (string.IsNullOrWhiteSpace(messageId))
        {
            // No messageId (the Spec's libraries always send one; a blank one is none): the same message sent again gets
            // the same id. The transport's own stamps (sentAt, writeKey) change from one attempt to the next, so they are
            // left out of it.
            messageId = ContentId(message);
        }
        else if (messageId.Length > 200)
        {
            errors.Add(new("messageId", $"is {messageId.Length} characters long; at most 200 are allowed"));
        }

        var timestamp = EventTime(message, facts, errors);
        var leftOut = new List<ValidationError>();
        var (identifiers, identifierFields) = Identifiers(message, type, errors, leftOut);
        var context = message.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;

        string? eventType = null;
        JsonObject? properties = null;
        JsonElement traits = default;
        var traitsField = "traits";
        switch (type)
        {
            case "track":
                var name = Str(message, "event");
                if (string.IsNullOrWhiteSpace(name))
                {
                    errors.Add(new("event", "is required for a track call"));
                    break;
                }

                if (_map.TrackEvents.TryGetValue(name.Trim(), out var mapped)
                    || (FoldedEventName(name) is { } folded && _foldedTrackEvents.TryGetValue(folded, out mapped)))
                {
                    eventType = mapped;
                }
                else if ((eventType = Names.NormalizeCustom(name, _map.CustomEventPrefix)) is null)
                {
                    errors.Add(new("event", "has no letter or digit to make an event type of"));
                }

                properties = ObjectOf(message, "properties", errors);
                if (eventType is not null)
                {
                    ApplyWellKnown(eventType, properties);
                    ApplyEmailSpec(name, eventType, properties, leftOut);
                }

                break;
            case "identify":
                eventType = _map.IdentifyEventType;
                // RudderStack's JavaScript and mobile SDKs send an identify's traits in context.traits only (their spec; a
                // trait mapping reads `traits`, else `context.traits`): without this the identify set nothing but the email.
                var ownTraits = ObjectOf(message, "traits", errors);
                if (ownTraits.Count == 0 && Child(context, "traits") is { ValueKind: JsonValueKind.Object } contextTraits)
                {
                    if (TooDeep(contextTraits, "context.traits", 1) is { } deep)
                    {
                        errors.Add(new(deep, $"is nested more than {MaxCarriedDepth} levels deep; the SDK reads far fewer"));
                        break;
                    }

                    // Read leniently as context, but here they are the identify's traits: text they cannot hold is refused.
                    if (UnreadableText(contextTraits) is { } unreadable)
                    {
                        errors.Add(new("context.traits." + unreadable, "is not well-formed text (an unpaired surrogate); expected well-formed Unicode text"));
                        break;
                    }

                    ownTraits = JsonObject.Create(contextTraits.Clone()) ?? [];
                    traitsField = "context.traits";
                }

                traits = JsonSerializer.SerializeToElement(ownTraits);
                properties = [];
                break;
            case "page":
            case "screen":
                eventType = type == "page" ? _map.PageEventType : _map.ScreenEventType;
                properties = ObjectOf(message, "properties", errors);
                CopyIfAbsent(message, "name", properties);
                CopyIfAbsent(message, "category", properties);
                break;
            case "alias":
                eventType = _map.AliasEventType;
                properties = [];
                break;
            case "group":
                eventType = _map.GroupEventType;
                var groupId = Str(message, "groupId");
                if (string.IsNullOrWhiteSpace(groupId))
                {
                    errors.Add(new("groupId", "is required for a group call"));
                }

                properties = new JsonObject { ["group_id"] = groupId };
                if (ObjectOf(message, "traits", errors) is { Count: > 0 } groupTraits)
                {
                    properties["group_traits"] = groupTraits;
                }

                break;
        }

        if (errors.Count > 0)
        {
            return new(null, errors, messageId);
        }

        properties ??= [];
        properties["tracking_source"] = facts.Source.Source;
        if (_options.StoreIpAddress && (StrAt(context, "ip") ?? facts.RemoteIp) is { Length: > 0 } ip)
        {
            properties["ip"] = ip;
        }

        return new(new CustomerEvent
        {
            Id = messageId,
            Type = eventType!,
            Timestamp = timestamp!.Value,
            Identifiers = identifiers,
            Channel = facts.Source.Channel,
            Context = Context(context, leftOut),
            Properties = JsonSerializer.SerializeToElement(properties),
            Traits = traits,
        }, [], messageId) { IdentifierFields = identifierFields, TraitsField = traitsField, LeftOut = leftOut };
    }

    private static readonly string[] TransportFields = ["sentAt", "writeKey", "receivedAt"];

    // The id of a message without messageId: a SHA-256 of its members, each name and raw value length-prefixed, but for
    // the fields a client sets anew on every attempt.
    private static string ContentId(JsonElement message)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        static void Append(IncrementalHash hash, ReadOnlySpan<byte> bytes)
        {
            Span<byte> length = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }

        foreach (var p in message.EnumerateObject())
        {
            if (Array.IndexOf(TransportFields, p.Name) >= 0)
            {
                continue;
            }

            Append(hash, Encoding.UTF8.GetBytes(p.Name));
            Append(hash, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(p.Value));
        }

        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset())[..40];
    }

    private (List<Identifier> Identifiers, List<string> Fields) Identifiers(JsonElement message, string? type, List<ValidationError> errors, List<ValidationError> leftOut)
    {
        var ids = new List<Identifier>();
        var fields = new List<string>(); // where each came from, so the engine's errors name what the client sent
        void Add(string idType, string? value, string field)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                var id = new Identifier(idType, value);
                if (!ids.Contains(id))
                {
                    ids.Add(id);
                    fields.Add(field);
                }
            }
        }

        var userId = IdText(message, "userId", errors);
        var anonymousId = IdText(message, "anonymousId", errors);
        Add(_map.UserIdType, userId, "userId");
        if (type == "alias")
        {
            var previousId = IdText(message, "previousId", errors);
            if (string.IsNullOrWhiteSpace(previousId))
            {
                errors.Add(new("previousId", "is required for an alias call"));
            }

            if (string.IsNullOrWhiteSpace(userId))
            {
                errors.Add(new("userId", "is required for an alias call"));
            }

            Add(_map.AliasPreviousIdType, previousId, "previousId");
        }
        else if (string.IsNullOrWhiteSpace(userId) && string.IsNullOrWhiteSpace(anonymousId))
        {
            errors.Add(new("userId", "userId or anonymousId is required"));
        }

        Add(_map.AnonymousIdType, anonymousId, "anonymousId");
        if (message.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object)
        {
            var device = context.TryGetProperty("device", out var d) && d.ValueKind == JsonValueKind.Object ? d : default;

            // Audit U73: context.device.token is the device's push token (Segment Spec, common fields: "device.token"), the
            // address the push channel sends to (DeviceTokenType, device_id by default). With a usable token, a device id
            // mapped to the same type is left out: two addresses of one device seen at the same instant left the push to a
            // tie, which the id (not a token at all) could win.
            var deviceToken = _map.DeviceTokenType is { } tokenType && device.ValueKind == JsonValueKind.Object
                && Str(device, "token") is { } token && !string.IsNullOrWhiteSpace(token) ? token : null;
            if (deviceToken is not null && !Usable(_map.DeviceTokenType!, deviceToken))
            {
                leftOut.Add(new("context.device.token", Unusable(_map.DeviceTokenType!, deviceToken)));
                deviceToken = null;
            }

            if (deviceToken is not null)
            {
                Add(_map.DeviceTokenType!, deviceToken, "context.device.token");
            }

            if (_map.DeviceIdType is { } deviceType && device.ValueKind == JsonValueKind.Object && Str(device, "id") is { } deviceId)
            {
                if (deviceToken is not null && deviceType == _map.DeviceTokenType)
                {
                    if (!string.IsNullOrWhiteSpace(deviceId) && !string.Equals(deviceId.Trim(), deviceToken.Trim(), StringComparison.Ordinal))
                    {
                        leftOut.Add(new("context.device.id", $"context.device.token is this device's {deviceType} (its push address); set DeviceIdType to a type of its own to keep the id too"));
                    }
                }
                else if (Usable(deviceType, deviceId))
                {
                    // Context describes the device: an id no identifier can hold is left out, as an unusable email in
                    // context.traits is, rather than refusing the event it rides on (and the answer says so).
                    Add(deviceType, deviceId, "context.device.id");
                }
                else if (!string.IsNullOrWhiteSpace(deviceId))
                {
                    leftOut.Add(new("context.device.id", Unusable(deviceType, deviceId)));
                }
            }

            if (context.TryGetProperty("traits", out var contextTraits))
            {
                // context.traits describes the user (mobile libraries copy her stored traits onto every event): a value
                // the SDK cannot use as an identifier is left out instead of refusing the event it rides on.
                AddTraitIdentifiers(contextTraits, "context.traits.", skipUnusable: true);
            }
        }

        if (type == "identify" && message.TryGetProperty("traits", out var traits))
        {
            AddTraitIdentifiers(traits, "traits.");
        }

        return (ids, fields);

        void AddTraitIdentifiers(JsonElement traitObject, string prefix, bool skipUnusable = false)
        {
            if (traitObject.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            foreach (var (trait, idType) in _map.TraitIdentifiers)
            {
                // Segment reads a trait such as email whatever its case (segmentio/facade#4: "Email", as HubSpot-style
                // forms name it); an exact key wins, else the first that differs only in case.
                var key = trait;
                var value = Str(traitObject, trait) ?? StrIgnoringCase(traitObject, trait, out key);
                if (skipUnusable && value is not null && !Usable(idType, value))
                {
                    if (!string.IsNullOrWhiteSpace(value))
                    {
                        leftOut.Add(new(prefix + key, Unusable(idType, value)));
                    }

                    continue;
                }

                Add(idType, value, prefix + key);
            }
        }
    }

    // The longest identifier value the engine accepts (its validator's limit, before and after normalisation).
    private const int MaxIdentifierLength = 256;

    // Says which of Usable's checks failed (the newcomer's "not-an-email" is not over-long), never quoting the value.
    private static string Unusable(string idType, string value)
    {
        var v = value.Trim();
        var why = v.Length > MaxIdentifierLength ? $"is {v.Length} characters long (at most {MaxIdentifierLength})"
            : v.Any(char.IsControl) ? "has a control character (a line break, a tab…)"
            : $"is not a valid {idType}";
        var article = idType.Length > 0 && "aeiou".Contains(char.ToLowerInvariant(idType[0]), StringComparison.Ordinal) ? "an" : "a";
        return $"{why}, so it cannot be used as {article} {idType} identifier; left out, the rest of the message was applied";
    }

    /// <summary>
    /// Whether the engine can hold <paramref name="value"/> as an identifier of <paramref name="idType"/>: not longer than
    /// it accepts, no control character, and normalised by the type's rule when the engine's options are known. Used
    /// for identifiers that context carries, which are left out when not.
    /// </summary>
    private bool Usable(string idType, string value)
    {
        var v = value.Trim();
        if (v.Length > MaxIdentifierLength || v.Any(char.IsControl))
        {
            return false;
        }

        return _identity is not { } identity || !identity.Rules.TryGetValue(idType, out var rule) || rule.Normalizer is not { } normalize
            || normalize(v, identity, out _, out _);
    }
}
