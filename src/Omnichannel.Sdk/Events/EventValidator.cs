using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Omnichannel.Sdk;

/// <summary>An event that passed validation, with its identifiers normalised.</summary>
internal sealed record ValidatedEvent(CustomerEvent Event, IReadOnlyList<Identifier> Identifiers);

/// <summary>Checks an event and reports every problem with the field it concerns.</summary>
internal sealed partial class EventValidator
{
    private static readonly HashSet<string> BuiltInBlocked = new(StringComparer.OrdinalIgnoreCase)
    {
        string.Empty, "null", "undefined", "anonymous", "guest", "0", "-1", "none", "nil", "n/a",

        // What a JavaScript tag sends when it stringifies the wrong thing: every visitor would share one of these, and
        // one profile would absorb them all.
        "[object Object]", "NaN", "Infinity", "-Infinity", "true", "false",

        // What a tag sends when its template placeholder or a field's name is written in place of the value (the ids
        // PostHog refuses to merge on for the same reason).
        "id", "email", "distinct_id", "distinctid", "not_authenticated",
    };

    /// <summary>The earliest event time accepted: windows, anniversaries and durations are computed back from event times.</summary>
    internal static readonly DateTimeOffset EarliestTimestamp = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The earliest instant a report on a message (<c>message.sent</c>, <c>delivered</c>, <c>failed</c>, <c>skipped</c>,
    /// <c>bounced</c>, <c>opened</c>, <c>clicked</c>, <c>replied</c>, <c>unsubscribed</c>, <c>complained</c>) may carry:
    /// 2000-01-01 UTC. Earlier, it is a provider's unset time, refused with its path (audit U77).
    /// </summary>
    internal static readonly DateTimeOffset EarliestReportTimestamp = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The most identifiers one event may carry (each is resolved and may be linked to the profile).</summary>
    internal const int MaxIdentifiers = 100;

    /// <summary>The longest identifier value accepted, in characters, before and after normalisation.</summary>
    internal const int MaxIdentifierLength = 256;

    private static readonly JsonElement NoProperties = JsonDocument.Parse("{}").RootElement.Clone();

    private readonly OmnichannelOptions _options;

    public EventValidator(OmnichannelOptions options) => _options = options;

    /// <summary>The engine's transports: a registered identifier type names a channel only when one serves it.</summary>
    internal Delivery.DeliverySetup? Delivery { get; set; }

    /// <summary>Event type names: <c>lower.dotted_names</c>. Segment definitions use the same rule.</summary>
    [GeneratedRegex("^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$")]
    internal static partial Regex TypePattern();

    /// <summary>Channel names. Segment definitions use the same rule.</summary>
    [GeneratedRegex("^[a-z][a-z0-9_-]*$")]
    internal static partial Regex ChannelPattern();

    /// <summary>
    /// Whether a value of <paramref name="type"/> never matches: a built-in placeholder, a value the host blocked (in the
    /// spelling the host wrote it, or in the type's normalised form of it, so a blocked <c>(415) 555-0100</c> is also
    /// <c>+14155550100</c>), a number of zeros in any notation, or a phone number whose national part is only zeros.
    /// </summary>
    public bool IsBlocked(string type, string value)
    {
        var v = value.Trim();
        if (BuiltInBlocked.Contains(v) || _options.Identity.BlockedValues.Contains(v))
        {
            return true;
        }

        if (_options.Identity.BlockedValues.Count > 0 && HostBlocked().TryGetValue(type, out var normalizedBlocked) && normalizedBlocked.Contains(v))
        {
            return true;
        }

        // All zeros, also as a phone number (+000000000) or with the separators people write numbers with.
        var sawDigit = false;
        var otherDigits = 0;
        foreach (var c in v)
        {
            if (c == '0')
            {
                sawDigit = true;
            }
            else if (char.IsAsciiDigit(c))
            {
                otherDigits++;
            }
            else if (c is not ('+' or '-' or ' ' or '(' or ')' or '.' or '/'))
            {
                return false;
            }
        }

        // A phone number in E.164 whose national part is all zeros (+10000000000: the placeholder "(000) 000-0000" of a
        // shop in North America): only its country code (one to three digits) is not zero.
        return otherDigits == 0 ? sawDigit : type == IdentifierTypes.Phone && otherDigits <= 3 && v.StartsWith('+') && IsZeroPhone(v);
    }

    private static bool IsZeroPhone(string value)
    {
        try
        {
            return PhoneNumbers.PhoneNumberUtil.GetInstance().Parse(value, "ZZ").NationalNumber == 0;
        }
        catch (PhoneNumbers.NumberParseException)
        {
            return false;
        }
    }

    // The host's blocked values in each type's normalised form, rebuilt when the set changes size (options are set before
    // the engine starts; the count is a cheap guard should a host add one later).
    private BlockedSnapshot? _hostBlocked;

    private Dictionary<string, HashSet<string>> HostBlocked()
    {
        var blocked = _options.Identity.BlockedValues;
        if (_hostBlocked is { } known && known.Count == blocked.Count)
        {
            return known.ByType;
        }

        var byType = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (type, rule) in _options.Identity.RuleTable)
        {
            if (rule.Normalizer is not { } normalize)
            {
                continue;
            }

            var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var raw in blocked.ToArray())
            {
                var trimmed = IdentifierText.Trim(raw);
                if (trimmed.Length > 0 && normalize(trimmed, _options.Identity, out var normalized, out _))
                {
                    set.Add(normalized);
                }
            }

            byType[type] = set;
        }

        _hostBlocked = new BlockedSnapshot(blocked.Count, byType);
        return byType;
    }

    private sealed record BlockedSnapshot(int Count, Dictionary<string, HashSet<string>> ByType);

    public ValidatedEvent? Validate(CustomerEvent? e, DateTimeOffset now, List<ValidationError> errors)
    {
        if (e is null)
        {
            errors.Add(new("event", "is null"));
            return null;
        }

        if (string.IsNullOrWhiteSpace(e.Id))
        {
            errors.Add(new("id", "is required (it is the idempotency key)"));
        }
        else if (e.Id.Length > 200)
        {
            errors.Add(new("id", $"is {e.Id.Length} characters long; at most 200 are allowed"));
        }
        else if (JsonLimits.TextProblem(e.Id, controlsAllowed: false) is { } idProblem)
        {
            errors.Add(new("id", idProblem));
        }

        if (string.IsNullOrWhiteSpace(e.Type))
        {
            errors.Add(new("type", "is required"));
        }
        else if (e.Type.Length > 100 || !TypePattern().IsMatch(e.Type))
        {
            errors.Add(new("type", $"'{Truncate(e.Type)}' is not a valid event type (expected lower.dotted_names: letters, digits and underscores, dot-separated, starting with a letter){Segments.SegmentNames.EventTypeHint(e.Type)}"));
        }

        if (e.Timestamp == default)
        {
            errors.Add(new("timestamp", "is required (DateTimeOffset.MinValue, the unset value, is not a time)"));
        }
        else if (e.Timestamp < EarliestTimestamp)
        {
            errors.Add(new("timestamp", $"is {e.Timestamp:O}, before {EarliestTimestamp:yyyy-MM-dd}; events that old cannot be placed in time windows"));
        }
        else if (e.Timestamp < EarliestReportTimestamp && e.Type is not null && ProfileCore.NamesAnAddressOfAMessage(e.Type))
        {
            // Audit U77: a provider's unset time (Unix 0, what a missing field parses to) made a delivery count on
            // 1970-01-01 and a complaint or an unsubscribe older than every grant she gave, so it changed nothing.
            errors.Add(new("timestamp", string.Create(CultureInfo.InvariantCulture, $"is {e.Timestamp:O}, before {EarliestReportTimestamp:yyyy-MM-dd}: a report on a message that old is a provider's unset time (Unix 0), not when it happened; send the time the provider reported, or the time it reached you")));
        }
        else if (e.Timestamp > now + _options.MaxClockSkew)
        {
            // The engine's own time is named: on a test host or a fake TimeProvider it is not today's date, and a pasted
            // client timestamp is then "in the future" for no reason the reader can see.
            var ahead = e.Timestamp - now;
            var days = ahead.TotalDays >= 1 ? $" ({ahead.TotalDays.ToString("0.#", CultureInfo.InvariantCulture)} days)" : string.Empty;
            // Invariant: in the current culture a th-TH server wrote the Buddhist year and an fi-FI one "09.00.00".
            errors.Add(new("timestamp", string.Create(CultureInfo.InvariantCulture, $"is {ahead.TotalSeconds:0} s{days} in the future by the engine's clock (its TimeProvider, now {now.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}); at most {_options.MaxClockSkew.TotalSeconds:0} s of clock skew is allowed")));
        }

        if (string.IsNullOrWhiteSpace(e.Channel) || !ChannelPattern().IsMatch(e.Channel))
        {
            errors.Add(new("channel", $"'{Truncate(e.Channel ?? string.Empty)}' is not a valid channel (expected a lower_case name such as web, app, store, email, sms)"));
        }

        CheckObject(e.Properties, "properties", errors);
        CheckObject(e.Traits, "traits", errors);
        CheckContext(e.Context, errors);
        var propertiesOk = JsonLimits.Check(e.Properties, "properties", _options.MaxPropertiesBytes, _options, errors);
        // Traits are applied key by key, the last value of a repeated key winning (as before); properties are read as
        // objects, where a repeated key has no agreed meaning, so an event with one is refused with its path.
        JsonLimits.Check(e.Traits, "traits", _options.MaxTraitsBytes, _options, errors, refuseRepeatedKeys: false, dottedKeysNest: true);
        if (e.Type is not null && (propertiesOk || e.Properties.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null))
        {
            // No properties at all: the required ones of a well-known type are missing, not skipped.
            WellKnownProperties.Validate(e.Type, propertiesOk ? e.Properties : NoProperties, errors);
            WellKnownProperties.ValidateOutcome(e, propertiesOk ? e.Properties : NoProperties, _options.Identity, Delivery, errors);
        }

        var identifiers = new List<Identifier>(Math.Min(e.Identifiers?.Count ?? 0, MaxIdentifiers));
        if (e.Identifiers is null || e.Identifiers.Count == 0)
        {
            errors.Add(new("identifiers", "at least one identifier is required"));
        }
        else if (e.Identifiers.Count > MaxIdentifiers)
        {
            errors.Add(new("identifiers", $"are {e.Identifiers.Count}; an event may carry at most {MaxIdentifiers}"));
        }
        else
        {
            var blocked = 0;
            for (var i = 0; i < e.Identifiers.Count; i++)
            {
                var id = e.Identifiers[i];
                if (string.IsNullOrWhiteSpace(id.Type))
                {
                    errors.Add(new($"identifiers[{i}].type", "is required"));
                    continue;
                }

                if (id.Type.Length > 100 || JsonLimits.TextProblem(id.Type, controlsAllowed: false) is not null)
                {
                    errors.Add(new($"identifiers[{i}].type", $"{JsonLimits.TextProblem(id.Type, controlsAllowed: false) ?? "is longer than 100 characters"} (identifier types are lower_snake_case names)"));
                    continue;
                }

                if (!_options.Identity.Rules.TryGetValue(id.Type, out var rule))
                {
                    errors.Add(new($"identifiers[{i}].type", $"'{Truncate(id.Type)}' is not a registered identifier type (register custom types with IdentityOptions.AddType)"));
                    continue;
                }

                var raw = IdentifierText.Trim(id.Value);
                if (raw.Length <= MaxIdentifierLength && JsonLimits.TextProblem(raw, controlsAllowed: false) is { } valueProblem)
                {
                    errors.Add(new($"identifiers[{i}].value", valueProblem));
                    continue;
                }

                if (IsBlocked(id.Type, raw))
                {
                    blocked++;
                    continue;
                }

                if (raw.Length > MaxIdentifierLength)
                {
                    errors.Add(new($"identifiers[{i}].value", "is longer than 256 characters"));
                    continue;
                }

                var normalized = raw;
                if (rule.Normalizer is { } normalize && !normalize(raw, _options.Identity, out normalized, out var why))
                {
                    errors.Add(new($"identifiers[{i}].value", $"{id.Type} {why}"));
                    continue;
                }

                if (normalized.Length > MaxIdentifierLength)
                {
                    // Normalisation can lengthen a value (NFKC spells ㌖ as キロメートル): the limit is on what is stored.
                    errors.Add(new($"identifiers[{i}].value", $"is {normalized.Length} characters long once normalised; at most 256 are allowed"));
                    continue;
                }

                if (IsBlocked(id.Type, normalized))
                {
                    blocked++;
                    continue;
                }

                var n = new Identifier(id.Type, normalized);
                if (!identifiers.Contains(n))
                {
                    identifiers.Add(n);
                }
            }

            if (identifiers.Count == 0 && blocked > 0 && blocked == e.Identifiers.Count)
            {
                errors.Add(new("identifiers", "every identifier has a blocked value (such as empty, null, guest or 0) that never matches; at least one usable identifier is required"));
            }
        }

        return errors.Count == 0 ? new ValidatedEvent(e, identifiers) : null;
    }

    /// <summary>Each context field: at most <see cref="OmnichannelOptions.MaxContextValueLength"/> characters of single-line, well-formed text.</summary>
    private void CheckContext(EventContext? c, List<ValidationError> errors)
    {
        if (c is null)
        {
            return;
        }

        Field(c.DeviceType, "deviceType");
        Field(c.Os, "os");
        Field(c.Locale, "locale");
        Field(c.TimeZone, "timeZone");
        Field(c.Country, "country");
        Field(c.City, "city");
        Field(c.Campaign, "campaign");
        Field(c.UtmSource, "utmSource");
        Field(c.UtmMedium, "utmMedium");

        void Field(string? value, string name)
        {
            if (value is null)
            {
                return;
            }

            if (value.Length > _options.MaxContextValueLength)
            {
                errors.Add(new("context." + name, $"is {value.Length} characters long; at most {_options.MaxContextValueLength} are allowed"));
            }
            else if (JsonLimits.TextProblem(value, controlsAllowed: false) is { } problem)
            {
                errors.Add(new("context." + name, problem));
            }
        }
    }

    private static void CheckObject(JsonElement value, string field, List<ValidationError> errors)
    {
        if (value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
        {
            errors.Add(new(field, $"must be a JSON object, not {value.ValueKind.ToString().ToLowerInvariant()}"));
        }
    }

    private static string Truncate(string s) => TextCut.Prefix(s, 60);
}
