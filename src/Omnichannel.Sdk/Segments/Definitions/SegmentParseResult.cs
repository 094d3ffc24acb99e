using System.Diagnostics.CodeAnalysis;

namespace Omnichannel.Sdk.Segments;

/// <summary>One problem in a segment definition.</summary>
/// <param name="Path">Where it is, as a JSON path into the definition's JSON form (<c>$.rule.all[1].count.op</c>).</param>
/// <param name="Message">What is wrong and what was expected.</param>
public sealed record SegmentDefinitionError(string Path, string Message)
{
    /// <summary><c>path: message</c>.</summary>
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>The outcome of loading one segment definition: the definition, or every error (never both).</summary>
public sealed class SegmentParseResult
{
    internal SegmentParseResult(SegmentDefinition? definition, IReadOnlyList<SegmentDefinitionError> errors)
    {
        // An invalid definition never half-loads.
        Definition = errors.Count == 0 ? definition : null;
        Errors = JsonPathOrder.Sort(errors);
    }

    /// <summary>The definition, or <see langword="null"/> when there is any error.</summary>
    public SegmentDefinition? Definition { get; }

    /// <summary>Every error found, each with its JSON path, node by node (ordered by path); empty when valid.</summary>
    public IReadOnlyList<SegmentDefinitionError> Errors { get; }

    /// <summary>Whether the definition loaded (no errors).</summary>
    [MemberNotNullWhen(true, nameof(Definition))]
    public bool IsValid => Definition is not null;
}

/// <summary>The outcome of loading an array of segment definitions: all of them, or every error (never a part).</summary>
public sealed class SegmentSetParseResult
{
    internal SegmentSetParseResult(IReadOnlyList<SegmentDefinition>? definitions, IReadOnlyList<SegmentDefinitionError> errors)
    {
        Definitions = errors.Count == 0 ? definitions : null;
        Errors = JsonPathOrder.Sort(errors);
    }

    /// <summary>The definitions in the order given, or <see langword="null"/> when there is any error.</summary>
    public IReadOnlyList<SegmentDefinition>? Definitions { get; }

    /// <summary>Every error found, ordered by path (paths start with the definition's index, <c>$[2].rule</c>); empty when valid.</summary>
    public IReadOnlyList<SegmentDefinitionError> Errors { get; }

    /// <summary>Whether every definition loaded and the set is consistent.</summary>
    [MemberNotNullWhen(true, nameof(Definitions))]
    public bool IsValid => Definitions is not null;
}

/// <summary>Thrown by the fluent builder when the definition it would build is invalid; lists every error.</summary>
public sealed class SegmentDefinitionException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">Every error, each with its JSON path.</param>
    public SegmentDefinitionException(IReadOnlyList<SegmentDefinitionError> errors)
        : base(Describe(errors)) => Errors = errors;

    /// <summary>Every error, each with its JSON path.</summary>
    public IReadOnlyList<SegmentDefinitionError> Errors { get; }

    private static string Describe(IReadOnlyList<SegmentDefinitionError> errors) =>
        $"The segment definition is invalid ({errors.Count} error{(errors.Count == 1 ? string.Empty : "s")}):" +
        string.Concat(errors.Select(e => Environment.NewLine + "  " + e));
}
