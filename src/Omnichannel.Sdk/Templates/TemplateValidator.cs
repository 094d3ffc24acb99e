using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// Checks templates before they are used: variant dimensions, the parts each channel needs, Liquid syntax
/// (with line and column), unknown tags and filters, and references to data the renderer never provides.
/// </summary>
/// <remarks>
/// <see cref="TemplateRenderer.LoadAsync"/> runs the same checks; use this class on its own to check templates
/// in a build step or an editor. Positions are 1-based and relative to the part's own source.
/// </remarks>
public sealed partial class TemplateValidator
{
    /// <summary>Validates one template.</summary>
    /// <param name="template">The template.</param>
    /// <returns>Every error found; empty when the template is valid.</returns>
    public IReadOnlyList<TemplateError> Validate(TemplateDocument template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return Compile(template).Errors;
    }

    /// <summary>Validates every template of a source.</summary>
    /// <param name="source">The source.</param>
    /// <param name="cancellationToken">Cancels reading the source.</param>
    /// <returns>Every error of every template; empty when all are valid.</returns>
    public async ValueTask<IReadOnlyList<TemplateError>> ValidateAsync(ITemplateSource source, CancellationToken cancellationToken = default)
    {
        var (_, errors) = await CompileAllAsync(source, cancellationToken).ConfigureAwait(false);
        return errors;
    }

    internal static async ValueTask<(List<CompiledTemplate> Templates, List<TemplateError> Errors)> CompileAllAsync(
        ITemplateSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var templates = new List<CompiledTemplate>();
        var errors = new List<TemplateError>();
        foreach (var id in await source.ListIdsAsync(cancellationToken).ConfigureAwait(false))
        {
            var document = await source.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (document is null)
            {
                errors.Add(new TemplateError(id, null, null, 0, 0, TemplateErrorKind.NotFound, "The source listed this template but could not read it."));
                continue;
            }

            var (compiled, templateErrors) = Compile(document);
            errors.AddRange(templateErrors);
            if (compiled is not null)
            {
                templates.Add(compiled);
            }
        }

        return (templates, errors);
    }

    /// <summary>Checks and parses a template; the compiled template is returned only when there is no error.</summary>
    internal static (CompiledTemplate? Template, IReadOnlyList<TemplateError> Errors) Compile(TemplateDocument document)
    {
        var errors = new List<TemplateError>();
        var id = document.Id;
        if (!TemplateIds.IsValid(id))
        {
            errors.Add(new TemplateError(id ?? string.Empty, null, null, 0, 0, TemplateErrorKind.InvalidVariant, "The template id is not valid: use letters, digits, '_', '-' and '.'."));
        }

        if (document.Variants is not { Count: > 0 })
        {
            errors.Add(new TemplateError(id ?? string.Empty, null, null, 0, 0, TemplateErrorKind.InvalidVariant, "The template has no variants."));
            return (null, errors);
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var variants = new List<CompiledVariant>();
        foreach (var variant in document.Variants)
        {
            var name = variant.Name;
            void Add(string? part, TemplateErrorKind kind, string message, int line = 0, int column = 0) =>
                errors.Add(new TemplateError(id ?? string.Empty, name, part, line, column, kind, message));

            if (!ChannelName().IsMatch(variant.Channel ?? string.Empty))
            {
                Add(null, TemplateErrorKind.InvalidVariant, $"'{variant.Channel}' is not a channel name (lower-case letters, digits and '_').");
            }

            if (variant.DeviceType is { } device && !DeviceTypes.All.Contains(device))
            {
                Add(null, TemplateErrorKind.InvalidVariant, $"'{device}' is not a device type: use {string.Join(", ", DeviceTypes.All)}.");
            }

            if (variant.Locale is { } locale && !LocaleTag().IsMatch(locale))
            {
                Add(null, TemplateErrorKind.InvalidVariant, $"'{locale}' is not a locale: use a BCP 47 tag such as 'es' or 'es-MX'.");
            }

            if (!seen.Add(name))
            {
                Add(null, TemplateErrorKind.InvalidVariant, $"Two variants are named '{name}': each combination of channel, device, locale and time of day may appear once.");
            }

            foreach (var (part, message) in CheckParts(variant))
            {
                Add(part, TemplateErrorKind.InvalidPart, message);
            }

            var parts = new List<CompiledPart>();
            foreach (var (part, source) in (variant.Parts ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var mode = variant.Channel == ChannelNames.Email && part == TemplateParts.Html ? LiquidOutputMode.Html : LiquidOutputMode.Text;
                var scan = LiquidScanner.Scan(source ?? string.Empty, LiquidEngine.FilterExists, mode);
                foreach (var issue in scan.Issues)
                {
                    Add(part, issue.Kind, issue.Message, issue.Line, issue.Column);
                }

                // Structural problems are already reported with positions; the engine would only repeat them.
                if (scan.Issues.Any(i => i.Kind is not (TemplateErrorKind.UnknownData or TemplateErrorKind.UnknownFilter)))
                {
                    continue;
                }

                var compiled = LiquidEngine.TryParse(part, scan.EscapedSource ?? source ?? string.Empty, out var engineError);
                if (compiled is null)
                {
                    // The engine parsed the source with the escaping filters added: its message and position are read again
                    // from the author's own source, so they name what she wrote, where she wrote it.
                    if (scan.EscapedSource is not null && LiquidEngine.TryParse(part, source ?? string.Empty, out var ownError) is null)
                    {
                        engineError = ownError;
                    }

                    var (line, column) = Locate(source ?? string.Empty, scan.Tokens);
                    var (message, engineLine, engineColumn) = EngineMessage(engineError);
                    Add(part, TemplateErrorKind.Syntax, message, line > 0 ? line : engineLine, line > 0 ? column : engineColumn);
                    continue;
                }

                parts.Add(compiled);
            }

            variants.Add(new CompiledVariant(variant, parts));
        }

        return errors.Count == 0 ? (new CompiledTemplate(id!, variants), errors) : (null, errors);
    }

    private static IEnumerable<(string? Part, string Message)> CheckParts(TemplateVariant variant)
    {
        var parts = variant.Parts ?? new Dictionary<string, string>();
        bool Has(string p) => parts.ContainsKey(p);
        string[] allowed;
        switch (variant.Channel)
        {
            case ChannelNames.Email:
                allowed = [TemplateParts.Subject, TemplateParts.Html, TemplateParts.Text];
                if (!Has(TemplateParts.Subject))
                {
                    yield return (null, "An email variant needs a 'subject' part.");
                }

                if (!Has(TemplateParts.Html) && !Has(TemplateParts.Text))
                {
                    yield return (null, "An email variant needs an 'html' or a 'text' part.");
                }

                break;

            case ChannelNames.Sms:
                allowed = [TemplateParts.Body];
                if (!Has(TemplateParts.Body))
                {
                    yield return (null, "An sms variant needs a 'body' part.");
                }

                break;

            case ChannelNames.Push:
                allowed = [TemplateParts.Title, TemplateParts.Body, TemplateParts.DeepLink];
                if (!Has(TemplateParts.Title) || !Has(TemplateParts.Body))
                {
                    yield return (null, "A push variant needs a 'title' and a 'body' part.");
                }

                break;

            case ChannelNames.WhatsApp:
                var parameterCount = parts.Keys.Count(k => ParameterName().IsMatch(k));
                allowed = [TemplateParts.TemplateName, TemplateParts.Text, .. Enumerable.Range(1, parameterCount).Select(TemplateParts.Parameter)];
                if (Has(TemplateParts.TemplateName) == Has(TemplateParts.Text))
                {
                    yield return (null, "A whatsapp variant needs either a 'template_name' part (with param1, param2…) or a 'text' part, not both.");
                }

                if (parameterCount > 0 && !Has(TemplateParts.TemplateName))
                {
                    yield return (null, "WhatsApp parameters need a 'template_name' part.");
                }

                break;

            case ChannelNames.InApp:
                allowed = [TemplateParts.Text];
                if (!Has(TemplateParts.Text))
                {
                    yield return (null, "An in_app variant needs a 'text' part.");
                }

                break;

            default:
                if (parts.Count == 0)
                {
                    yield return (null, "The variant has no parts.");
                }

                foreach (var part in parts.Keys.Where(p => !ChannelName().IsMatch(p)))
                {
                    yield return (part, $"'{part}' is not a part name (lower-case letters, digits and '_').");
                }

                yield break;
        }

        foreach (var part in parts.Keys.Where(p => !allowed.Contains(p)).Order(StringComparer.Ordinal))
        {
            yield return (part, $"A {variant.Channel} variant has no part '{part}': its parts are {string.Join(", ", allowed)}.");
        }
    }

    // The engine's messages have no position: find the first token the engine rejects on its own.
    private static (int Line, int Column) Locate(string source, IReadOnlyList<LiquidToken> tokens)
    {
        foreach (var token in tokens)
        {
            var probe = token.TagName switch
            {
                null => token.Text,
                "if" or "unless" or "case" or "for" or "tablerow" or "capture" or "ifchanged" => token.Text + "{% end" + token.TagName + " %}",
                "elsif" or "elseif" or "else" => "{% if true %}" + token.Text + "{% endif %}",
                "when" => "{% case 1 %}" + token.Text + "{% endcase %}",
                "break" or "continue" => "{% for i in (1..1) %}" + token.Text + "{% endfor %}",
                { } name when name.StartsWith("end", StringComparison.Ordinal) => null,
                _ => token.Text,
            };
            if (probe is not null && LiquidEngine.TryParse("probe", probe, out _) is null)
            {
                return LiquidScanner.PositionIn(source, token.Index);
            }
        }

        return (0, 0);
    }

    // Fluid's message: "… at (line:column)", then "Source:" and the whole source; the position goes into the error's fields.
    private static (string Message, int Line, int Column) EngineMessage(string? engineError)
    {
        if (engineError is null)
        {
            return ("The Liquid engine rejected this part.", 1, 1);
        }

        var end = engineError.IndexOf("\nSource:", StringComparison.Ordinal);
        var message = (end < 0 ? engineError : engineError[..end]).TrimEnd();
        return EnginePosition().Match(message) is { Success: true } m
            && int.TryParse(m.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture, out var line)
            && int.TryParse(m.Groups[2].ValueSpan, System.Globalization.CultureInfo.InvariantCulture, out var column)
            && line >= 1 && column >= 1
            ? (message, line, column)
            : (message, 1, 1);
    }

    [GeneratedRegex(@"\((\d{1,9}):(\d{1,9})\)", RegexOptions.CultureInvariant | RegexOptions.RightToLeft)]
    private static partial Regex EnginePosition();

    [GeneratedRegex("^[a-z][a-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ChannelName();

    [GeneratedRegex("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", RegexOptions.CultureInvariant)]
    private static partial Regex LocaleTag();

    [GeneratedRegex("^param[1-9][0-9]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();
}

/// <summary>A validated template with its parts parsed.</summary>
internal sealed record CompiledTemplate(string Id, IReadOnlyList<CompiledVariant> Variants);

/// <summary>A validated variant with its parts parsed.</summary>
internal sealed record CompiledVariant(TemplateVariant Variant, IReadOnlyList<CompiledPart> Parts);
