namespace Omnichannel.Sdk.Templates;

/// <summary>
/// Reads templates from a folder: one sub-folder per template, one file per part of each variant.
/// </summary>
/// <remarks>
/// <para>Layout:</para>
/// <code>
/// &lt;root&gt;/&lt;templateId&gt;/&lt;channel&gt;[.&lt;device&gt;][.&lt;locale&gt;][.&lt;timeOfDay&gt;].&lt;part&gt;.liquid
///
/// templates/welcome/email.subject.liquid
/// templates/welcome/email.html.liquid
/// templates/welcome/email.text.liquid
/// templates/welcome/email.es.subject.liquid        (Spanish variant: its own parts)
/// templates/welcome/push.mobile.es-MX.morning.title.liquid
/// templates/welcome/whatsapp.template_name.liquid
/// templates/welcome/whatsapp.param1.liquid
/// </code>
/// <para>
/// The first dot-separated segment is the channel and the last is the part (see <see cref="TemplateParts"/>).
/// Segments between them may come in any order: <c>desktop</c>, <c>mobile</c> or <c>tablet</c> set the device type,
/// <c>morning</c>, <c>afternoon</c>, <c>evening</c> or <c>night</c> the time of day, and anything else the locale
/// (an invalid or second locale is reported by validation). Files with another extension are ignored, so a
/// README can sit beside the templates. Files are read as UTF-8 on every <see cref="GetAsync"/>: the renderer
/// reads once at load time.
/// </para>
/// </remarks>
public sealed class FileSystemTemplateSource : ITemplateSource
{
    /// <summary>The extension of template files.</summary>
    public const string Extension = ".liquid";

    private readonly string _root;

    /// <summary>Creates a source over a folder.</summary>
    /// <param name="rootPath">The folder that holds one sub-folder per template.</param>
    public FileSystemTemplateSource(string rootPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootPath);
        _root = Path.GetFullPath(rootPath);
    }

    /// <summary>The full path of the root folder.</summary>
    public string RootPath => _root;

    /// <inheritdoc />
    public async ValueTask<TemplateDocument?> GetAsync(string templateId, CancellationToken cancellationToken = default)
    {
        // The id check also keeps reads inside the root folder (no "..", no separators).
        if (!TemplateIds.IsValid(templateId))
        {
            return null;
        }

        var folder = Path.Combine(_root, templateId);
        if (!Directory.Exists(folder))
        {
            return null;
        }

        var variants = new Dictionary<string, (TemplateVariant Variant, Dictionary<string, string> Parts)>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*" + Extension).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stem = Path.GetFileName(file)[..^Extension.Length];
            var (variant, part) = ParseFileName(stem);
            if (!variants.TryGetValue(variant.Name, out var entry))
            {
                entry = (variant, new Dictionary<string, string>(StringComparer.Ordinal));
                variants.Add(variant.Name, entry);
            }

            entry.Parts[part] = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
        }

        return new TemplateDocument(templateId, [.. variants.Values.Select(v => v.Variant with { Parts = v.Parts })]);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListIdsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!Directory.Exists(_root))
        {
            return ValueTask.FromResult<IReadOnlyList<string>>([]);
        }

        IReadOnlyList<string> ids = [.. Directory.EnumerateDirectories(_root)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(TemplateIds.IsValid)
            .Order(StringComparer.Ordinal)];
        return ValueTask.FromResult(ids);
    }

    // "push.mobile.es-MX.morning.title" → (push variant for mobile, es-MX, morning; part "title").
    internal static (TemplateVariant Variant, string Part) ParseFileName(string stem)
    {
        var segments = stem.Split('.');
        var part = segments.Length > 1 ? segments[^1] : string.Empty;
        string? device = null;
        string? locale = null;
        TimeOfDay? timeOfDay = null;
        for (var i = 1; i < segments.Length - 1; i++)
        {
            var s = segments[i];
            if (device is null && DeviceTypes.All.Contains(s))
            {
                device = s;
            }
            else if (timeOfDay is null && TimesOfDay.TryParse(s, out var t))
            {
                timeOfDay = t;
            }
            else
            {
                // Anything else is a locale; a second one is kept (joined) so validation can name it.
                locale = locale is null ? s : locale + "." + s;
            }
        }

        var variant = new TemplateVariant
        {
            Channel = segments[0],
            DeviceType = device,
            Locale = locale,
            TimeOfDay = timeOfDay,
            Parts = new Dictionary<string, string>(),
        };
        return (variant, part);
    }
}
