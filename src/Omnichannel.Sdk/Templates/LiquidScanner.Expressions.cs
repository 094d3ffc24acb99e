namespace Omnichannel.Sdk.Templates;

// Outputs and expressions: filters, quoting, references to data the template may use.
internal sealed partial class LiquidScanner
{
    // An output or assignment: an expression, then filters. Returns the last filter's name.
    private string? Output(int start, int end)
    {
        var segments = SplitOutsideQuotes(start, end, '|');
        foreach (var (segStart, segEnd) in segments)
        {
            // A range outside a 'for' would be built in full ((1..100000000) is 10^8 values): loops only.
            var range = _source.IndexOf("..", segStart, segEnd - segStart, StringComparison.Ordinal);
            if (range >= 0 && !InsideQuotes(segStart, range))
            {
                Report(range, TemplateErrorKind.Syntax, "A range '(a..b)' may only be used in a 'for' tag.");
            }
        }

        if (segments.Count - 1 > MaxFilters)
        {
            // The engine evaluates a chain of filters recursively, one level per filter: a few thousand overflowed the
            // stack of the thread rendering it, which ends the process.
            Report(segments[MaxFilters + 1].Start - 1, TemplateErrorKind.Syntax, $"More than {MaxFilters} filters are chained in one expression: split it with 'assign'.");
        }

        Expression(segments[0].Start, segments[0].End);
        string? last = null;

        // format_date returns nothing for an input that is not a date (a customer without the data): its format is judged
        // only on 'now' (or 'today'), the one input that is a date for every customer.
        var input = WholeQuoted(segments[0].Start, segments[0].End);
        var dateInput = input is "now" or "today" || _source[segments[0].Start..segments[0].End].Trim() == "now";

        // truncate returns nothing for a nil input before it reads its length: its length is judged only on a literal input.
        var literalInput = input is not null || NumberValue(_source[segments[0].Start..segments[0].End].Trim()) is not null;
        foreach (var (segStart, segEnd) in segments.Skip(1))
        {
            var k = SkipSpace(segStart, segEnd);
            var nameStart = k;
            while (k < segEnd && (char.IsLetterOrDigit(_source[k]) || _source[k] == '_'))
            {
                k++;
            }

            var filter = _source[nameStart..k];
            if (filter.Length == 0)
            {
                Report(segStart - 1, TemplateErrorKind.Syntax, "A filter name is expected after '|'.");
                last = null;
                continue;
            }

            if (!_filterExists(filter))
            {
                Report(nameStart, TemplateErrorKind.UnknownFilter, $"Unknown filter '{filter}'.");
            }

            last = filter;
            k = SkipSpace(k, segEnd);
            if (k < segEnd && _source[k] == ':')
            {
                Expression(k + 1, segEnd);
                LiteralArguments(filter, k + 1, segEnd, dateInput, literalInput);
            }

            dateInput = false;
            literalInput = false;
        }

        return last;
    }

    private bool InsideQuotes(int start, int index)
    {
        for (var k = start; k < index; k++)
        {
            if (_source[k] is '"' or '\'')
            {
                var close = QuotedEnd(k, out _, index);
                if (close < 0)
                {
                    return true;
                }

                k = close - 1;
            }
        }

        return false;
    }

    // The quoted literals of [start, end) in order, as (open, past the close); an unclosed one runs to int.MaxValue. A
    // tag asked about many positions (a 'for' tag's arguments) is read once, where InsideQuotes per position read it
    // from its start each time: a megabyte of 'limit:' arguments took seconds.
    private List<(int Open, int Close)> QuotedSpans(int start, int end)
    {
        var spans = new List<(int, int)>();
        for (var k = start; k < end; k++)
        {
            if (_source[k] is '"' or '\'')
            {
                var close = QuotedEnd(k, out _, end);
                if (close < 0)
                {
                    spans.Add((k, int.MaxValue));
                    break;
                }

                spans.Add((k, close));
                k = close - 1;
            }
        }

        return spans;
    }

    // Whether 'index' falls inside one of the spans (what InsideQuotes(start, index) says for the same start).
    private static bool Inside(List<(int Open, int Close)> spans, int index)
    {
        int lo = 0, hi = spans.Count - 1, last = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (spans[mid].Open < index)
            {
                last = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return last >= 0 && index < spans[last].Close;
    }

    private List<(int Start, int End)> SplitOutsideQuotes(int start, int end, char separator)
    {
        var parts = new List<(int, int)>();
        var from = start;
        for (var k = start; k < end; k++)
        {
            var c = _source[k];
            if (c is '"' or '\'')
            {
                k = SkipQuoted(k, end) - 1;
            }
            else if (c == separator)
            {
                parts.Add((from, k));
                from = k + 1;
            }
        }

        parts.Add((from, end));
        return parts;
    }

    // Finds every variable reference in an expression and checks its root against the data the renderer gives.
    private void Expression(int start, int end)
    {
        if (_expressionDepth == 0 && !IndexNesting(start, end))
        {
            return; // refused; its references are not walked (that walk recurses per level too)
        }

        _expressionDepth++;
        try
        {
            ExpressionReferences(start, end);
        }
        finally
        {
            _expressionDepth--;
        }
    }

    // The engine's parser recurses once per nested index ('a[b[c]]') and once per nested parenthesis ('((1..2)..3)'): a
    // few thousand levels of either overflowed the stack while the template was loaded, which ends the process.
    private bool IndexNesting(int start, int end)
    {
        var depth = 0;
        var groups = 0;
        for (var k = start; k < end; k++)
        {
            var c = _source[k];
            if (c is '"' or '\'')
            {
                k = SkipQuoted(k, end) - 1;
            }
            else if (c == '[' && ++depth > MaxIndexNesting)
            {
                Report(k, TemplateErrorKind.Syntax, $"Indexes are nested more than {MaxIndexNesting} deep ('a[b[c]]').");
                return false;
            }
            else if (c == ']')
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (c == '(' && ++groups > MaxIndexNesting)
            {
                Report(k, TemplateErrorKind.Syntax, $"Parentheses are nested more than {MaxIndexNesting} deep ('((1..2)..3)').");
                return false;
            }
            else if (c == ')')
            {
                groups = Math.Max(0, groups - 1);
            }
        }

        return true;
    }

    private void ExpressionReferences(int start, int end)
    {
        var s = _source;
        var k = start;
        var operators = 0;
        while (k < end)
        {
            var c = s[k];
            if (c is '"' or '\'')
            {
                var q = QuotedEnd(k, out _, end);
                if (q < 0)
                {
                    Report(k, TemplateErrorKind.Syntax, "This string is never closed with its quote.");
                    return;
                }

                k = q;
            }
            else if (char.IsDigit(c))
            {
                var numberStart = k;
                while (k < end && (char.IsDigit(s[k]) || (s[k] == '.' && k + 1 < end && char.IsDigit(s[k + 1]))))
                {
                    k++;
                }

                NumberLiteral(numberStart, k);
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var rootStart = k;
                k = Word(k, end);
                var root = s[rootStart..k];
                string? member = null;
                while (k < end)
                {
                    if (s[k] == '.' && k + 1 < end && (char.IsLetterOrDigit(s[k + 1]) || s[k + 1] == '_'))
                    {
                        var memberStart = k + 1;
                        k = Word(memberStart, end);
                        member ??= s[memberStart..k];
                    }
                    else if (s[k] == '[')
                    {
                        var close = IndexClose(k, end);
                        Expression(k + 1, close);
                        member ??= string.Empty;
                        k = Math.Min(close + 1, end);
                    }
                    else
                    {
                        break;
                    }
                }

                if (root is "and" or "or" && ++operators == MaxOperators + 1)
                {
                    // Each 'and'/'or' is one more level of the engine's expression tree, walked recursively.
                    Report(rootStart, TemplateErrorKind.Syntax, $"More than {MaxOperators} 'and'/'or' in one condition: split it into nested 'if' tags or 'assign' parts of it.");
                }

                var after = SkipSpace(k, end);
                var isNamedParameter = after < end && s[after] == ':';
                if (!isNamedParameter && !Keywords.Contains(root.ToLowerInvariant()) && !(root == "continue" && IsOffsetValue(rootStart)))
                {
                    CheckReference(rootStart, root, member, s[rootStart..k]);
                    if (member is null && LiquidData.Roots.TryGetValue(root, out var members) && members is not null
                        && !_assigned.Contains(root) && (IsComparison(after, end) || IsComparedFrom(rootStart)))
                    {
                        // `device == 'mobile'` compares an object with a string: always false, so it is refused here.
                        Report(rootStart, TemplateErrorKind.UnknownData,
                            $"'{root}' is an object ({string.Join(", ", members.Order(StringComparer.Ordinal))}), never equal to a value: compare one of its members, for example '{root}.{members.Order(StringComparer.Ordinal).First()}'.");
                    }
                }
            }
            else
            {
                k++;
            }
        }
    }

    /// <summary>Whether the word at <paramref name="rootStart"/> is the value of <c>offset:</c> (a loop's <c>offset: continue</c>).</summary>
    private bool IsOffsetValue(int rootStart)
    {
        var k = rootStart - 1;
        while (k >= 0 && char.IsWhiteSpace(_source[k]))
        {
            k--;
        }

        if (k < 0 || _source[k] != ':')
        {
            return false;
        }

        k--;
        while (k >= 0 && char.IsWhiteSpace(_source[k]))
        {
            k--;
        }

        return k >= 5 && _source.AsSpan(k - 5, 6).SequenceEqual("offset") && (k < 6 || !(char.IsLetterOrDigit(_source[k - 6]) || _source[k - 6] == '_'));
    }

    /// <summary>Whether <c>== 'text'</c> or <c>!= 42</c> (a string or number, not nil or blank) starts at <paramref name="k"/>.</summary>
    private bool IsComparison(int k, int end)
    {
        if (!(k + 1 < end && _source[k + 1] == '=' && _source[k] is '=' or '!'))
        {
            return false;
        }

        var v = SkipSpace(k + 2, end);
        return v < end && (_source[v] is '\'' or '"' || char.IsDigit(_source[v]));
    }

    /// <summary>Whether a string or number and <c>==</c> or <c>!=</c> end just before <paramref name="rootStart"/>.</summary>
    private bool IsComparedFrom(int rootStart)
    {
        var k = rootStart - 1;
        while (k >= 0 && char.IsWhiteSpace(_source[k]))
        {
            k--;
        }

        if (!(k >= 1 && _source[k] == '=' && _source[k - 1] is '=' or '!'))
        {
            return false;
        }

        k -= 2;
        while (k >= 0 && char.IsWhiteSpace(_source[k]))
        {
            k--;
        }

        return k >= 0 && (_source[k] is '\'' or '"' || char.IsDigit(_source[k]));
    }

    // The ']' closing the index opened at 'k' (or 'end'): a ']' inside a quoted key does not close it.
    private int IndexClose(int k, int end)
    {
        for (var i = k + 1; i < end; i++)
        {
            if (_source[i] is '"' or '\'')
            {
                i = SkipQuoted(i, end) - 1;
            }
            else if (_source[i] == ']')
            {
                return i;
            }
        }

        return end;
    }

    private int Word(int k, int end)
    {
        var s = _source;
        while (k < end && (char.IsLetterOrDigit(s[k]) || s[k] == '_' || (s[k] == '-' && k + 1 < end && char.IsLetterOrDigit(s[k + 1]))))
        {
            k++;
        }

        if (k < end && s[k] == '?')
        {
            k++;
        }

        return k;
    }

    private void CheckReference(int index, string root, string? member, string path)
    {
        _references++;
        if (LiquidData.Roots.TryGetValue(root, out var members))
        {
            if (members is not null && !string.IsNullOrEmpty(member) && !members.Contains(member))
            {
                Report(index, TemplateErrorKind.UnknownData, $"'{path}': '{root}' has no '{member}' (it has {string.Join(", ", members.Order(StringComparer.Ordinal))}).");
            }

            return;
        }

        if (_assigned.Contains(root) || _blocks.Exists(b => b.Locals.Contains(root)))
        {
            return;
        }

        Report(index, TemplateErrorKind.UnknownData, $"'{path}' refers to unknown data '{root}': use profile, event, journey, now, device, or a variable assigned earlier.");
    }

    private int SkipSpace(int k, int end)
    {
        while (k < end && char.IsWhiteSpace(_source[k]))
        {
            k++;
        }

        return k;
    }
}
