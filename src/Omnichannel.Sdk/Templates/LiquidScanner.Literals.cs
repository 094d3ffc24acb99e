using System.Globalization;
using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Templates;

// Literal arguments with which a filter or tag fails for every customer, and number literals past what the engine holds.
// The engine reads them only at render, so such a template loaded and then failed at every send ('divided_by: 0').
// Only literals are judged: with data the outcome depends on the customer, and a render error is the documented result.
internal sealed partial class LiquidScanner
{
    /// <summary>The largest precision .NET's standard numeric formats take ("N999999999").</summary>
    private const int MaxFormatPrecision = 999_999_999;

    // The engine's numbers are decimals: a literal past decimal's range is not a number to its parser.
    private void NumberLiteral(int start, int end)
    {
        var text = _source.AsSpan(start, end - start);
        if (!decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
        {
            Report(start, TemplateErrorKind.Syntax, $"The number '{Shorten(text.ToString())}' is outside the range a template's numbers have (at most 79228162514264337593543950335 either side of zero).");
        }
    }

    // A filter's positional arguments, each a literal or not: the checks below judge literals only.
    // dateInput: the input is a date for every customer ('now'); literalInput: it is a string or number literal, never nil.
    private void LiteralArguments(string filter, int start, int end, bool dateInput, bool literalInput)
    {
        if (filter is not ("divided_by" or "modulo" or "format_number" or "format_date" or "truncate" or "truncatewords" or "slice"))
        {
            return;
        }

        var arguments = SplitOutsideQuotes(start, end, ',');
        for (var a = 0; a < arguments.Count && a < 2; a++)
        {
            var at = SkipSpace(arguments[a].Start, arguments[a].End);
            var text = _source[at..arguments[a].End].TrimEnd();
            var number = NumberValue(text);
            // A quoted literal is judged by its value, decoded as the engine decodes it ('0.00 \'EUR\'' is "0.00 'EUR'").
            var quoted = WholeQuoted(at, arguments[a].End);
            var written = $"'{filter}: {Shorten(text)}'";
            switch (filter)
            {
                // modulo takes its divisor as a whole number, rounded half to even (Convert.ToInt32): 0.5 and -0.4 are zero.
                case "divided_by" or "modulo" when a == 0 && (number ?? (quoted is not null ? QuotedNumber(quoted) : null)) is { } divisor
                    && (filter == "modulo" ? decimal.Round(divisor, MidpointRounding.ToEven) : divisor) == 0m:
                    // The engine reads the argument as a number: a string that is not one (or is zero) is a zero divisor too.
                    Report(at, TemplateErrorKind.InvalidArgument, $"{written} divides by zero for every customer.");
                    break;

                case "format_number" when a == 0 && quoted is not null && !IsNumberFormat(quoted):
                    Report(at, TemplateErrorKind.InvalidArgument, $"{written} is not a number format, so it fails for every customer: use a standard format such as 'N2', 'F0', 'C', 'P1' or a custom one such as '#,##0.00'.");
                    break;

                case "format_date" when a == 0 && dateInput && quoted is not null && !IsDateFormat(quoted):
                    Report(at, TemplateErrorKind.InvalidArgument, $"{written} is not a .NET date format, so it fails for every date: use a standard format such as 'd' or 'D' or a custom one such as 'dd/MM/yyyy'.");
                    break;

                // truncate returns nothing for a nil input before it reads its length: judged on a literal input only.
                // Past Int32 once rounded, the length fails; at Int32's least (a length minus the ellipsis's overflows), so
                // does the cut ('abc' | truncate: -2147483648).
                case "truncate" when a == 0 && literalInput && number is { } n
                    && (!IsInt32(n) || decimal.Round(n, MidpointRounding.ToEven) < (decimal)int.MinValue + EllipsisLength(arguments)):
                    Report(at, TemplateErrorKind.InvalidArgument, $"{written} is past the lengths 'truncate' takes (a whole number up to {int.MaxValue:N0}, and above {int.MinValue:N0} by at least its ellipsis's length), so it fails for every customer.");
                    break;

                case "truncatewords" when a == 0 && number is { } n && !IsInt32(n):
                case "slice" when number is { } m && !IsInt32(m):
                    Report(at, TemplateErrorKind.InvalidArgument, $"{written} is past the largest length a filter takes ({int.MaxValue:N0}, as a whole number either side of zero), so it fails for every customer.");
                    break;

                case "slice" when number is { } m && decimal.Truncate(m) != m:
                    Report(at, TemplateErrorKind.InvalidArgument, $"{written} is not a whole number, so it fails for every customer: 'slice' takes whole positions and lengths.");
                    break;
            }
        }
    }

    // The length of truncate's ellipsis: its second argument's, '...' without one; 0 when it is data (judged not to fail).
    private int EllipsisLength(List<(int Start, int End)> arguments) =>
        arguments.Count < 2 ? 3 : WholeQuoted(arguments[1].Start, arguments[1].End)?.Length ?? 0;

    // 'offset:' and 'limit:' of a loop, and the ends of a literal range: the engine reads each as an Int32 index.
    private void LoopArguments(string tag, int start, int end)
    {
        var markup = _source[start..end];

        // The engine reads 'offset:' and 'limit:' (truncated: (int)) only once the collection has an item: a named
        // collection may be empty for a customer, so they are judged on a literal range that has items only.
        var range = LiteralRange().Match(markup);
        var hasItems = range.Success && NumberValue(range.Groups[1].Value) is { } first && NumberValue(range.Groups[2].Value) is { } last && first <= last;
        var quoted = QuotedSpans(start, end);
        foreach (Match m in LoopParameter().Matches(markup))
        {
            if (!hasItems || Inside(quoted, start + m.Index) || NumberValue(m.Groups[2].Value) is not { } number)
            {
                continue;
            }

            var value = decimal.Truncate(number);
            var at = start + m.Groups[2].Index;
            var written = $"'{m.Groups[1].Value}: {Shorten(m.Groups[2].Value)}'";
            if (!IsInt32(value))
            {
                Report(at, TemplateErrorKind.InvalidArgument, $"{written} on '{tag}' is past the largest count a loop takes ({int.MaxValue:N0}), so it fails for every customer.");
            }
            else if (m.Groups[1].Value == "offset" && Convert.ToInt32(value, CultureInfo.InvariantCulture) < 0)
            {
                Report(at, TemplateErrorKind.InvalidArgument, $"{written} on '{tag}' is negative: the engine fails on it for every customer whose collection has an item. Leave 'offset' out to start at the first item.");
            }
        }

        // 'offset: continue' resumes where the last loop over the same named collection stopped: a range has no name, and
        // the engine fails on it for every customer.
        if (markup.TrimStart().StartsWith('(') && OffsetContinue().Match(markup) is { Success: true } resume && !Inside(quoted, start + resume.Index))
        {
            Report(start + resume.Groups[1].Index, TemplateErrorKind.InvalidArgument, $"'offset: continue' on '{tag}' needs a named collection to continue ('for item in list'), not a range: it fails for every customer.");
        }

        foreach (Match m in RangeEnd().Matches(markup))
        {
            var group = m.Groups[1].Success ? m.Groups[1] : m.Groups[2];
            if (Inside(quoted, start + m.Index) || NumberValue(group.Value) is not { } value || IsInt32(value))
            {
                continue;
            }

            Report(start + group.Index, TemplateErrorKind.InvalidArgument, $"The range end '{Shorten(group.Value)}' on '{tag}' is past the largest a range takes ({int.MaxValue:N0}), so it fails for every customer.");
        }
    }

    // A number literal's value ('-0', '00', '2.50'); null when the text is not one (or not a decimal, refused elsewhere).
    private static decimal? NumberValue(string text) =>
        NumberText().IsMatch(text) && decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    // How the engine reads a string as a number: any invariant number, otherwise zero.
    private static decimal QuotedNumber(string text) =>
        text.Length > 0 && decimal.TryParse(text, NumberStyles.Any, CultureInfo.InvariantCulture, out var value) ? value : 0m;

    private static bool IsInt32(decimal value)
    {
        try
        {
            _ = Convert.ToInt32(value, CultureInfo.InvariantCulture);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    // format_number formats a decimal with the string: a standard format's letter must be one a decimal takes, and its
    // precision at most 999,999,999. The precision is not written out here (N999999999 is a billion digits): a letter
    // with precision 0 is tried instead.
    private static bool IsNumberFormat(string format)
    {
        var standard = StandardNumberFormat().Match(format);
        if (standard.Success)
        {
            var digits = standard.Groups[2].Value.TrimStart('0');
            if (digits.Length > 9 || (digits.Length > 0 && int.Parse(digits, CultureInfo.InvariantCulture) > MaxFormatPrecision))
            {
                return false;
            }

            format = standard.Groups[1].Value + (standard.Groups[2].Length > 0 ? "0" : string.Empty);
        }

        try
        {
            _ = 1.5m.ToString(format, CultureInfo.InvariantCulture);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool IsDateFormat(string format)
    {
        if (format.Length == 0)
        {
            return true;
        }

        try
        {
            _ = new DateTimeOffset(2026, 6, 9, 10, 30, 0, TimeSpan.Zero).ToString(format, CultureInfo.InvariantCulture);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";

    [GeneratedRegex(@"^-?\d+(\.\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberText();

    [GeneratedRegex(@"^([A-Za-z])([0-9]*)$", RegexOptions.CultureInvariant)]
    private static partial Regex StandardNumberFormat();

    [GeneratedRegex(@"\b(offset|limit)\s*:\s*(-?\d+(?:\.\d+)?)(?![\w.])", RegexOptions.CultureInvariant)]
    private static partial Regex LoopParameter();

    [GeneratedRegex(@"\boffset\s*:\s*(continue)\b", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetContinue();

    // A range with literal ends: '(1..5)'.
    [GeneratedRegex(@"^\s*\(\s*(-?[0-9]+)\s*\.\.\s*(-?[0-9]+)\s*\)", RegexOptions.CultureInvariant)]
    private static partial Regex LiteralRange();

    [GeneratedRegex(@"(?<![\w.])(-?\d+(?:\.\d+)?)(?=\s*\.\.)|\.\.\s*(-?\d+(?:\.\d+)?)(?![\w.])", RegexOptions.CultureInvariant)]
    private static partial Regex RangeEnd();
}
