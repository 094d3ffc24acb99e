using System.Diagnostics.CodeAnalysis;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>One problem in a journey definition.</summary>
/// <param name="Path">Where it is, as a JSON path into the definition's JSON form (<c>$.steps[3].branches[0].condition.all[1].op</c>).</param>
/// <param name="Message">What is wrong and what was expected.</param>
public sealed record JourneyDefinitionError(string Path, string Message)
{
    /// <summary><c>path: message</c>.</summary>
    public override string ToString() => $"{Path}: {Message}";

    internal static IReadOnlyList<JourneyDefinitionError> Sort(IEnumerable<JourneyDefinitionError> errors) =>
        errors.Distinct().OrderBy(e => e.Path, JsonPathOrder.Instance).ToList();
}

/// <summary>The outcome of loading one journey definition: the definition, or every error (never both).</summary>
public sealed class JourneyParseResult
{
    internal JourneyParseResult(JourneyDefinition? definition, IReadOnlyList<JourneyDefinitionError> errors)
    {
        // An invalid definition never half-loads.
        Definition = errors.Count == 0 ? definition : null;
        Errors = JourneyDefinitionError.Sort(errors);
    }

    /// <summary>The definition, or <see langword="null"/> when there is any error.</summary>
    public JourneyDefinition? Definition { get; }

    /// <summary>Every error found, each with its JSON path, ordered by path; empty when valid.</summary>
    public IReadOnlyList<JourneyDefinitionError> Errors { get; }

    /// <summary>Whether the definition loaded (no errors).</summary>
    [MemberNotNullWhen(true, nameof(Definition))]
    public bool IsValid => Definition is not null;
}

/// <summary>The outcome of loading an array of journey definitions: all of them, or every error (never a part).</summary>
public sealed class JourneySetParseResult
{
    internal JourneySetParseResult(IReadOnlyList<JourneyDefinition>? definitions, IReadOnlyList<JourneyDefinitionError> errors)
    {
        Definitions = errors.Count == 0 ? definitions : null;
        Errors = JourneyDefinitionError.Sort(errors);
    }

    /// <summary>The definitions in the order given, or <see langword="null"/> when there is any error.</summary>
    public IReadOnlyList<JourneyDefinition>? Definitions { get; }

    /// <summary>Every error found, ordered by path (paths start with the definition's index, <c>$[2].steps[0]</c>); empty when valid.</summary>
    public IReadOnlyList<JourneyDefinitionError> Errors { get; }

    /// <summary>Whether every definition loaded and no id and version appears twice.</summary>
    [MemberNotNullWhen(true, nameof(Definitions))]
    public bool IsValid => Definitions is not null;
}

/// <summary>Thrown by the fluent builder when the definition it would build is invalid; lists every error.</summary>
public sealed class JourneyDefinitionException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">Every error, each with its JSON path.</param>
    public JourneyDefinitionException(IReadOnlyList<JourneyDefinitionError> errors)
        : base(Describe(errors)) => Errors = errors;

    /// <summary>Every error, each with its JSON path.</summary>
    public IReadOnlyList<JourneyDefinitionError> Errors { get; }

    private static string Describe(IReadOnlyList<JourneyDefinitionError> errors) =>
        $"The journey definition is invalid ({errors.Count} error{(errors.Count == 1 ? string.Empty : "s")}):" +
        string.Concat(errors.Select(e => Environment.NewLine + "  " + e));
}
