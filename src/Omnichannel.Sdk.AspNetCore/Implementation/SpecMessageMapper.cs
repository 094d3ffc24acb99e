using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

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
            // Text with an unpaired surrogate (an escape such as \ud800) or bytes that are not UTF-8 cannot be decoded:
            // refused with its path, where it would otherwise fail the first read of it as "could not be read", or be
            // stored with U+FFFD in its place. Context is read leniently instead.
            if (UnreadableText(message) is { } unreadable)
            {
                errors.Add(new(unreadable, NotWellFormedText));
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
                        errors.Add(new("context.traits." + unreadable, NotWellFormedText));
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
}
