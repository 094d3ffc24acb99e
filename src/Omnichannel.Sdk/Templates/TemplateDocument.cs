namespace Omnichannel.Sdk.Templates;

/// <summary>
/// A message template: one id and its variants, each variant the parts of one channel for one combination of
/// device type, locale and time of day.
/// </summary>
/// <param name="Id">The template id (letters, digits, <c>_</c>, <c>-</c> and <c>.</c>), for example <c>welcome</c>.</param>
/// <param name="Variants">The variants. At most one variant per channel, device type, locale and time of day.</param>
public sealed record TemplateDocument(string Id, IReadOnlyList<TemplateVariant> Variants);

/// <summary>
/// The parts of one template for one channel, optionally narrowed to a device type, a locale and a time of day.
/// A dimension left <see langword="null"/> matches every value of it.
/// </summary>
/// <remarks>
/// Part names per channel are in <see cref="TemplateParts"/>. Each part is Liquid source.
/// Selection rules are described on <see cref="TemplateRenderer"/>.
/// </remarks>
public sealed record TemplateVariant
{
    /// <summary>The channel (see <see cref="Omnichannel.Sdk.ChannelNames"/>), for example <c>email</c>.</summary>
    public required string Channel { get; init; }

    /// <summary>The device type this variant is for (see <see cref="DeviceTypes"/>), or <see langword="null"/> for any.</summary>
    public string? DeviceType { get; init; }

    /// <summary>The locale (BCP 47, for example <c>es-MX</c> or <c>es</c>), or <see langword="null"/> for the default.</summary>
    public string? Locale { get; init; }

    /// <summary>The time of day this variant is for, or <see langword="null"/> for any.</summary>
    public TimeOfDay? TimeOfDay { get; init; }

    /// <summary>Liquid source per part name (see <see cref="TemplateParts"/>).</summary>
    public required IReadOnlyDictionary<string, string> Parts { get; init; }

    /// <summary>
    /// The variant's name: the channel followed by the dimensions it sets, dot-separated
    /// (<c>push.mobile.es-MX.morning</c>); it is also the file name stem used by <see cref="FileSystemTemplateSource"/>.
    /// </summary>
    public string Name
    {
        get
        {
            var name = Channel;
            if (DeviceType is not null)
            {
                name += "." + DeviceType;
            }

            if (Locale is not null)
            {
                name += "." + Locale;
            }

            if (TimeOfDay is { } t)
            {
                name += "." + TimesOfDay.Name(t);
            }

            return name;
        }
    }

    /// <summary>An email variant.</summary>
    /// <param name="subject">The subject line.</param>
    /// <param name="html">The HTML body (values are HTML-escaped), or <see langword="null"/>.</param>
    /// <param name="text">The plain-text body, or <see langword="null"/>.</param>
    public static TemplateVariant Email(string subject, string? html, string? text = null) =>
        Create(ChannelNames.Email, (TemplateParts.Subject, subject), (TemplateParts.Html, html), (TemplateParts.Text, text));

    /// <summary>An SMS variant.</summary>
    /// <param name="body">The message text.</param>
    public static TemplateVariant Sms(string body) => Create(ChannelNames.Sms, (TemplateParts.Body, body));

    /// <summary>A push notification variant.</summary>
    /// <param name="title">The title.</param>
    /// <param name="body">The body.</param>
    /// <param name="deepLink">The deep link opened on tap, or <see langword="null"/>.</param>
    public static TemplateVariant Push(string title, string body, string? deepLink = null) =>
        Create(ChannelNames.Push, (TemplateParts.Title, title), (TemplateParts.Body, body), (TemplateParts.DeepLink, deepLink));

    /// <summary>A WhatsApp variant that sends an approved template with positional parameters.</summary>
    /// <param name="templateName">The approved template name (may itself be Liquid).</param>
    /// <param name="parameters">The parameters, in order; each is Liquid.</param>
    public static TemplateVariant WhatsAppTemplate(string templateName, params string[] parameters) =>
        Create(
            ChannelNames.WhatsApp,
            [(TemplateParts.TemplateName, templateName), .. parameters.Select((p, i) => (TemplateParts.Parameter(i + 1), (string?)p))]);

    /// <summary>A WhatsApp variant that sends free text (inside the 24-hour service window).</summary>
    /// <param name="text">The text.</param>
    public static TemplateVariant WhatsAppText(string text) => Create(ChannelNames.WhatsApp, (TemplateParts.Text, text));

    /// <summary>An in-app or chat variant.</summary>
    /// <param name="text">The text.</param>
    public static TemplateVariant InApp(string text) => Create(ChannelNames.InApp, (TemplateParts.Text, text));

    private static TemplateVariant Create(string channel, params (string Name, string? Source)[] parts) => new()
    {
        Channel = channel,
        Parts = parts.Where(p => p.Source is not null).ToDictionary(p => p.Name, p => p.Source!, StringComparer.Ordinal),
    };
}

/// <summary>Part names, per channel.</summary>
/// <remarks>
/// email: <see cref="Subject"/> (required), <see cref="Html"/> and/or <see cref="Text"/>;
/// sms: <see cref="Body"/>; push: <see cref="Title"/>, <see cref="Body"/>, optional <see cref="DeepLink"/>;
/// whatsapp: <see cref="TemplateName"/> with <c>param1</c>, <c>param2</c>… (see <see cref="Parameter"/>), or <see cref="Text"/>;
/// in_app: <see cref="Text"/>. Other channels accept any part name made of lower-case letters, digits and <c>_</c>.
/// </remarks>
public static class TemplateParts
{
    /// <summary>Email subject line.</summary>
    public const string Subject = "subject";

    /// <summary>Email HTML body. Output (<c>{{ … }}</c>) is HTML-escaped unless its last filter is <c>raw</c>.</summary>
    public const string Html = "html";

    /// <summary>Plain text: the email text body, WhatsApp free text, or in-app text.</summary>
    public const string Text = "text";

    /// <summary>SMS or push body.</summary>
    public const string Body = "body";

    /// <summary>Push title.</summary>
    public const string Title = "title";

    /// <summary>Push deep link.</summary>
    public const string DeepLink = "deep_link";

    /// <summary>WhatsApp approved template name.</summary>
    public const string TemplateName = "template_name";

    /// <summary>The part name of the WhatsApp template's parameter at a 1-based position: <c>param1</c>, <c>param2</c>…</summary>
    /// <param name="position">The 1-based position.</param>
    public static string Parameter(int position)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(position, 1);
        return "param" + position.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>Device types that template variants can target.</summary>
public static class DeviceTypes
{
    /// <summary>A desktop or laptop computer.</summary>
    public const string Desktop = "desktop";

    /// <summary>A phone (event contexts may also say <c>phone</c>).</summary>
    public const string Mobile = "mobile";

    /// <summary>A tablet.</summary>
    public const string Tablet = "tablet";

    /// <summary>Every device type above.</summary>
    public static IReadOnlyList<string> All { get; } = [Desktop, Mobile, Tablet];

    /// <summary>Maps a device type from an event context to one of <see cref="All"/>, or <see langword="null"/> when it is none of them.</summary>
    /// <param name="deviceType">The device type as given, for example <c>Phone</c>.</param>
    public static string? Normalize(string? deviceType) => deviceType?.Trim().ToLowerInvariant() switch
    {
        "desktop" or "laptop" or "pc" or "computer" => Desktop,
        "mobile" or "phone" or "smartphone" => Mobile,
        "tablet" => Tablet,
        _ => null,
    };
}

/// <summary>The part of the day in the customer's time zone.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<TimeOfDay>))]
public enum TimeOfDay
{
    /// <summary>05:00 to 11:59.</summary>
    Morning,

    /// <summary>12:00 to 16:59.</summary>
    Afternoon,

    /// <summary>17:00 to 21:59.</summary>
    Evening,

    /// <summary>22:00 to 04:59.</summary>
    Night,
}

/// <summary>Names and boundaries of <see cref="TimeOfDay"/>.</summary>
public static class TimesOfDay
{
    /// <summary>The lower-case name used in variant names: <c>morning</c>, <c>afternoon</c>, <c>evening</c>, <c>night</c>.</summary>
    /// <param name="timeOfDay">The time of day.</param>
    public static string Name(TimeOfDay timeOfDay) => timeOfDay switch
    {
        TimeOfDay.Morning => "morning",
        TimeOfDay.Afternoon => "afternoon",
        TimeOfDay.Evening => "evening",
        TimeOfDay.Night => "night",
        _ => throw new ArgumentOutOfRangeException(nameof(timeOfDay), timeOfDay, "Not a time of day."),
    };

    /// <summary>Parses a lower-case name from <see cref="Name"/>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="timeOfDay">The time of day.</param>
    /// <returns><see langword="true"/> when the name is one of the four.</returns>
    public static bool TryParse(string? name, out TimeOfDay timeOfDay)
    {
        switch (name)
        {
            case "morning": timeOfDay = TimeOfDay.Morning; return true;
            case "afternoon": timeOfDay = TimeOfDay.Afternoon; return true;
            case "evening": timeOfDay = TimeOfDay.Evening; return true;
            case "night": timeOfDay = TimeOfDay.Night; return true;
            default: timeOfDay = default; return false;
        }
    }

    /// <summary>The time of day of a local time: morning from 05:00, afternoon from 12:00, evening from 17:00, night from 22:00.</summary>
    /// <param name="localTime">The time in the customer's time zone.</param>
    public static TimeOfDay Of(DateTimeOffset localTime) => localTime.Hour switch
    {
        >= 5 and < 12 => TimeOfDay.Morning,
        >= 12 and < 17 => TimeOfDay.Afternoon,
        >= 17 and < 22 => TimeOfDay.Evening,
        _ => TimeOfDay.Night,
    };
}
