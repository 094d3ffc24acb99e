using System.Globalization;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// Renders validated Liquid templates for one channel with a customer's profile, the triggering event and the
/// journey context, choosing the variant that fits the customer's device, locale and time of day.
/// </summary>
/// <remarks>
/// <para>
/// <b>Engine.</b> Templates are Liquid, rendered with Fluid behind this small API (the engine is confined to an
/// internal adapter). Templates see only plain data (see <see cref="RenderContext"/>) in Fluid's sandbox (no CLR member
/// is reachable), cannot include files, and render within a budget: <see cref="TemplateRendererOptions.MaxSteps"/>
/// (all loops of a part together), <see cref="TemplateRendererOptions.RenderTimeout"/> and an output limit per channel
/// (<see cref="TemplateRendererOptions.MaxSmsSegments"/>, <see cref="TemplateRendererOptions.MaxPushBytes"/>,
/// <see cref="TemplateRendererOptions.MaxOutputLength"/>; a range costs a step per number, and a filter whose result would
/// pass the limit is refused before it runs). A part may chain at most 100 filters in one expression, hold at most 100
/// <c>and</c>/<c>or</c> in one condition and nest indexes 16 deep (the engine walks them recursively). Dates use strftime formats
/// (<c>{{ now | date: "%H:%M" }}</c>; <c>'now'</c> and <c>'today'</c> are the render's instant in the customer's zone, as
/// <c>now</c> is, and every other time, from the data or a string with an offset, is printed on her wall clock too); numbers are printed with the invariant culture, and month and day names (<c>%B</c>, <c>%A</c>, <c>%b</c>, <c>%a</c>, <c>format_date</c>) in the language of the variant's <see cref="TemplateVariant.Locale"/> on the Gregorian calendar (invariant English for a variant without one; a time written as text is read invariantly in every variant). An email subject is one line: line breaks in it are
/// folded into spaces. A WhatsApp template parameter is one line too, as Meta requires: a run of white space holding a line
/// break or a tab, or of more than four spaces, becomes one space. An SMS body's line breaks are all LF (a CR LF or a CR
/// becomes LF). <c>truncate</c> and <c>slice</c> never keep half of a character (a UTF-16 surrogate pair such as an emoji):
/// a cut inside one leaves it out.
/// </para>
/// <para>
/// <b>Escaping.</b> In an email's <c>html</c> part every output <c>{{ … }}</c> is HTML-escaped, unless its last
/// filter is <c>raw</c> (trusted markup) or already <c>escape</c>/<c>escape_once</c>; outputs inside
/// <c>{% capture %}</c> are escaped when the captured variable is printed. Other parts (subject, text, SMS, push…)
/// are left as they are. In the html part, a URL-valued attribute (<c>href</c>, <c>src</c>, <c>action</c>…) whose
/// value uses the <c>javascript:</c>, <c>vbscript:</c> or <c>data:</c> scheme is replaced by <c>about:invalid#unsafe-url</c>.
/// </para>
/// <para>
/// <b>Variant selection.</b> Among the template's variants for the channel, a variant is eligible when each
/// dimension it sets matches: its device type equals the customer's, its time of day equals the customer's
/// (in the customer's time zone), and its locale is in the customer's locale chain. The locale chain is the
/// requested locale and its parents — CLDR's parent locales where a regional form does not inherit from the bare
/// language (<c>es-MX</c> → <c>es-419</c> → <c>es</c>, <c>en-AU</c> → <c>en-001</c> → <c>en</c>, <c>en-DE</c> →
/// <c>en-150</c> → <c>en-001</c> → <c>en</c>, <c>pt-AO</c> → <c>pt-PT</c> → <c>pt</c>, <c>nb-NO</c> → <c>nb</c> →
/// <c>no</c>; a script that is not the language's usual one stops there: <c>zh-TW</c> → <c>zh-Hant-TW</c> →
/// <c>zh-Hant</c>, never Simplified <c>zh</c>, and <c>sr-Latn</c> never Cyrillic <c>sr</c>; UTS #35 "Parent Locales"),
/// truncation otherwise (<c>fr-CA</c> → <c>fr</c>) — then <see cref="TemplateRendererOptions.DefaultLocale"/>
/// and its parents, then the variant without a locale. The most specific eligible variant wins, by this
/// precedence: (1) the locale earliest in the chain (the right language matters most), then (2) a variant that sets
/// the device type over one that does not, then (3) one that sets the time of day over one that does not.
/// </para>
/// <para>
/// The device type comes from <see cref="RenderContext.DeviceType"/>, else the event context, else the profile's most
/// recently seen device; the locale from <see cref="RenderContext.Locale"/>, else the event context, else the profile.
/// </para>
/// <para>A renderer is immutable and safe to use from many threads.</para>
/// </remarks>
public sealed partial class TemplateRenderer
{
    private readonly Dictionary<string, CompiledTemplate> _templates;
    private readonly TemplateRendererOptions _options;

    private TemplateRenderer(IEnumerable<CompiledTemplate> templates, TemplateRendererOptions options)
    {
        _templates = templates.ToDictionary(t => t.Id, StringComparer.Ordinal);
        _options = options;
    }

    /// <summary>The ids of the templates this renderer holds (those that loaded without error).</summary>
    public IReadOnlyCollection<string> TemplateIds => _templates.Keys;

    /// <summary>The variants (<c>template/variant</c>) whose Liquid source mentions <paramref name="text"/>.</summary>
    internal IEnumerable<string> VariantsMentioning(string text) =>
        _templates.Values.SelectMany(t => t.Variants
            .Where(v => v.Variant.Parts.Values.Any(source => source.Contains(text, StringComparison.Ordinal)))
            .Select(v => $"{t.Id}/{v.Variant.Name}"));

    /// <summary>The email variants (<c>template/variant</c>): each needs <c>Delivery.EmailFrom</c> as its sender.</summary>
    internal IEnumerable<string> EmailVariantsWithoutSender() =>
        _templates.Values.SelectMany(t => t.Variants
            .Where(v => v.Variant.Channel == ChannelNames.Email)
            .Select(v => $"{t.Id}/{v.Variant.Name}"));

    /// <summary>Reads, validates and parses every template of a source.</summary>
    /// <param name="source">The source.</param>
    /// <param name="options">Options, or <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels reading the source.</param>
    /// <returns>A renderer of the templates that are valid, and every error of the others.</returns>
    public static async ValueTask<TemplateLoadResult> LoadAsync(
        ITemplateSource source, TemplateRendererOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (templates, errors) = await TemplateValidator.CompileAllAsync(source, cancellationToken).ConfigureAwait(false);
        return new TemplateLoadResult(new TemplateRenderer(templates, Checked(options)), errors);
    }

    /// <summary>Validates and parses templates given in code.</summary>
    /// <param name="templates">The templates.</param>
    /// <param name="options">Options, or <see langword="null"/> for the defaults.</param>
    /// <returns>A renderer of the templates that are valid, and every error of the others.</returns>
    public static TemplateLoadResult Load(IEnumerable<TemplateDocument> templates, TemplateRendererOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(templates);
        var compiled = new List<CompiledTemplate>();
        var errors = new List<TemplateError>();
        foreach (var document in templates)
        {
            var (template, templateErrors) = TemplateValidator.Compile(document);
            errors.AddRange(templateErrors);
            if (template is not null)
            {
                compiled.Add(template);
            }
        }

        return new TemplateLoadResult(new TemplateRenderer(compiled, Checked(options)), errors);
    }

    /// <summary>Renders a template for a channel.</summary>
    /// <param name="templateId">The template id.</param>
    /// <param name="channel">The channel, for example <c>email</c>.</param>
    /// <param name="context">The data and the facts that pick the variant.</param>
    /// <param name="cancellationToken">Stops a long render.</param>
    /// <returns>The rendered parts, or the errors: an unknown template, no variant for the channel, or a part that failed to render.</returns>
    public TemplateRenderResult Render(string templateId, string channel, RenderContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(templateId);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(context);
        if (!_templates.TryGetValue(templateId, out var template))
        {
            return TemplateRenderResult.Failure(new TemplateError(templateId, null, null, 0, 0, TemplateErrorKind.NotFound, $"No template '{templateId}' is loaded."));
        }

        var zone = ResolveTimeZone(context);
        var localNow = TimeZoneInfo.ConvertTime(context.Now, zone);
        var timeOfDay = TimesOfDay.Of(localNow);
        var seenDevice = context.Profile?.Statistics.Devices.MaxBy(d => d.LastSeen);
        var device = DeviceTypes.Normalize(context.DeviceType ?? context.Event?.Context?.DeviceType ?? seenDevice?.DeviceType);
        var os = context.Event?.Context?.Os ?? seenDevice?.Os;
        var requestedLocale = context.Locale ?? context.Event?.Context?.Locale ?? context.Profile?.Locale;
        var chain = LocaleChain(requestedLocale, _options.DefaultLocale);

        var selected = Select(template, channel, device, timeOfDay, chain);
        if (selected is null)
        {
            return TemplateRenderResult.Failure(new TemplateError(
                templateId,
                null,
                null,
                0,
                0,
                TemplateErrorKind.NotFound,
                $"Template '{templateId}' has no variant for channel '{channel}' (device {device ?? "unknown"}, locale {requestedLocale ?? "none"}, {TimesOfDay.Name(timeOfDay)})."));
        }

        Dictionary<string, object?> data;
        try
        {
            data = LiquidData.Build(context, localNow, device, os, zone);
        }
        catch (RenderDataException ex)
        {
            // Data nested thousands of levels deep overflowed the stack (the process ended); now the render fails with the path.
            return TemplateRenderResult.Failure(new TemplateError(templateId, selected.Variant.Name, null, 0, 0, TemplateErrorKind.Render, $"The data at {ex.Path} {ex.Reason}."));
        }

        var names = NamesCulture(selected.Variant.Locale);
        var budget = new RenderBudget(_options.MaxSteps, _options.RenderTimeout, _options.MaxOutputLength, _options.TimeProvider);
        var parts = new Dictionary<string, string>(StringComparer.Ordinal);
        var errors = new List<TemplateError>();
        foreach (var part in selected.Parts)
        {
            try
            {
                var limit = OutputLimit(channel, part.Name);
                var text = LiquidEngine.Render(part, data, localNow, limit < budget.MaxOutputLength ? budget with { MaxOutputLength = limit, MaxListTextLength = budget.MaxOutputLength } : budget, cancellationToken, zone, names);
                if (channel == ChannelNames.Email && part.Name == TemplateParts.Html)
                {
                    text = UrlAttributes.Neutralize(text);
                }
                else if (channel == ChannelNames.Email && part.Name == TemplateParts.Subject)
                {
                    text = OneLine(text);
                }
                else if (channel == ChannelNames.Sms && part.Name == TemplateParts.Body && text.Contains('\r', StringComparison.Ordinal))
                {
                    // A template file saved on Windows (or a trait from a Windows form) ends its lines with CR LF: phones show
                    // two line breaks, and each cost a character more, a second segment at 160 (alphagov/notifications-utils#460).
                    text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
                }
                else if (channel == ChannelNames.WhatsApp && part.Name.StartsWith("param", StringComparison.Ordinal))
                {
                    text = OneParameterLine(text);
                }

                parts[part.Name] = text;
                if (OverChannelLimit(channel, part.Name, text) is { } reason)
                {
                    errors.Add(new TemplateError(templateId, selected.Variant.Name, part.Name, 0, 0, TemplateErrorKind.Render, reason));
                }
            }
            catch (LiquidRenderException ex)
            {
                errors.Add(new TemplateError(templateId, selected.Variant.Name, part.Name, 0, 0, TemplateErrorKind.Render, ex.Message));
            }
        }

        if (errors.Count > 0)
        {
            return TemplateRenderResult.Failure([.. errors]);
        }

        return TemplateRenderResult.Success(new RenderedTemplate
        {
            TemplateId = templateId,
            Channel = channel,
            Variant = selected.Variant.Name,
            Locale = selected.Variant.Locale,
            Parts = parts,
        });
    }

    // The culture whose month and day names a variant's dates use: its own locale's, when .NET knows it, on the Gregorian
    // calendar (th-TH's default is the Buddhist one, year 2569; ar-SA's the Hijri one, fa-IR's the Persian one: the SDK
    // prints Gregorian dates everywhere else); else invariant. Made once per locale (a clone per render would cost).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, CultureInfo?> NamesCultures = new(StringComparer.Ordinal);

    private static CultureInfo? NamesCulture(string? locale) =>
        string.IsNullOrEmpty(locale) ? null : NamesCultures.GetOrAdd(locale, static locale =>
        {
            CultureInfo culture;
            try
            {
                culture = CultureInfo.GetCultureInfo(locale);
            }
            catch (CultureNotFoundException)
            {
                return null;
            }

            if (culture.Equals(CultureInfo.InvariantCulture))
            {
                return null;
            }

            if (culture.Calendar is GregorianCalendar)
            {
                return culture;
            }

            if (culture.OptionalCalendars.OfType<GregorianCalendar>().FirstOrDefault() is not { } gregorian)
            {
                return null; // names of a calendar whose dates are not printed
            }

            var onGregorian = (CultureInfo)culture.Clone();
            onGregorian.DateTimeFormat.Calendar = gregorian;
            return CultureInfo.ReadOnly(onGregorian);
        });

    // A subject is one header line: a line break from the data (a product name with a newline) or the source is folded
    // into a space, as a mail client would show it. System.Net.Mail refuses CR or LF in a subject, other transports would
    // pass it into a header.
    private static string OneLine(string text) =>
        text.AsSpan().IndexOfAny("\r\n\u0085\u2028\u2029") < 0 ? text : LineBreaks().Replace(text, " ").Trim();

    [System.Text.RegularExpressions.GeneratedRegex("[ \\t]*[\\r\\n\\u0085\\u2028\\u2029][ \\t\\r\\n\\u0085\\u2028\\u2029]*", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex LineBreaks();

    // Meta refuses a template parameter holding a line break, a tab or more than four spaces in a row (error 132018:
    // netflie/whatsapp-cloud-api#201, dimagi/open-chat-studio#4277), so an address or note with a line break failed every
    // send of the approved template. Such a run of white space becomes one space; a parameter without one is kept as is.
    private static string OneParameterLine(string text)
    {
        if (text.AsSpan().IndexOfAny("\t\r\n\v\f\u0085\u2028\u2029") < 0 && !text.Contains("     ", StringComparison.Ordinal))
        {
            return text;
        }

        // One pass over runs of white space (no regex: a long run must not cost its square).
        var sb = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length;)
        {
            if (!char.IsWhiteSpace(text[i]))
            {
                sb.Append(text[i++]);
                continue;
            }

            var run = i;
            var breaks = false;
            var spaces = 0;
            for (; i < text.Length && char.IsWhiteSpace(text[i]); i++)
            {
                spaces = text[i] == ' ' ? spaces + 1 : 0;
                breaks |= spaces > 4 || text[i] is '\t' or '\r' or '\n' or '\v' or '\f' or '\u0085' or '\u2028' or '\u2029';
            }

            _ = breaks ? sb.Append(' ') : sb.Append(text, run, i - run);
        }

        return sb.ToString().Trim();
    }

    // A cheap bound while rendering: an SMS segment holds at most 160 characters, a push byte at most one.
    private int OutputLimit(string channel, string part) => channel switch
    {
        ChannelNames.Sms when part == TemplateParts.Body => (int)Math.Min(_options.MaxOutputLength, 160L * _options.MaxSmsSegments),
        ChannelNames.Push => Math.Min(_options.MaxOutputLength, _options.MaxPushBytes),
        _ => _options.MaxOutputLength,
    };

    // The exact check once rendered: segments of an SMS, UTF-8 bytes of a push part.
    private string? OverChannelLimit(string channel, string part, string text)
    {
        if (channel == ChannelNames.Sms && part == TemplateParts.Body && Delivery.SmsEncoding.Analyze(text).SegmentCount is var segments && segments > _options.MaxSmsSegments)
        {
            return $"The SMS has {segments} segments; at most {_options.MaxSmsSegments} are allowed ({nameof(TemplateRendererOptions.MaxSmsSegments)}).";
        }

        if (channel == ChannelNames.Push && System.Text.Encoding.UTF8.GetByteCount(text) is var bytes && bytes > _options.MaxPushBytes)
        {
            return $"The push {part} is {bytes} bytes; at most {_options.MaxPushBytes} are allowed ({nameof(TemplateRendererOptions.MaxPushBytes)}).";
        }

        return null;
    }

    private TimeZoneInfo ResolveTimeZone(RenderContext context)
    {
        foreach (var id in new[] { context.TimeZone, context.Profile?.TimeZone })
        {
            if (id is not null && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone))
            {
                return zone;
            }
        }

        return _options.DefaultTimeZone;
    }

    private static TemplateRendererOptions Checked(TemplateRendererOptions? options)
    {
        options ??= new TemplateRendererOptions();
        ArgumentNullException.ThrowIfNull(options.DefaultTimeZone, nameof(options.DefaultTimeZone));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options.TimeProvider));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSteps, 1, nameof(options.MaxSteps));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RenderTimeout, TimeSpan.FromMilliseconds(1), nameof(options.RenderTimeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.RenderTimeout, TimeSpan.FromMinutes(1), nameof(options.RenderTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxOutputLength, 1024, nameof(options.MaxOutputLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSmsSegments, 1, nameof(options.MaxSmsSegments));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPushBytes, 256, nameof(options.MaxPushBytes));

        // A copy: options are mutable, a renderer is not.
        return new TemplateRendererOptions
        {
            DefaultTimeZone = options.DefaultTimeZone,
            DefaultLocale = options.DefaultLocale,
            MaxSteps = options.MaxSteps,
            RenderTimeout = options.RenderTimeout,
            TimeProvider = options.TimeProvider,
            MaxOutputLength = options.MaxOutputLength,
            MaxSmsSegments = options.MaxSmsSegments,
            MaxPushBytes = options.MaxPushBytes,
        };
    }
}
