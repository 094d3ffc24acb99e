namespace Omnichannel.Sdk.Templates;

/// <summary>The data a template is rendered with, and the facts that pick its variant.</summary>
/// <remarks>
/// <para>Liquid sees plain values only (dictionaries, lists, strings, numbers, booleans, times), never the CLR objects
/// themselves, so a template cannot reach members the SDK did not choose to expose:</para>
/// <list type="bullet">
/// <item><c>profile</c>: <c>id</c>, <c>first_name</c>, <c>last_name</c>, <c>name</c>, <c>email</c>, <c>phone</c>,
/// <c>traits</c> (every trait, nested as set), <c>locale</c>, <c>time_zone</c>, <c>lifecycle_stage</c>, <c>segments</c> (ids),
/// <c>statistics</c> (<c>order_count</c>, <c>total_spent</c>, <c>average_order_value</c>, <c>currency</c>, <c>loyalty_points</c>,
/// <c>first_seen</c>, <c>last_seen</c>, <c>first_order_at</c>, <c>last_order_at</c>, <c>return_count</c>, <c>event_count</c>),
/// <c>cart</c> (lines with <c>product_id</c>, <c>name</c>, <c>quantity</c>, <c>unit_price</c>, <c>currency</c>, <c>line_total</c>),
/// <c>cart_total</c>, <c>cart_quantity</c>, <c>wishlist</c> (<c>product_id</c>, <c>name</c>, <c>added_at</c>), <c>created_at</c>.</item>
/// <item><c>event</c>: <c>id</c>, <c>type</c>, <c>channel</c>, <c>timestamp</c>, <c>properties</c>, <c>context</c>.</item>
/// <item><c>journey</c>: <see cref="Journey"/> as given.</item>
/// <item><c>now</c>: <see cref="Now"/> in the customer's time zone.</item>
/// <item><c>device</c>: <c>type</c> (desktop, mobile, tablet or empty) and <c>os</c>.</item>
/// </list>
/// </remarks>
public sealed record RenderContext
{
    /// <summary>The customer, or <see langword="null"/> when there is none (then <c>profile</c> is empty).</summary>
    public CustomerProfile? Profile { get; init; }

    /// <summary>The event that triggered the message, or <see langword="null"/>.</summary>
    public CustomerEvent? Event { get; init; }

    /// <summary>
    /// The journey's context (step data, computed values). Values may be strings, numbers, booleans, times,
    /// <see cref="System.Text.Json.JsonElement"/>, dictionaries with string keys and lists of these; any other object
    /// is first converted to JSON, so only its public data reaches the template.
    /// </summary>
    public IReadOnlyDictionary<string, object?> Journey { get; init; } = new Dictionary<string, object?>();

    /// <summary>The current time, from the caller's <see cref="TimeProvider"/>; it picks the time-of-day variant.</summary>
    public required DateTimeOffset Now { get; init; }

    /// <summary>The device type to render for; when <see langword="null"/>, the event context's, else the profile's most recently seen device.</summary>
    public string? DeviceType { get; init; }

    /// <summary>The locale to render for; when <see langword="null"/>, the event context's, else the profile's.</summary>
    public string? Locale { get; init; }

    /// <summary>The IANA time zone of the customer; when <see langword="null"/>, the profile's, else <see cref="TemplateRendererOptions.DefaultTimeZone"/>.</summary>
    public string? TimeZone { get; init; }
}

/// <summary>Options of <see cref="TemplateRenderer"/>.</summary>
public sealed class TemplateRendererOptions
{
    /// <summary>The time zone used when neither the context nor the profile names a valid one. Default: UTC.</summary>
    public TimeZoneInfo DefaultTimeZone { get; set; } = TimeZoneInfo.Utc;

    /// <summary>
    /// A locale tried after the customer's own locale chain and before the variant without a locale, for example <c>en</c>.
    /// Default: <see langword="null"/> (straight to the variant without a locale).
    /// </summary>
    public string? DefaultLocale { get; set; }

    /// <summary>The most iterations a <c>for</c> loop may run while rendering one part (a sandbox limit). Default: 1000.</summary>
    public int MaxLoopIterations { get; set; } = 1000;
}
