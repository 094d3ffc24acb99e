using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Segments;

// Conditions: which operators and values each kind of operand takes, and how a refusal reads.
public static partial class SegmentDefinitionValidator
{
    // The path of the first NaN or infinity in an operand (a C# double or float given to the builder), else null.
    private static string? NonFinite(JsonNode? value, string path)
    {
        switch (value)
        {
            case JsonArray items:
                for (var i = 0; i < items.Count; i++)
                {
                    if (NonFinite(items[i], JsonPath.Index(path, i)) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValue v when (v.TryGetValue<double>(out var d) && !double.IsFinite(d)) || (v.TryGetValue<float>(out var f) && !float.IsFinite(f)):
                return path;
            default:
                return null;
        }
    }

    // The text of a string-kind node: a JSON string, or a C# value the builder was given (a DateTimeOffset, a DateTime)
    // that JSON writes as a string, read through its JSON text as the evaluator and the writer see it.
    private static string Text(JsonNode value)
    {
        if (value is JsonValue v && v.TryGetValue<string>(out var s))
        {
            return s;
        }

        using var document = JsonDocument.Parse(value.ToJsonString());
        return document.RootElement.GetString() ?? string.Empty;
    }

    // An operand date as the evaluator reads one: ISO 8601 only ("03/01/2024" is a string there, never a date).
    private static bool TryIsoInstant(string text, out DateTimeOffset instant) => RuleValue.FromString(text).TryGetInstant(out instant);

    private static void ValidateCondition(Condition? condition, string path, Operand operand, List<DefinitionError> errors)
    {
        var opPath = JsonPath.Key(path, "op");
        var valuePath = JsonPath.Key(path, "value");
        if (condition is null)
        {
            errors.Add(new(opPath, "is required: an operator such as eq or gte"));
            return;
        }

        var op = condition.Op;
        var value = condition.Value;
        if (NonFinite(value, valuePath) is { } nonFinite)
        {
            // NaN and infinities have no JSON form: the rule could never be read, saved or compared.
            errors.Add(new(nonFinite, "expected a finite number (NaN and infinities have no JSON form)"));
            return;
        }

        if (!Enum.IsDefined(op))
        {
            errors.Add(new(opPath, $"unknown operator {(int)op} (expected one of {SegmentNames.OperatorList})"));
            return;
        }

        var allowed = Allowed(operand);
        if (allowed is not null && !allowed.Contains(op))
        {
            errors.Add(new(opPath, $"'{op.Name()}' is not allowed for {Describe(operand)} (expected one of {string.Join(", ", allowed.Select(o => o.Name()))})"));
            return;
        }

        switch (op)
        {
            case ConditionOperator.Exists or ConditionOperator.NotExists:
                if (value is not null)
                {
                    errors.Add(new(valuePath, $"'{op.Name()}' takes no value (remove 'value')"));
                }

                break;
            case ConditionOperator.In or ConditionOperator.NotIn:
                if (value is not JsonArray items)
                {
                    errors.Add(new(valuePath, $"'{op.Name()}' needs an array of values, got {KindOf(value)}"));
                }
                else if (items.Count == 0)
                {
                    errors.Add(new(valuePath, op == ConditionOperator.In
                        ? "'in' with an empty array can never hold (expected at least one value)"
                        : "'notIn' with an empty array always holds (expected at least one value)"));
                }
                else
                {
                    for (var i = 0; i < items.Count; i++)
                    {
                        ValidateScalar(items[i], JsonPath.Index(valuePath, i), operand, op, errors);
                    }
                }

                break;
            case ConditionOperator.Between:
                ValidateBetween(value, valuePath, operand, errors);
                break;
            case ConditionOperator.WithinLast or ConditionOperator.MoreThanAgo or ConditionOperator.AnniversaryWithin:
                if (value is null || value.GetValueKind() != JsonValueKind.String)
                {
                    errors.Add(new(valuePath, $"'{op.Name()}' needs an ISO 8601 duration string such as \"P90D\", got {KindOf(value)}"));
                }
                else if (!IsoDuration.TryParse(Text(value), out var duration, out var error))
                {
                    errors.Add(new(valuePath, error));
                }
                else if (op == ConditionOperator.WithinLast && duration.IsZero)
                {
                    errors.Add(new(valuePath, "withinLast PT0S can never hold (the window is empty); expected a positive duration"));
                }

                break;
            case ConditionOperator.StartsWith:
                if (value is null || value.GetValueKind() != JsonValueKind.String)
                {
                    errors.Add(new(valuePath, $"'startsWith' needs a string, got {KindOf(value)}"));
                }

                break;
            default:
                ValidateScalar(value, valuePath, operand, op, errors);
                // A count is never negative, so these can never hold.
                if (operand is Operand.Count or Operand.NonNegativeNumber && TryGetNumber(value, out var n)
                    && (op == ConditionOperator.Lt && n <= 0 || op is ConditionOperator.Lte or ConditionOperator.Eq && n < 0))
                {
                    errors.Add(new(valuePath, $"'{op.Name()} {Format(n)}' can never hold: {Describe(operand)} is never below 0"));
                }

                break;
        }
    }

    private static void ValidateBetween(JsonNode? value, string path, Operand operand, List<DefinitionError> errors)
    {
        if (value is not JsonArray { Count: 2 } pair)
        {
            errors.Add(new(path, $"'between' needs an array of exactly 2 values [low, high], got {KindOf(value)}"));
            return;
        }

        var before = errors.Count;
        ValidateScalar(pair[0], JsonPath.Index(path, 0), operand, ConditionOperator.Between, errors);
        ValidateScalar(pair[1], JsonPath.Index(path, 1), operand, ConditionOperator.Between, errors);
        if (errors.Count > before)
        {
            return;
        }

        int? order = null;
        if (TryGetNumber(pair[0], out var low) && TryGetNumber(pair[1], out var high))
        {
            order = low.CompareTo(high);
        }
        else if (pair[0]!.GetValueKind() == JsonValueKind.String && pair[1]!.GetValueKind() == JsonValueKind.String)
        {
            var a = Text(pair[0]!);
            var b = Text(pair[1]!);
            order = TryIsoInstant(a, out var da) && TryIsoInstant(b, out var db) ? da.CompareTo(db) : string.CompareOrdinal(a, b);
        }
        else
        {
            errors.Add(new(path, $"'between' needs two values of the same kind (two numbers or two strings), got {KindOf(pair[0])} and {KindOf(pair[1])}"));
        }

        if (order > 0)
        {
            errors.Add(new(path, "'between' needs [low, high] in ascending order; low is greater than high, so it can never hold"));
        }
        else if (operand is Operand.NonNegativeNumber && TryGetNumber(pair[1], out var top) && top < 0)
        {
            errors.Add(new(path, $"'between' with a negative high bound can never hold: {Describe(operand)} is never below 0"));
        }
    }

    private static void ValidateScalar(JsonNode? value, string path, Operand operand, ConditionOperator op, List<DefinitionError> errors)
    {
        var kind = value?.GetValueKind();
        if (kind is null or JsonValueKind.Null)
        {
            errors.Add(new(path, $"is required for '{op.Name()}' (expected {Expected(operand)}; use exists/notExists to test for presence)"));
            return;
        }

        if (kind is JsonValueKind.Array or JsonValueKind.Object)
        {
            errors.Add(new(path, $"expected {Expected(operand)}, got {KindOf(value)}"));
            return;
        }

        switch (operand)
        {
            case Operand.Count:
                if (!TryGetNumber(value, out var count) || count < 0 || count != decimal.Truncate(count))
                {
                    errors.Add(new(path, $"expected a non-negative integer (a number of events), got {Show(value)}"));
                }

                break;
            case Operand.Number or Operand.NonNegativeNumber:
                if (!TryGetNumber(value, out _))
                {
                    errors.Add(new(path, $"expected a number, got {Show(value)}"));
                }

                break;
            case Operand.Date:
                if (kind != JsonValueKind.String || !TryIsoInstant(Text(value!), out _))
                {
                    errors.Add(new(path, $"expected an ISO 8601 instant such as \"2025-01-31T00:00:00Z\", got {Show(value)}"));
                }

                break;
            case Operand.Stage:
                if (kind != JsonValueKind.String || !SegmentNames.LifecycleStages.Contains(Text(value!)))
                {
                    errors.Add(new(path, $"expected a lifecycle stage ({string.Join(", ", SegmentNames.LifecycleStages)}), got {Show(value)}"));
                }

                break;
            case Operand.Channels:
                if (kind != JsonValueKind.String)
                {
                    errors.Add(new(path, $"expected a channel name such as \"email\", got {Show(value)}"));
                }

                break;
            case Operand.Any:
                if (op is ConditionOperator.Gt or ConditionOperator.Gte or ConditionOperator.Lt or ConditionOperator.Lte or ConditionOperator.Between)
                {
                    if (kind is not (JsonValueKind.Number or JsonValueKind.String))
                    {
                        errors.Add(new(path, $"'{op.Name()}' compares numbers or strings (dates as ISO 8601), got {KindOf(value)}"));
                    }
                    else if (kind == JsonValueKind.String && OrderingTextError(op, Text(value!)) is { } textError)
                    {
                        errors.Add(new(path, textError));
                    }
                }

                break;
        }
    }

    // Audit U76 (PostHog/posthog#1130, apache/superset#42596, mautic/mautic#12647, sendgrid/docs#2899): an ordering operator
    // compares two texts character by character, so a number written as text ("30") put "9" and "café" after it and never
    // matched 35 sent as a number, and a date that is no ISO 8601 instant ("2024-02-30", "01/02/2024") never held against
    // a date and ordered text by its characters. Both are refused here with the operand's path; equality, lists and
    // prefixes keep taking such text (postcodes, SKUs).
    private static string? OrderingTextError(ConditionOperator op, string text)
    {
        if (NumberText.TryParseDecimal(text, out var number) && !ZeroPadded(text))
        {
            return $"'{op.Name()}' with the text \"{text}\" would compare characters, not numbers (\"9\" comes after \"30\"); write the number {Format(number)} without quotes (a value sent as text is not a number: send it as one); codes held as text (a postcode) are matched with 'in' or 'startsWith'";
        }

        if (DottedDate().IsMatch(text))
        {
            // "1.2.10" is a day.month.year date or a version number: refused either way, saying both (text orders "1.2.10"
            // before "1.2.9"), where only the date reading was named.
            return $"'{op.Name()}' with \"{text}\": as a date (day.month.year) it is not ISO 8601, so it would never compare with a date; write it as YYYY-MM-DD (\"2024-02-01\"); as a version or dotted code, text compares character by character (\"1.2.10\" comes before \"1.2.9\"): match it with 'eq', 'in' or 'startsWith', or send its parts as numbers";
        }

        if ((RuleValue.LooksLikeIsoDate(text) && !TryIsoInstant(text, out _)) || ForeignDate().IsMatch(text))
        {
            return $"'{op.Name()}' with \"{text}\": not an ISO 8601 date or instant, so it would never compare with a date; write it as YYYY-MM-DD (\"2024-02-01\"), or with a time and offset (\"2024-02-01T00:00:00Z\")";
        }

        return null;
    }

    // Digits written with a leading zero ("02134", "007"): a fixed-width code (a postcode, a store code), not a number
    // written as text. Two codes of one width order as their numbers do, so a range of them held as text works, and the
    // number the refusal advised (2134) would never match the text "02134" she holds (review of session 47).
    private static bool ZeroPadded(string text)
    {
        var s = text.AsSpan().Trim();
        if (s.Length > 0 && s[0] is '+' or '-')
        {
            s = s[1..];
        }

        return s.Length > 1 && s[0] == '0' && char.IsAsciiDigit(s[1]);
    }

    // A day, month and year in another form than ISO 8601: 01/02/2024, 2024/01/02, 2/1/24.
    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{1,4}/\d{1,2}/\d{1,4}$")]
    private static partial System.Text.RegularExpressions.Regex ForeignDate();

    // 31.01.2024, or a version number (1.2.10): three dotted parts.
    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{1,2}\.\d{1,2}\.\d{2,4}$")]
    private static partial System.Text.RegularExpressions.Regex DottedDate();

    private static ConditionOperator[]? Allowed(Operand operand) => operand switch
    {
        Operand.Count or Operand.NonNegativeNumber or Operand.Number => Comparisons,
        Operand.Date =>
        [
            ConditionOperator.Eq, ConditionOperator.Ne, ConditionOperator.Gt, ConditionOperator.Gte, ConditionOperator.Lt,
            ConditionOperator.Lte, ConditionOperator.Between, ConditionOperator.Exists, ConditionOperator.NotExists,
            ConditionOperator.WithinLast, ConditionOperator.MoreThanAgo, ConditionOperator.AnniversaryWithin,
        ],
        Operand.Stage =>
        [
            ConditionOperator.Eq, ConditionOperator.Ne, ConditionOperator.In, ConditionOperator.NotIn,
        ],
        Operand.Channels => [ConditionOperator.Contains, ConditionOperator.Exists, ConditionOperator.NotExists],
        _ => null,
    };

    private static string Describe(Operand operand) => operand switch
    {
        Operand.Count => "an event count",
        Operand.NonNegativeNumber => "a count",
        Operand.Number => "a number",
        Operand.Date => "a date statistic",
        Operand.Stage => "the lifecycle stage",
        Operand.Channels => "the channels used",
        _ => "a value",
    };

    private static string Expected(Operand operand) => operand switch
    {
        Operand.Count => "a non-negative integer",
        Operand.NonNegativeNumber or Operand.Number => "a number",
        Operand.Date => "an ISO 8601 instant",
        Operand.Stage => "a lifecycle stage",
        Operand.Channels => "a channel name",
        _ => "a string, number or boolean",
    };

    private static string KindOf(JsonNode? value) => value?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "nothing",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        _ => "a boolean",
    };

    private static string Show(JsonNode? value) => value is null ? "nothing" : value.ToJsonString();

    private static string Format(decimal d) => d.ToString(CultureInfo.InvariantCulture);
}
