using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// Where templates come from: the host plugs in its own (a database, a CMS) or uses
/// <see cref="InMemoryTemplateSource"/> or <see cref="FileSystemTemplateSource"/>.
/// </summary>
/// <remarks>
/// <see cref="TemplateRenderer.LoadAsync"/> lists every id, reads every template and validates it once at load time,
/// so a source does not need to cache. Members return <see cref="ValueTask{TResult}"/> because in-memory sources
/// complete synchronously.
/// </remarks>
public interface ITemplateSource
{
    /// <summary>Reads one template.</summary>
    /// <param name="templateId">The template id.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The template, or <see langword="null"/> when the source has no template with this id.</returns>
    ValueTask<TemplateDocument?> GetAsync(string templateId, CancellationToken cancellationToken = default);

    /// <summary>Lists the ids of every template the source holds, so they can all be validated at load time.</summary>
    /// <param name="cancellationToken">Cancels the listing.</param>
    ValueTask<IReadOnlyList<string>> ListIdsAsync(CancellationToken cancellationToken = default);
}

/// <summary>Template ids: letters, digits, <c>_</c>, <c>-</c> and <c>.</c>, not starting with <c>.</c> or <c>-</c>, at most 200 characters.</summary>
internal static partial class TemplateIds
{
    public static bool IsValid(string? id) => id is { Length: > 0 and <= 200 } && IdPattern().IsMatch(id) && !id.Contains("..", StringComparison.Ordinal);

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}

/// <summary>A thread-safe template source held in memory: for tests, samples and hosts that build templates in code.</summary>
public sealed class InMemoryTemplateSource : ITemplateSource
{
    private readonly ConcurrentDictionary<string, TemplateDocument> _templates = new(StringComparer.Ordinal);

    /// <summary>Creates a source holding the given templates.</summary>
    /// <param name="templates">The templates; a later one with the same id replaces an earlier one.</param>
    public InMemoryTemplateSource(params IEnumerable<TemplateDocument> templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        foreach (var t in templates)
        {
            Set(t);
        }
    }

    /// <summary>Adds a template or replaces the one with the same id.</summary>
    /// <param name="template">The template.</param>
    public void Set(TemplateDocument template)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (!TemplateIds.IsValid(template.Id))
        {
            throw new ArgumentException($"Template id '{template.Id}' is not valid: use letters, digits, '_', '-' and '.'.", nameof(template));
        }

        _templates[template.Id] = template;
    }

    /// <summary>Removes a template.</summary>
    /// <param name="templateId">The template id.</param>
    /// <returns><see langword="true"/> when it was there.</returns>
    public bool Remove(string templateId) => _templates.TryRemove(templateId, out _);

    /// <inheritdoc />
    public ValueTask<TemplateDocument?> GetAsync(string templateId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_templates.GetValueOrDefault(templateId));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListIdsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<IReadOnlyList<string>>([.. _templates.Keys.Order(StringComparer.Ordinal)]);
    }
}
