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
/// <item><c>journey</c>: <see cref="Journey"/> as given (a journey's context, or the <c>Data</c> of a
/// <see cref="Delivery.MessageRequest"/> the host sends itself).</item>
/// <item><c>now</c>: <see cref="Now"/> in the customer's time zone.</item>
/// <item><c>device</c>: <c>type</c> (desktop, mobile, tablet or empty) and <c>os</c>.</item>
/// </list>
/// <para>Numbers are decimals; one past the range of <see cref="decimal"/> (about ±7.9 × 10²⁸, a trait of <c>1e300</c>), NaN or
/// an infinity is given to the template as its invariant text (<c>1E+300</c>, <c>NaN</c>, <c>Infinity</c>).</para>
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
    /// is first converted to JSON, so only its public data reaches the template. Data nested more than 64 levels deep (or
    /// holding itself), text that cannot be decoded, and an object JSON cannot write fail the render with a
    /// <see cref="TemplateErrorKind.Render"/> error naming the path (<c>journey.list[0]…</c>).
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
/// <remarks>
/// The limits are a render budget: every part of every render runs within <see cref="MaxSteps"/>,
/// <see cref="RenderTimeout"/> and its channel's output limit, and fails with a <see cref="TemplateErrorKind.Render"/>
/// error (never a partial message) when it would run past one of them. With <c>UseTemplates</c> the channel limits
/// default to the engine's <see cref="Delivery.DeliveryOptions"/> (<c>MaxMessageBytes</c>, <c>MaxSmsSegments</c>,
/// <c>MaxPushBytes</c>), so a message that renders also fits the outbox.
/// </remarks>
public sealed class TemplateRendererOptions
{
    internal const int DefaultMaxSteps = 100_000;
    internal const int DefaultMaxOutputLength = 1024 * 1024;
    internal static readonly TimeSpan DefaultRenderTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The time zone used when neither the context nor the profile names a valid one. Default: UTC (with
    /// <c>UseTemplates</c>, <see cref="Delivery.DeliveryOptions.DefaultTimeZone"/>, the zone quiet hours use).
    /// </summary>
    public TimeZoneInfo DefaultTimeZone { get; set; } = TimeZoneInfo.Utc;

    /// <summary>
    /// A locale tried after the customer's own locale chain and before the variant without a locale, for example <c>en</c>.
    /// Default: <see langword="null"/> (straight to the variant without a locale).
    /// </summary>
    public string? DefaultLocale { get; set; }

    /// <summary>
    /// The most steps (statements and loop iterations, all loops of the part together, so nested loops cannot multiply
    /// past it) one part may run (the engine's sandbox step limit). Default: 100,000. At least 1.
    /// </summary>
    public int MaxSteps { get; set; } = DefaultMaxSteps;

    /// <summary>
    /// The longest one part may take to render, measured on <see cref="TimeProvider"/>; a render past it fails instead of
    /// holding the engine's worker. Default: 5 seconds (a first, cold render on a loaded 2-core machine took over 1 s, and the
    /// step and output limits already bound what a template can do; this is the backstop). Between 1 ms and 1 minute.
    /// </summary>
    public TimeSpan RenderTimeout { get; set; } = DefaultRenderTimeout;

    /// <summary>
    /// The clock <see cref="RenderTimeout"/> is measured on. Default: <see cref="TimeProvider.System"/> (a render deadline
    /// is about real time, so <c>UseTemplates</c> does not replace it with the engine's clock).
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// The most characters a rendered part of any channel may have, and any string or list built while rendering it
    /// (a doubling <c>assign</c> or <c>capture</c> stops here). Default: 1,048,576 (with <c>UseTemplates</c>,
    /// <see cref="Delivery.DeliveryOptions.MaxMessageBytes"/>). At least 1,024.
    /// </summary>
    public int MaxOutputLength { get; set; } = DefaultMaxOutputLength;

    /// <summary>
    /// The most segments a rendered SMS body may have (GSM 03.38: 153 GSM-7 or 67 UCS-2 characters each). Default: 10
    /// (with <c>UseTemplates</c>, <see cref="Delivery.DeliveryOptions.MaxSmsSegments"/>). At least 1.
    /// </summary>
    public int MaxSmsSegments { get; set; } = 10;

    /// <summary>
    /// The most UTF-8 bytes of a rendered push part (title, body, deep link). Default: 4,096 (with <c>UseTemplates</c>,
    /// <see cref="Delivery.DeliveryOptions.MaxPushBytes"/>). At least 256.
    /// </summary>
    public int MaxPushBytes { get; set; } = 4096;
}
