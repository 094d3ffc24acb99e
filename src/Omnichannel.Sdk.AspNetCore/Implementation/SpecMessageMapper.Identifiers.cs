using System.Text.Json;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

// A message's identifiers: userId, anonymousId and the traits and context fields TrackingMapping names, each checked for
// what the engine can hold.
internal sealed partial class SpecMessageMapper
{
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
