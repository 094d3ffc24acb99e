using System.Diagnostics.CodeAnalysis;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk;

/// <summary>
/// One problem in a segment or journey definition (or a set of them), wherever it was found: the JSON reader, the
/// validators, the fluent builders.
/// </summary>
/// <param name="Path">
/// Where it is, as a JSON path into the definition's JSON form: <c>$.rule.all[1].count.op</c>,
/// <c>$.steps[3].branches[0].condition</c>; in a set, starting with the definition's index (<c>$[2].rule</c>).
/// </param>
/// <param name="Message">
/// What is wrong and what was expected. A message longer than 1,000 characters (one quoting a 100,000-character value
/// from the document) keeps its first and last 480 characters around a note of how many were left out.
/// </param>
public sealed record DefinitionError(string Path, string Message)
{
    private const int MaxMessageLength = 1_000;
    private const int KeptAtEachEnd = 480;

    private readonly string _message = Shorten(Message);

    /// <summary>What is wrong and what was expected (at most about 1,000 characters).</summary>
    public string Message
    {
        get => _message;
        init => _message = Shorten(value);
    }

    /// <summary><c>path: message</c>.</summary>
    public override string ToString() => $"{Path}: {Message}";

    // Every reader and validator quotes the value it refuses ('{value}'): a hostile document's 100,000-character operator
    // or duration made an error (and every log line and exception listing it) of 100,000 characters. The start (what,
    // and the value's beginning) and the end (what was expected) are kept; a surrogate pair is never split.
    private static string Shorten(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Length <= MaxMessageLength)
        {
            return message;
        }

        var head = char.IsHighSurrogate(message[KeptAtEachEnd - 1]) ? KeptAtEachEnd - 1 : KeptAtEachEnd;
        var tailStart = message.Length - KeptAtEachEnd;
        tailStart = char.IsLowSurrogate(message[tailStart]) ? tailStart + 1 : tailStart;
        return string.Concat(
            message.AsSpan(0, head),
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"…({tailStart - head:N0} characters left out)…"),
            message.AsSpan(tailStart));
    }

    internal static IReadOnlyList<DefinitionError> Sort(IEnumerable<DefinitionError> errors) =>
        errors.Distinct().OrderBy(e => e.Path, JsonPathOrder.Instance).ToList();
}

/// <summary>
/// The outcome of parsing a definition (<c>SegmentJson.Parse</c>, <c>JourneyJson.Parse</c>) or a set of them
/// (<c>ParseMany</c>): the value, or every error with its JSON path — never both, so an invalid definition never
/// half-loads.
/// </summary>
/// <typeparam name="T">A <see cref="SegmentDefinition"/>, a <see cref="Journeys.JourneyDefinition"/>, or a list of either.</typeparam>
public sealed class ParseResult<T>
    where T : class
{
    internal ParseResult(T? value, IReadOnlyList<DefinitionError> errors)
    {
        Value = errors.Count == 0 ? value : null;
        Errors = DefinitionError.Sort(errors);
    }

    /// <summary>The definition (or the definitions, in the order given), or <see langword="null"/> when there is any error.</summary>
    public T? Value { get; }

    /// <summary>Every error found, each with its JSON path, ordered by path; empty when valid.</summary>
    public IReadOnlyList<DefinitionError> Errors { get; }

    /// <summary>Whether it parsed and validated (no errors); then <see cref="Value"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Value))]
    public bool IsValid => Value is not null;
}

/// <summary>
/// A segment or journey definition is invalid: thrown by the fluent builders, by <c>AddSegmentsFromJson</c> /
/// <c>AddJourneysFromJson</c> and by loading at run time. Lists every error with its JSON path. Catch it to handle
/// both kinds; <see cref="Segments.SegmentDefinitionException"/> and <see cref="Journeys.JourneyDefinitionException"/>
/// say which.
/// </summary>
public abstract class DefinitionException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">"segment", "journey".</param>
    /// <param name="errors">Every error, each with its JSON path.</param>
    private protected DefinitionException(string kind, IReadOnlyList<DefinitionError> errors)
        : base($"The {kind} definition is invalid ({errors.Count} error{(errors.Count == 1 ? string.Empty : "s")}):" +
               string.Concat(errors.Select(e => Environment.NewLine + "  " + e))) => Errors = errors;

    /// <summary>Every error, each with its JSON path.</summary>
    public IReadOnlyList<DefinitionError> Errors { get; }
}
