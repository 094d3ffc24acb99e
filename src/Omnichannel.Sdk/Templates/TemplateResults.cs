using System.Globalization;

namespace Omnichannel.Sdk.Templates;

/// <summary>What kind of problem a <see cref="TemplateError"/> reports.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<TemplateErrorKind>))]
public enum TemplateErrorKind
{
    /// <summary>Liquid syntax: an unclosed <c>{{</c> or <c>{%</c>, an unterminated string, a malformed tag.</summary>
    Syntax,

    /// <summary>A tag Liquid does not know, or one not allowed in message templates (<c>include</c>).</summary>
    UnknownTag,

    /// <summary>A block (<c>if</c>, <c>for</c>…) that is never closed.</summary>
    UnclosedBlock,

    /// <summary>A tag in the wrong place: <c>endif</c> without <c>if</c>, <c>else</c> outside a block, <c>break</c> outside a loop.</summary>
    UnexpectedTag,

    /// <summary>A reference to data the renderer never provides.</summary>
    UnknownData,

    /// <summary>A filter that does not exist.</summary>
    UnknownFilter,

    /// <summary>A variant with an invalid channel, device type or locale, or two variants for the same combination.</summary>
    InvalidVariant,

    /// <summary>A part the channel requires is missing, or a part the channel does not have is present.</summary>
    InvalidPart,

    /// <summary>The template or a variant for the channel was not found.</summary>
    NotFound,

    /// <summary>Rendering failed (for example a filter failed on the data, or a loop ran too long).</summary>
    Render,

    /// <summary>
    /// A literal argument with which a filter or tag fails for every customer: <c>divided_by: 0</c>, <c>modulo: 0</c>, a
    /// <c>format_number</c> or <c>format_date</c> format .NET refuses, a negative <c>offset:</c> on a loop, a length or
    /// count past the largest the engine takes. Refused at load, with the literal's line and column.
    /// </summary>
    InvalidArgument,
}

/// <summary>One problem found in a template, with where it is.</summary>
/// <param name="TemplateId">The template id.</param>
/// <param name="Variant">The variant name (<see cref="TemplateVariant.Name"/>), when the problem is in one.</param>
/// <param name="Part">The part name, when the problem is in one.</param>
/// <param name="Line">The 1-based line in the part's source, or 0 when the problem has no position.</param>
/// <param name="Column">The 1-based column in the part's source, or 0 when the problem has no position.</param>
/// <param name="Kind">What kind of problem.</param>
/// <param name="Message">What is wrong, in words.</param>
public sealed record TemplateError(string TemplateId, string? Variant, string? Part, int Line, int Column, TemplateErrorKind Kind, string Message)
{
    /// <summary>The error as <c>welcome/email.es.html(3,14): message</c>.</summary>
    public override string ToString()
    {
        var where = TemplateId;
        if (Variant is not null)
        {
            where += "/" + Variant;
            if (Part is not null)
            {
                where += "." + Part;
            }
        }

        if (Line > 0)
        {
            where += string.Create(CultureInfo.InvariantCulture, $"({Line},{Column})");
        }

        return where + ": " + Message;
    }
}

/// <summary>The outcome of <see cref="TemplateRenderer.LoadAsync"/>: a renderer of the valid templates, and every error found.</summary>
/// <param name="Renderer">A renderer holding every template that had no error.</param>
/// <param name="Errors">Every error of every template, in template, variant, part and position order.</param>
public sealed record TemplateLoadResult(TemplateRenderer Renderer, IReadOnlyList<TemplateError> Errors)
{
    /// <summary>Whether every template loaded without error.</summary>
    public bool Succeeded => Errors.Count == 0;
}

/// <summary>A template rendered for one channel: the selected variant and the text of each part.</summary>
public sealed record RenderedTemplate
{
    /// <summary>The template id.</summary>
    public required string TemplateId { get; init; }

    /// <summary>The channel.</summary>
    public required string Channel { get; init; }

    /// <summary>The name of the selected variant, for example <c>email.es</c> (useful as message metadata).</summary>
    public required string Variant { get; init; }

    /// <summary>The selected variant's locale, or <see langword="null"/> for the default-locale variant.</summary>
    public string? Locale { get; init; }

    /// <summary>Rendered text per part name.</summary>
    public required IReadOnlyDictionary<string, string> Parts { get; init; }

    /// <summary>The email subject.</summary>
    public string? Subject => Part(TemplateParts.Subject);

    /// <summary>The email HTML body (values HTML-escaped).</summary>
    public string? Html => Part(TemplateParts.Html);

    /// <summary>The plain text: email text body, WhatsApp free text or in-app text.</summary>
    public string? Text => Part(TemplateParts.Text);

    /// <summary>The SMS or push body.</summary>
    public string? Body => Part(TemplateParts.Body);

    /// <summary>The push title.</summary>
    public string? Title => Part(TemplateParts.Title);

    /// <summary>The push deep link.</summary>
    public string? DeepLink => Part(TemplateParts.DeepLink);

    /// <summary>The WhatsApp approved template name.</summary>
    public string? TemplateName => Part(TemplateParts.TemplateName);

    /// <summary>The WhatsApp template parameters in order (<c>param1</c>, <c>param2</c>…).</summary>
    public IReadOnlyList<string> Parameters
    {
        get
        {
            var list = new List<string>();
            for (var i = 1; Parts.TryGetValue(TemplateParts.Parameter(i), out var p); i++)
            {
                list.Add(p);
            }

            return list;
        }
    }

    /// <summary>A part's rendered text, or <see langword="null"/> when the variant has no such part.</summary>
    /// <param name="name">The part name.</param>
    public string? Part(string name) => Parts.GetValueOrDefault(name);
}

/// <summary>The outcome of <see cref="TemplateRenderer.Render"/>: the rendered template or the errors that prevented it.</summary>
public sealed record TemplateRenderResult
{
    private TemplateRenderResult(RenderedTemplate? value, IReadOnlyList<TemplateError> errors)
    {
        Value = value;
        Errors = errors;
    }

    /// <summary>The rendered template when <see cref="Succeeded"/>.</summary>
    public RenderedTemplate? Value { get; }

    /// <summary>Why rendering failed; empty when <see cref="Succeeded"/>.</summary>
    public IReadOnlyList<TemplateError> Errors { get; }

    /// <summary>Whether rendering succeeded.</summary>
    public bool Succeeded => Value is not null;

    /// <summary>The rendered template, or a <see cref="TemplateRenderException"/> carrying the errors.</summary>
    public RenderedTemplate GetValueOrThrow() => Value ?? throw new TemplateRenderException(Errors);

    internal static TemplateRenderResult Success(RenderedTemplate value) => new(value, []);

    internal static TemplateRenderResult Failure(params TemplateError[] errors) => new(null, errors);
}

/// <summary>A template could not be rendered. Retrying with the same template and data fails the same way.</summary>
public sealed class TemplateRenderException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">The errors.</param>
    public TemplateRenderException(IReadOnlyList<TemplateError> errors)
        : base("The template could not be rendered: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    private TemplateRenderException(IReadOnlyList<TemplateError> errors, string message)
        : base(message)
    {
        Errors = errors;
    }

    /// <summary>
    /// The templates of a source failed their checks at load (the engine does not start): every error on a line of
    /// its own, each naming its template, variant, part, line and column.
    /// </summary>
    internal static TemplateRenderException AtLoad(IReadOnlyList<TemplateError> errors) =>
        new(errors, $"The templates could not be loaded ({errors.Count} error{(errors.Count == 1 ? "" : "s")}; each names template/variant.part(line,column)):"
            + string.Concat(errors.Select(e => "\n  " + e)));

    /// <summary>The errors.</summary>
    public IReadOnlyList<TemplateError> Errors { get; }
}
