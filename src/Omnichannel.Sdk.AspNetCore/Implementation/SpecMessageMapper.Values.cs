using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

// Reading a message's values: its time (the Spec's clock-skew rule), its context, and typed reads with their errors.
internal sealed partial class SpecMessageMapper
{
    // The path of the first key that repeats an earlier one in the same object, depth first, or null.
    private static string? RepeatedKey(JsonElement value, string? path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                HashSet<string>? seen = null;
                foreach (var p in value.EnumerateObject())
                {
                    var at = path is null ? p.Name : path + "." + p.Name;
                    if (!(seen ??= new(StringComparer.Ordinal)).Add(p.Name))
                    {
                        return at;
                    }

                    if (RepeatedKey(p.Value, at) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (RepeatedKey(item, $"{path}[{i++}]") is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>What the refusal of text <see cref="UnreadableText"/> finds says.</summary>
    internal const string NotWellFormedText = "is not well-formed text (an unpaired surrogate, or bytes that are not UTF-8); expected well-formed Unicode text";

    // The path of the first key, or string outside context, that cannot be decoded (an unpaired surrogate, or bytes that
    // are not UTF-8), or null. A key inside context is refused too: every look-up in its object would throw. Walked with
    // an explicit stack: a request may nest 1,000 levels. Only text with an escape in it, or that is not valid UTF-8, can
    // be unreadable: the JSON parser does not check a string's bytes (audit U104: a raw 0xFF in a trait was stored as
    // U+FFFD, one in an order id was "message: could not be read").
    private static string? UnreadableText(JsonElement message)
    {
        var pending = new Stack<(JsonElement Value, string Path, bool InContext)>();
        pending.Push((message, string.Empty, false));
        while (pending.TryPop(out var item))
        {
            switch (item.Value.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in item.Value.EnumerateObject())
                    {
                        // Plain keys of plain values (most of a message) need no name, so no allocation.
                        var plainKey = IsPlainText(JsonMarshal.GetRawUtf8PropertyName(p));
                        if (plainKey && !NeedsLook(p.Value, item.InContext))
                        {
                            continue;
                        }

                        if (!Readable(p, out var name))
                        {
                            return item.Path.Length == 0 ? "message" : item.Path;
                        }

                        var path = item.Path.Length == 0 ? name : item.Path + "." + name;
                        pending.Push((p.Value, path, item.InContext || path == "context"));
                    }

                    break;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var e in item.Value.EnumerateArray())
                    {
                        if (NeedsLook(e, item.InContext))
                        {
                            pending.Push((e, $"{item.Path}[{i}]", item.InContext));
                        }

                        i++;
                    }

                    break;
                case JsonValueKind.String when !TryText(item.Value, out _):
                    return item.Path;
            }
        }

        return null;

        // Containers are walked (their keys); a string only outside context and only with an escape in it or bytes that are
        // not UTF-8.
        static bool NeedsLook(JsonElement v, bool inContext) =>
            v.ValueKind is JsonValueKind.Object or JsonValueKind.Array
            || (v.ValueKind == JsonValueKind.String && !inContext && !IsPlainText(JsonMarshal.GetRawUtf8Value(v)));

        // Valid UTF-8 without an escape: text that decodes as it stands (UTF-8 cannot encode a lone surrogate).
        static bool IsPlainText(ReadOnlySpan<byte> raw) => raw.IndexOf((byte)'\\') < 0 && System.Text.Unicode.Utf8.IsValid(raw);

        static bool Readable(JsonProperty p, out string name)
        {
            name = string.Empty;
            try
            {
                name = p.Name;
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    private static bool TryText(JsonElement v, out string? text)
    {
        try
        {
            text = v.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            text = null;
            return false;
        }
    }

    /// <summary>
    /// The Spec's clock-skew rule: <c>timestamp</c> when given with <c>originalTimestamp</c> or without <c>sentAt</c>;
    /// else <c>receivedAt − (sentAt − originalTimestamp)</c>, the original being <c>originalTimestamp</c> or else
    /// <c>timestamp</c> (the client's clock error removed); else <c>originalTimestamp</c>; else <c>receivedAt</c>.
    /// </summary>
    private DateTimeOffset? EventTime(JsonElement message, RequestFacts facts, List<ValidationError> errors)
    {
        var timestamp = Date(message, "timestamp", errors);
        var original = Date(message, "originalTimestamp", errors);
        // sentAt is the transport's stamp, not the event's: one that cannot be read only means no correction (the batch's
        // was already read that way), never the event's loss.
        var sentAt = (TryDate(message, "sentAt", out var ownSentAt) ? ownSentAt : (DateTimeOffset?)null) ?? facts.BatchSentAt;
        if (timestamp is { } ts)
        {
            // Client libraries (analytics.js, Segment's iOS and Android libraries) send the device's time as `timestamp`
            // with `sentAt` and no `originalTimestamp`: that timestamp is the original one and is corrected by the
            // device's clock error, as Segment does. A server's clock is right, so its historical timestamps stay.
            return original is null && sentAt is { } sent ? Corrected(facts.ReceivedAt, sent, ts) : ts;
        }

        if (original is { } o)
        {
            return sentAt is { } s ? Corrected(facts.ReceivedAt, s, o) : o;
        }

        return facts.ReceivedAt;
    }

    // receivedAt − (sentAt − original). Two broken client clocks (year 1 and year 9999) put it outside the dates a
    // DateTimeOffset holds, which threw and lost the message as "could not be read": such a sentAt corrects nothing,
    // like one that cannot be read, and the original time is judged as it is.
    //
    // A sentAt more than the allowed skew before the event's own time says the device's clock moved between the event
    // and its sending (segmentio/analytics-react-native#977: a batch's sentAt two weeks before its timestamp): the
    // correction puts the event in the future, where the engine refused it, and the client dropped the refusal. When
    // the time as sent is not in the future, the clock was wrong at sending, not at the event: that time is kept. When
    // it is in the future too, nothing tells when the event happened (a clock ahead at the event and set right since, or
    // a future time sent on purpose): the corrected time stands, and the engine refuses it as before.
    private DateTimeOffset Corrected(DateTimeOffset receivedAt, DateTimeOffset sentAt, DateTimeOffset original)
    {
        var skew = sentAt.UtcTicks - original.UtcTicks; // both within 0001–9999: no overflow
        var ticks = receivedAt.UtcTicks - skew;
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return original;
        }

        var latest = receivedAt + _maxClockSkew;
        var corrected = new DateTimeOffset(ticks, TimeSpan.Zero);
        return corrected > latest && original <= latest ? original : corrected;
    }

    private EventContext? Context(JsonElement c, List<ValidationError> leftOut)
    {
        if (c.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var campaign = Child(c, "campaign");
        var device = Child(c, "device");
        var os = Child(c, "os");
        var location = Child(c, "location");
        var osText = string.Join(' ', new[] { StrAt(os, "name"), StrAt(os, "version") }.Where(s => !string.IsNullOrWhiteSpace(s)));
        // Context is optional, client-made description (a utm_campaign from a URL, a device name): a value the engine
        // would refuse (too long, or with a line break) is left out rather than losing the event it describes.
        // The answer lists what was left out, by field and never by value.
        string? Fit(string? value, string field)
        {
            if (value is null || (value.Length <= _maxContextValueLength && !value.Any(char.IsControl)))
            {
                return value;
            }

            leftOut.Add(new(field, value.Length > _maxContextValueLength
                ? $"is {value.Length} characters long; at most {_maxContextValueLength} are kept, so it was left out and the rest of the message applied"
                : "has a control character (a line break, a tab…); it was left out and the rest of the message applied"));
            return null;
        }

        var result = new EventContext
        {
            Locale = Fit(StrAt(c, "locale"), "context.locale"),
            TimeZone = Fit(StrAt(c, "timezone"), "context.timezone"),
            Campaign = Fit(StrAt(campaign, "name"), "context.campaign.name"),
            UtmSource = Fit(StrAt(campaign, "source"), "context.campaign.source"),
            UtmMedium = Fit(StrAt(campaign, "medium"), "context.campaign.medium"),
            DeviceType = Fit(StrAt(device, "type"), "context.device.type"),
            Os = Fit(osText.Length > 0 ? osText : null, "context.os"),
            Country = Fit(StrAt(location, "country"), "context.location.country"),
            City = Fit(StrAt(location, "city"), "context.location.city"),

            Historical = c.TryGetProperty("historical", out var h) && h.ValueKind == JsonValueKind.True,
        };
        return result == new EventContext() ? null : result;
    }

    private static JsonElement Child(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : default;

    private static JsonObject ObjectOf(JsonElement message, string name, List<ValidationError> errors)
    {
        if (!message.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new(name, $"must be a JSON object, not {v.ValueKind.ToString().ToLowerInvariant()}"));
            return [];
        }

        if (TooDeep(v, name, 1) is { } deep)
        {
            errors.Add(new(deep, $"is nested more than {MaxCarriedDepth} levels deep; the SDK reads far fewer"));
            return [];
        }

        // A JsonObject refuses a repeated key when first read: refused here with its path, as for properties, rather than
        // as a message that "could not be read".
        if (RepeatedKey(v, name) is { } repeated)
        {
            errors.Add(new(repeated, "is a repeated key; a key may appear once in an object"));
            return [];
        }

        return JsonObject.Create(v.Clone()) ?? [];
    }

    // What System.Text.Json writes by default: a deeper object copied into the event failed as "could not be read". The
    // engine refuses far less deep objects (its MaxJsonDepth) with their path; this only keeps the copy from throwing.
    private const int MaxCarriedDepth = 64;

    // The path of the first object or array nested deeper than MaxCarriedDepth, or null. The recursion stops there.
    private static string? TooDeep(JsonElement value, string path, int depth)
    {
        if (value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
        {
            return null;
        }

        if (depth > MaxCarriedDepth)
        {
            return path;
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in value.EnumerateObject())
            {
                if (TooDeep(p.Value, path + "." + p.Name, depth + 1) is { } deeper)
                {
                    return deeper;
                }
            }
        }
        else
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (TooDeep(item, $"{path}[{i++}]", depth + 1) is { } deeper)
                {
                    return deeper;
                }
            }
        }

        return null;
    }

    private static void CopyIfAbsent(JsonElement message, string name, JsonObject properties)
    {
        if (properties[name] is null && Str(message, name) is { } value)
        {
            properties[name] = value;
        }
    }

    private static DateTimeOffset? Date(JsonElement message, string name, List<ValidationError> errors)
    {
        if (!message.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (TryDate(message, name, out var d))
        {
            return d;
        }

        errors.Add(new(name, "must be an ISO 8601 date-time such as 2026-05-01T10:00:00.000Z"));
        return null;
    }

    /// <summary>
    /// An ISO 8601 date-time: the forms System.Text.Json reads, and those it does not that clients send (a space or lower
    /// case for <c>T</c> and <c>Z</c>, <c>+0000</c>, more than 16 fraction digits). The second parser is given only text
    /// that starts with a full date: it reads a time alone ("10:00") as today by the server's own clock.
    /// </summary>
    internal static bool TryDate(JsonElement message, string name, out DateTimeOffset value)
    {
        value = default;
        if (!message.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        if (TryIsoDate(v, out value))
        {
            return true;
        }

        // Text that cannot be decoded (a lone surrogate escape) is no date: GetString threw, and a batch's sentAt read
        // here, outside any message, made the whole batch a 503 that clients resend for ever.
        if (!TryText(v, out var text) || text is null)
        {
            return false;
        }

        return text.Length >= 10 && char.IsAsciiDigit(text[0]) && char.IsAsciiDigit(text[1]) && char.IsAsciiDigit(text[2]) && char.IsAsciiDigit(text[3])
            && text[4] == '-' && char.IsAsciiDigit(text[5]) && char.IsAsciiDigit(text[6]) && text[7] == '-' && char.IsAsciiDigit(text[8]) && char.IsAsciiDigit(text[9])
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }

    /// <summary>
    /// An ISO 8601 date-time; one without an offset is UTC (<see cref="JsonElement.TryGetDateTimeOffset"/> alone would read
    /// it in the server's local time zone, so the same message would get another time on another server).
    /// </summary>
    internal static bool TryIsoDate(JsonElement v, out DateTimeOffset value)
    {
        if (v.ValueKind == JsonValueKind.String && v.TryGetDateTimeOffset(out value))
        {
            if (v.TryGetDateTime(out var dt) && dt.Kind == DateTimeKind.Unspecified)
            {
                value = new DateTimeOffset(dt, TimeSpan.Zero);
            }

            return true;
        }

        value = default;
        return false;
    }

    private static string? StrAt(JsonElement obj, string name) => obj.ValueKind == JsonValueKind.Object ? Str(obj, name) : null;

    /// <summary>
    /// A string property (numbers as their text, one text per number: some clients send numeric user ids, and one that passed
    /// through floating point sends 42 as 42.0). Text that cannot be decoded reads as
    /// absent: outside context it was refused with its path before (<see cref="UnreadableText"/>), and context is optional.
    /// </summary>
    internal static string? Str(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => TryText(v, out var text) ? text : null,
                JsonValueKind.Number => NumericKey.Text(v),
                _ => null,
            }
            : null;

    // An id of another JSON type (an object, an array, true) is the client's mistake: read as absent, an event carrying
    // another id was accepted without the person it names, and an identify linked nothing.
    private static string? IdText(JsonElement message, string name, List<ValidationError> errors)
    {
        if (message.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.String or JsonValueKind.Number or JsonValueKind.Null))
        {
            errors.Add(new(name, $"must be a string or a number, not {v.ValueKind.ToString().ToLowerInvariant()}"));
            return null;
        }

        return Str(message, name);
    }
}
