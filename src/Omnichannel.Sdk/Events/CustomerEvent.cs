using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk;

/// <summary>
/// Something a customer did, or that happened to a customer, on any channel.
/// </summary>
/// <remarks>
/// <see cref="Id"/> is the idempotency key: an event id that was already applied is acknowledged as a duplicate
/// and changes nothing. <see cref="Timestamp"/> is when it happened, not when it arrived: late events are applied by
/// their own time (a newer trait value is never overwritten by an older one).
/// </remarks>
public sealed record CustomerEvent
{
    /// <summary>The event's unique id, the idempotency key (at most 200 characters).</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>The event type: one of <see cref="EventTypes"/> or a custom <c>lower.dotted_name</c>.</summary>
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    /// <summary>When it happened.</summary>
    [JsonPropertyName("timestamp")]
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The identifiers the event carries: at least one usable one, at most 100.</summary>
    [JsonPropertyName("identifiers")]
    public required IReadOnlyList<Identifier> Identifiers { get; init; }

    /// <summary>The channel it came through (see <see cref="ChannelNames"/>, or a custom <c>lower_case</c> name). Default <c>web</c>.</summary>
    [JsonPropertyName("channel")]
    public string Channel { get; init; } = ChannelNames.Web;

    /// <summary>Where and on what it happened: device, locale, time zone, place, campaign.</summary>
    [JsonPropertyName("context")]
    public EventContext? Context { get; init; }

    /// <summary>The event's properties, a JSON object (see <see cref="EventTypes"/> for the expected ones).</summary>
    [JsonPropertyName("properties")]
    public JsonElement Properties { get; init; }

    /// <summary>Trait updates, a JSON object merged into the profile's traits (a <c>null</c> value removes a trait).</summary>
    [JsonPropertyName("traits")]
    public JsonElement Traits { get; init; }
}

/// <summary>Where and on what an event happened.</summary>
public sealed record EventContext
{
    /// <summary>Device type: <c>desktop</c>, <c>mobile</c>, <c>tablet</c>, <c>pos</c>, ...</summary>
    [JsonPropertyName("deviceType")]
    public string? DeviceType { get; init; }

    /// <summary>Operating system, for example <c>iOS 18</c>.</summary>
    [JsonPropertyName("os")]
    public string? Os { get; init; }

    /// <summary>Locale as a BCP 47 tag, for example <c>es-MX</c>.</summary>
    [JsonPropertyName("locale")]
    public string? Locale { get; init; }

    /// <summary>IANA time zone, for example <c>Europe/Paris</c>.</summary>
    [JsonPropertyName("timeZone")]
    public string? TimeZone { get; init; }

    /// <summary>Country, ISO 3166 code or name.</summary>
    [JsonPropertyName("country")]
    public string? Country { get; init; }

    /// <summary>City.</summary>
    [JsonPropertyName("city")]
    public string? City { get; init; }

    /// <summary>Campaign the customer came from.</summary>
    [JsonPropertyName("campaign")]
    public string? Campaign { get; init; }

    /// <summary>UTM source (<c>utm_source</c>).</summary>
    [JsonPropertyName("utmSource")]
    public string? UtmSource { get; init; }

    /// <summary>UTM medium (<c>utm_medium</c>).</summary>
    [JsonPropertyName("utmMedium")]
    public string? UtmMedium { get; init; }

    /// <summary>
    /// The event is history being loaded (a migration from another system, a database or CSV export), whatever its
    /// timestamp: it is applied like any event (profile, orders, segments, and it answers waits, exits and goals by its
    /// own time), but it starts no journey, neither through an event trigger nor through the segment transitions it
    /// causes (<c>journey.entry_refused</c> on her timeline, counted as <c>entry_refused</c>). Use it when recent history
    /// was already acted on elsewhere; older history is refused by the triggers' <c>maxAge</c> anyway. An inactivity
    /// clock it sets still runs (its deadline is to come). Default <see langword="false"/>; JSON <c>"historical": true</c>
    /// (over the tracking API, <c>context.historical</c>).
    /// </summary>
    [JsonPropertyName("historical")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Historical { get; init; }
}

/// <summary>Builds JSON values for <see cref="CustomerEvent.Properties"/> and <see cref="CustomerEvent.Traits"/>.</summary>
public static class JsonData
{
    /// <summary>Serialises an object (an anonymous object, a dictionary, a record) to a detached <see cref="JsonElement"/>.</summary>
    /// <param name="value">The value.</param>
    public static JsonElement From(object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value is JsonElement e ? e.Clone() : JsonSerializer.SerializeToElement(value, value.GetType());
    }

    /// <summary>Parses a JSON text to a detached <see cref="JsonElement"/>.</summary>
    /// <param name="json">The JSON text.</param>
    public static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}
