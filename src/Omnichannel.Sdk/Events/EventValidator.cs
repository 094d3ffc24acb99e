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
    };

    private readonly OmnichannelOptions _options;

    public EventValidator(OmnichannelOptions options) => _options = options;

    /// <summary>Event type names: <c>lower.dotted_names</c>. Segment definitions use the same rule.</summary>
    [GeneratedRegex("^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$")]
    internal static partial Regex TypePattern();

    /// <summary>Channel names. Segment definitions use the same rule.</summary>
    [GeneratedRegex("^[a-z][a-z0-9_-]*$")]
    internal static partial Regex ChannelPattern();

    public bool IsBlocked(string normalizedValue)
    {
        var v = normalizedValue.Trim();
        if (BuiltInBlocked.Contains(v) || _options.Identity.BlockedValues.Contains(v))
        {
            return true;
        }

        // All zeros, also as a phone number (+000000000) or with separators.
        var sawDigit = false;
        foreach (var c in v)
        {
            if (c == '0')
            {
                sawDigit = true;
            }
            else if (c is not ('+' or '-' or ' '))
            {
                return false;
            }
        }

        return sawDigit;
    }

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

        if (string.IsNullOrWhiteSpace(e.Type))
        {
            errors.Add(new("type", "is required"));
        }
        else if (e.Type.Length > 100 || !TypePattern().IsMatch(e.Type))
        {
            errors.Add(new("type", $"'{Truncate(e.Type)}' is not a valid event type (expected lower.dotted_names: letters, digits and underscores, dot-separated, starting with a letter)"));
        }

        if (e.Timestamp == default)
        {
            errors.Add(new("timestamp", "is required"));
        }
        else if (e.Timestamp > now + _options.MaxClockSkew)
        {
            errors.Add(new("timestamp", $"is {(e.Timestamp - now).TotalSeconds:0} s in the future; at most {_options.MaxClockSkew.TotalSeconds:0} s of clock skew is allowed"));
        }

        if (string.IsNullOrWhiteSpace(e.Channel) || !ChannelPattern().IsMatch(e.Channel))
        {
            errors.Add(new("channel", $"'{Truncate(e.Channel ?? string.Empty)}' is not a valid channel (expected a lower_case name such as web, app, store, email, sms)"));
        }

        CheckObject(e.Properties, "properties", errors);
        CheckObject(e.Traits, "traits", errors);
        if (e.Properties.ValueKind == JsonValueKind.Object)
        {
            var size = e.Properties.GetRawText().Length;
            if (size > _options.MaxPropertiesBytes)
            {
                errors.Add(new("properties", $"are {size} bytes; at most {_options.MaxPropertiesBytes} are allowed"));
            }

            WellKnownProperties.Validate(e.Type, e.Properties, errors);
        }

        var identifiers = new List<Identifier>();
        if (e.Identifiers is null || e.Identifiers.Count == 0)
        {
            errors.Add(new("identifiers", "at least one identifier is required"));
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

                if (!_options.Identity.Rules.TryGetValue(id.Type, out var rule))
                {
                    errors.Add(new($"identifiers[{i}].type", $"'{Truncate(id.Type)}' is not a registered identifier type (register custom types with IdentityOptions.AddType)"));
                    continue;
                }

                var raw = (id.Value ?? string.Empty).Trim();
                if (IsBlocked(raw))
                {
                    blocked++;
                    continue;
                }

                if (raw.Length > 256)
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

                if (IsBlocked(normalized))
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

    private static void CheckObject(JsonElement value, string field, List<ValidationError> errors)
    {
        if (value.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object))
        {
            errors.Add(new(field, $"must be a JSON object, not {value.ValueKind.ToString().ToLowerInvariant()}"));
        }
    }

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "…";
}
