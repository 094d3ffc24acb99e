using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>Her preferences (channels, contact limits, topics) and what an event's context says of her (zone, locale, device).</summary>
internal static partial class ProfileCore
{
    private static void ApplyPreferences(CustomerProfile p, JsonElement props, DateTimeOffset t, string eventId)
    {
        if (props.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        // Audit U34: a null removes that part (she cleared her choice or lifted her limit); it was accepted and changed
        // nothing, so a limit once given could never be lifted. A part left out keeps its value.
        if (props.TryGetProperty("preferred_channels", out var pc) && pc.ValueKind == JsonValueKind.Null)
        {
            PutPreference(p, "channels", new PreferenceFact(null, null, null, t, eventId));
        }
        else if (WellKnownProperties.PreferredChannelNames(pc) is { } names)
        {
            // Channel names as everywhere else (trimmed, lower case): "SMS" from a preference centre was never matched.
            // Audit U52: one text ("sms", "sms,email") is read as its names; it was ignored.
            PutPreference(p, "channels", new PreferenceFact(string.Join(",", names), null, null, t, eventId));
        }

        // The limit is a count per period; each part is its own last-writer-wins decision, so a part left out keeps the
        // newest value by event time in any arrival order (reading the part "known so far" made it depend on arrival).
        if (WellKnownProperties.Decimal(props, "max_messages") is { } max)
        {
            PutPreference(p, "max", new PreferenceFact(null, (int)Math.Min(max, int.MaxValue), null, t, eventId));
        }
        else if (props.TryGetProperty("max_messages", out var mm) && mm.ValueKind == JsonValueKind.Null)
        {
            PutPreference(p, "max", new PreferenceFact(null, null, null, t, eventId));
        }

        if ((props.TryGetProperty("period", out var pe) ? WellKnownProperties.TryDuration(pe) : null) is { } period)
        {
            PutPreference(p, "period", new PreferenceFact(null, null, period, t, eventId));
        }
        else if (pe.ValueKind == JsonValueKind.Null && props.TryGetProperty("period", out _))
        {
            PutPreference(p, "period", new PreferenceFact(null, null, null, t, eventId));
        }
    }

    private static void PutPreference(CustomerProfile p, string field, PreferenceFact fact)
    {
        if (p.PreferenceFacts.TryGetValue(field, out var known) && !Stamp.Newer(fact.At, fact.EventId, known.At, known.EventId))
        {
            return;
        }

        p.PreferenceFacts[field] = fact;
        var channels = p.PreferenceFacts.GetValueOrDefault("channels");

        // "limit" holds both parts in documents written before the parts were separate decisions.
        var limit = p.PreferenceFacts.GetValueOrDefault("limit");
        var max = Newest(p.PreferenceFacts.GetValueOrDefault("max"), limit is { MaxMessages: not null } ? limit : null);
        var period = Newest(p.PreferenceFacts.GetValueOrDefault("period"), limit is { Period: not null } ? limit : null);
        IReadOnlyList<string> list = channels?.Channels is { Length: > 0 } c ? [.. c.Split(',').Select(x => x.Trim().ToLowerInvariant()).Where(x => x.Length > 0).Distinct(StringComparer.Ordinal)] : [];
        var updated = p.PreferenceFacts.Values.Max(f => f.At);
        p.Preferences = new ContactPreferences(list, max?.MaxMessages, period?.Period, updated);
    }

    private static PreferenceFact? Newest(PreferenceFact? a, PreferenceFact? b) =>
        a is null ? b : b is null ? a : Stamp.Newer(a.At, a.EventId, b.At, b.EventId) ? a : b;

    private static void ApplyContext(CustomerProfile p, EventContext? c, DateTimeOffset t, string eventId)
    {
        if (c is null)
        {
            return;
        }

        // A zone or locale nothing can use (unknown here, or not a language tag) never replaces one the profile knows.
        if (LocalTime.KnownZoneId(c.TimeZone) is { } zone && (p.TimeZoneAt is not { } tzAt || Stamp.Newer(t, eventId, tzAt, p.TimeZoneEventId)))
        {
            p.TimeZone = zone;
            p.TimeZoneAt = t;
            p.TimeZoneEventId = eventId;
        }

        if (LocalTime.KnownLocale(c.Locale) is { } locale && (p.LocaleAt is not { } loAt || Stamp.Newer(t, eventId, loAt, p.LocaleEventId)))
        {
            p.Locale = locale;
            p.LocaleAt = t;
            p.LocaleEventId = eventId;
        }

        if (c.DeviceType is not null || c.Os is not null)
        {
            TouchDevice(p.Statistics, c.DeviceType, c.Os, t);
        }
    }

    // Devices are kept least recently seen first (ties: type, then OS), so the list — and the one dropped past the
    // limit — is the same in any arrival order; it was in arrival order, and the export differed.
    private static void TouchDevice(ProfileStatistics s, string? deviceType, string? os, DateTimeOffset t)
    {
        var i = s.Devices.FindIndex(d => d.DeviceType == deviceType && d.Os == os);
        if (i < 0)
        {
            s.Devices.Add(new DeviceSeen(deviceType, os, t));
        }
        else if (t > s.Devices[i].LastSeen)
        {
            s.Devices[i] = s.Devices[i] with { LastSeen = t };
        }
        else
        {
            return;
        }

        s.Devices.Sort(static (a, b) => a.LastSeen.UtcTicks.CompareTo(b.LastSeen.UtcTicks) is var c and not 0 ? c
            : string.CompareOrdinal(a.DeviceType, b.DeviceType) is var d and not 0 ? d
            : string.CompareOrdinal(a.Os, b.Os));
        if (s.Devices.Count > MaxDevices)
        {
            s.Devices.RemoveAt(0);
        }
    }
}
