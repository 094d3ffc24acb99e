namespace Omnichannel.Sdk.AspNetCore.Implementation;

/// <summary>One message turned into an event, or every reason it could not be.</summary>
internal sealed record MappedMessage(CustomerEvent? Event, IReadOnlyList<ValidationError> Errors, string? MessageId)
{
    /// <summary>The Spec field each of the event's identifiers came from (<c>userId</c>, <c>traits.email</c>…), by index.</summary>
    public IReadOnlyList<string> IdentifierFields { get; init; } = [];

    /// <summary>The Spec field the event's traits came from: <c>traits</c>, or <c>context.traits</c> (an identify with none of its own).</summary>
    public string TraitsField { get; init; } = "traits";

    /// <summary>
    /// Context the mapper left out of the event (a value too long or with a control character, a device id or a
    /// <c>context.traits</c> identifier the SDK cannot hold), in the message's own terms and never by value: answered
    /// under <c>ignored</c> with what the engine did not apply.
    /// </summary>
    public IReadOnlyList<ValidationError> LeftOut { get; init; } = [];

    private const string EngineTimeZoneField = "context.timeZone";

    /// <summary>
    /// The engine's errors (and the parts it ignored) in the terms of the message the client sent:
    /// <c>identifiers[1].value</c> names the field the identifier came from (<c>traits.email</c>), <c>traits.…</c> the
    /// object they came from (<c>context.traits.…</c>), and <c>context.timeZone</c> is the Spec's <c>context.timezone</c>;
    /// every other field is the same in both.
    /// </summary>
    public IReadOnlyList<ValidationError> InMessageTerms(IReadOnlyList<ValidationError> errors)
    {
        var traitsMoved = TraitsField != "traits" && errors.Any(e => IsTraitsField(e.Field));
        if (!traitsMoved && !errors.Any(e => e.Field == EngineTimeZoneField) && (IdentifierFields.Count == 0 || !errors.Any(e => e.Field.StartsWith("identifiers[", StringComparison.Ordinal))))
        {
            return errors;
        }

        return [.. errors.Select(e =>
        {
            if (traitsMoved && IsTraitsField(e.Field))
            {
                // Review of audit U65: a key of an identify's context.traits refused at "traits.a.a…" named a field the
                // message did not have.
                return e with { Field = TraitsField + e.Field["traits".Length..] };
            }

            if (e.Field == EngineTimeZoneField)
            {
                // The engine names EventContext's property; the client sent the Spec's context.timezone.
                return e with { Field = "context.timezone" };
            }

            var close = e.Field.IndexOf(']', StringComparison.Ordinal);
            return e.Field.StartsWith("identifiers[", StringComparison.Ordinal) && close > 12
                && int.TryParse(e.Field.AsSpan(12, close - 12), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)
                && i < IdentifierFields.Count
                ? e with { Field = IdentifierFields[i] }
                : e;
        })];
    }

    private static bool IsTraitsField(string field) =>
        field.StartsWith("traits", StringComparison.Ordinal) && (field.Length == 6 || field[6] is '.' or '[');
}

/// <summary>What a request knows beyond its messages.</summary>
internal readonly record struct RequestFacts(TrackingWriteKey Source, DateTimeOffset ReceivedAt, DateTimeOffset? BatchSentAt, string? RemoteIp);
