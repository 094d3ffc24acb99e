using System.Text;
using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Templates;

/// <summary>A problem found in one part's Liquid source, with its 1-based position.</summary>
internal sealed record LiquidIssue(int Line, int Column, TemplateErrorKind Kind, string Message);

/// <summary>One <c>{{ … }}</c> or <c>{% … %}</c> token found by the scanner.</summary>
internal sealed record LiquidToken(int Index, string Text, string? TagName);

/// <summary>How a part's outputs are encoded.</summary>
internal enum LiquidOutputMode
{
    /// <summary>As they are (subject, text, SMS, push…).</summary>
    Text,

    /// <summary>HTML-escaped (an email's html part).</summary>
    Html,

    /// <summary>JSON-encoded: a complete JSON value outside string literals, escaped string content inside one (webhook payloads).</summary>
    Json,
}

/// <summary>What the scanner found in one part.</summary>
/// <param name="Issues">Every problem, in source order.</param>
/// <param name="Tokens">Every output and tag token, in source order.</param>
/// <param name="EscapedSource">For HTML and JSON parts: the source with an encoding filter appended to every output.</param>
internal sealed record LiquidScan(IReadOnlyList<LiquidIssue> Issues, IReadOnlyList<LiquidToken> Tokens, string? EscapedSource);

/// <summary>
/// Our own pass over Liquid source, run before the engine parses it: the engine's syntax errors carry no
/// position, so this finds unclosed delimiters, unknown or misplaced tags, unclosed blocks, unknown filters and
/// references to unknown data with their line and column. For HTML and JSON parts it also rewrites each output to
/// pass through an encoding filter (HTML escaping; JSON value or JSON string content, by where the output stands in
/// the payload's text), so the encoding is decided once, at load, from the source.
/// </summary>
internal sealed partial class LiquidScanner
{
    internal const string EscapeFilter = "omni_escape";
    internal const string RawFilter = "raw";
    internal const string JsonValueFilter = "omni_json_value";
    internal const string JsonStringFilter = "omni_json_string";

    /// <summary>The deepest blocks may nest (the engine's parser recurses once per level).</summary>
    internal const int MaxNesting = 32;

    private static readonly HashSet<string> BlockTags = ["if", "unless", "case", "for", "tablerow", "capture", "ifchanged"];
    private static readonly HashSet<string> UnsupportedTags = ["include", "render", "layout", "section", "extends", "block", "literal", "param", "echo", "liquid"];
    private static readonly HashSet<string> NoEscapeFilters = [RawFilter, "escape", "escape_once", "h"];

    private static readonly HashSet<string> Keywords =
        ["and", "or", "contains", "startswith", "endswith", "haskey", "hasvalue", "true", "false", "nil", "null", "empty", "blank", "in", "reversed"];

    private readonly string _source;
    private readonly Func<string, bool> _filterExists;
    private readonly List<int> _lineStarts = [0];
    private readonly List<LiquidIssue> _issues = [];
    private readonly List<LiquidToken> _tokens = [];
    private readonly List<OpenBlock> _blocks = [];
    private readonly HashSet<string> _assigned = new(StringComparer.Ordinal);
    private readonly List<(int Index, string Insert)> _escapeInserts = [];
    private readonly LiquidOutputMode _mode;
    private int _references;
    private bool _jsonInString;
    private int _jsonScanned;

    private LiquidScanner(string source, Func<string, bool> filterExists, LiquidOutputMode mode)
    {
        _source = source;
        _filterExists = filterExists;
        _mode = mode;
        for (var i = 0; i < source.Length; i++)
        {
            if (source[i] == '\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    /// <summary>Scans one part.</summary>
    /// <param name="source">The Liquid source.</param>
    /// <param name="filterExists">Whether a filter name is known to the engine.</param>
    /// <param name="mode">How the part's outputs are encoded.</param>
    public static LiquidScan Scan(string source, Func<string, bool> filterExists, LiquidOutputMode mode)
    {
        var scanner = new LiquidScanner(source, filterExists, mode);
        scanner.Run();
        return new LiquidScan(scanner._issues, scanner._tokens, mode != LiquidOutputMode.Text ? scanner.BuildEscapedSource() : null);
    }

    /// <summary>The 1-based line and column of a character index.</summary>
    public (int Line, int Column) Position(int index)
    {
        var line = _lineStarts.BinarySearch(index);
        if (line < 0)
        {
            line = ~line - 1;
        }

        return (line + 1, index - _lineStarts[line] + 1);
    }

    internal static (int Line, int Column) PositionIn(string source, int index) => new LiquidScanner(source, _ => true, LiquidOutputMode.Text).Position(index);

    private void Report(int index, TemplateErrorKind kind, string message)
    {
        var (line, column) = Position(index);
        _issues.Add(new LiquidIssue(line, column, kind, message));
    }

    private string At(int index)
    {
        var (line, column) = Position(index);
        return $"line {line}, column {column}";
    }

    private void Run()
    {
        var s = _source;
        var i = 0;
        while (true)
        {
            var open = NextOpening(i);
            if (open < 0)
            {
                break;
            }

            AdvanceJson(open);
            var isTag = s[open + 1] == '%';
            var contentStart = open + 2;
            if (contentStart < s.Length && s[contentStart] == '-')
            {
                contentStart++;
            }

            var close = FindClose(contentStart, isTag ? '%' : '}', out var stoppedAt, out var badQuote);
            if (close < 0)
            {
                if (badQuote >= 0)
                {
                    Report(badQuote, TemplateErrorKind.Syntax, "This string is never closed with its quote.");
                }
                else
                {
                    Report(open, TemplateErrorKind.Syntax, isTag ? "'{%' is not closed with '%}'." : "'{{' is not closed with '}}'.");
                }

                i = Math.Max(stoppedAt, open + 2);
                continue;
            }

            var contentEnd = close;
            if (contentEnd > contentStart && s[contentEnd - 1] == '-')
            {
                contentEnd--;
            }

            i = close + 2;
            if (isTag)
            {
                i = Tag(open, contentStart, contentEnd, i);
                _jsonScanned = Math.Max(_jsonScanned, i);
            }
            else
            {
                _tokens.Add(new LiquidToken(open, s[open..i], null));
                var lastFilter = Output(contentStart, contentEnd);
                var empty = s.AsSpan(contentStart, contentEnd - contentStart).Trim().Length == 0;
                if (_mode == LiquidOutputMode.Html && !empty && !InCapture() && (lastFilter is null || !NoEscapeFilters.Contains(lastFilter)))
                {
                    _escapeInserts.Add((contentEnd, " | " + EscapeFilter + " "));
                }
                else if (_mode == LiquidOutputMode.Json && !empty && !InCapture())
                {
                    // Even 'raw' cannot print into a payload unencoded: a value never changes the payload's structure.
                    if (_jsonInString)
                    {
                        _escapeInserts.Add((contentEnd, " | " + JsonStringFilter + " "));
                    }
                    else if (lastFilter != "json")
                    {
                        _escapeInserts.Add((contentEnd, " | " + JsonValueFilter + " "));
                    }
                }

                _jsonScanned = i;
            }
        }

        foreach (var block in _blocks)
        {
            Report(block.Index, TemplateErrorKind.UnclosedBlock, $"'{block.Name}' is never closed: add '{{% end{block.Name} %}}'.");
        }
    }

    private bool InCapture() => _blocks.Exists(b => b.Name == "capture");

    private int NextOpening(int from)
    {
        var s = _source;
        for (var k = from; k < s.Length - 1; k++)
        {
            if (s[k] == '{' && (s[k + 1] == '{' || s[k + 1] == '%'))
            {
                return k;
            }
        }

        return -1;
    }

    // Finds the closing "}}" or "%}", skipping quoted strings; gives up at the next opening delimiter.
    private int FindClose(int from, char first, out int stoppedAt, out int badQuote)
    {
        var s = _source;
        badQuote = -1;
        var k = from;
        while (k < s.Length)
        {
            var c = s[k];
            if (c is '"' or '\'')
            {
                var q = s.IndexOf(c, k + 1);
                var closer = s.IndexOf(first == '%' ? "%}" : "}}", k + 1, StringComparison.Ordinal);
                var newline = s.IndexOf('\n', k + 1);
                if (q < 0 || (closer >= 0 && closer < q && newline >= 0 && newline < q))
                {
                    // Unmatched, or matched only on a later line past the closer: a missing quote.
                    badQuote = k;
                    stoppedAt = closer >= 0 ? closer + 2 : k + 1;
                    return -1;
                }

                k = q + 1;
                continue;
            }

            if (c == first && k + 1 < s.Length && s[k + 1] == '}')
            {
                stoppedAt = k;
                return k;
            }

            if (c == '{' && k + 1 < s.Length && (s[k + 1] == '{' || s[k + 1] == '%'))
            {
                stoppedAt = k;
                return -1;
            }

            k++;
        }

        stoppedAt = s.Length;
        return -1;
    }

    private int Tag(int open, int start, int end, int next)
    {
        var s = _source;
        var k = SkipSpace(start, end);
        var nameStart = k;
        while (k < end && (char.IsLetterOrDigit(s[k]) || s[k] == '_'))
        {
            k++;
        }

        var name = s[nameStart..k];
        _tokens.Add(new LiquidToken(open, s[open..next], name.Length > 0 ? name : null));
        if (name.Length == 0)
        {
            Report(open, TemplateErrorKind.Syntax, nameStart >= end ? "Empty tag: '{% %}' needs a tag name." : "A tag name is expected after '{%'.");
            return next;
        }

        var markupStart = SkipSpace(k, end);
        var markup = s[markupStart..end].TrimEnd();
        var top = _blocks.Count > 0 ? _blocks[^1] : null;
        switch (name)
        {
            case "raw" or "comment":
                var endTag = EndTagPattern(name).Match(s, next);
                if (!endTag.Success)
                {
                    Report(open, TemplateErrorKind.UnclosedBlock, $"'{name}' is never closed: add '{{% end{name} %}}'.");
                    return s.Length;
                }

                return endTag.Index + endTag.Length;

            case "if" or "unless" or "case":
                RequireMarkup(open, name, markup, $"{{% {name} condition %}}");
                Expression(markupStart, end);
                Push(name, open);
                break;

            case "elsif" or "elseif":
                if (top?.Name is not ("if" or "unless"))
                {
                    Report(open, TemplateErrorKind.UnexpectedTag, $"'{name}' is only allowed inside 'if' or 'unless'.");
                }
                else
                {
                    AfterElse(top, open, name);
                }

                RequireMarkup(open, name, markup, $"{{% {name} condition %}}");
                Expression(markupStart, end);
                break;

            case "else":
                if (top?.Name is not ("if" or "unless" or "case"))
                {
                    Report(open, TemplateErrorKind.UnexpectedTag, top?.Name is "for" or "tablerow"
                        ? "'else' is not allowed inside a loop: test the collection with 'if' around the loop."
                        : "'else' is only allowed inside 'if', 'unless' or 'case'.");
                }
                else
                {
                    AfterElse(top, open, name);
                    top.ElseAt ??= open;
                }

                break;

            case "when":
                if (top?.Name != "case")
                {
                    Report(open, TemplateErrorKind.UnexpectedTag, "'when' is only allowed inside 'case'.");
                }
                else
                {
                    AfterElse(top, open, name);
                }

                RequireMarkup(open, name, markup, "{% when value %}");
                Expression(markupStart, end);
                break;

            case "for" or "tablerow":
                var loop = LoopSyntax().Match(s[markupStart..end]);
                if (!loop.Success)
                {
                    Report(open, TemplateErrorKind.Syntax, $"'{name}' needs the form '{{% {name} item in collection %}}'.");
                    Push(name, open);
                }
                else
                {
                    Expression(markupStart + loop.Groups[2].Index, end);
                    Push(name, open, loop.Groups[1].Value, name == "for" ? "forloop" : "tablerowloop");
                }

                break;

            case "capture":
                var captured = markup.Trim('"', '\'');
                if (!VariableName().IsMatch(captured))
                {
                    Report(open, TemplateErrorKind.Syntax, "'capture' needs a variable name: '{% capture name %}'.");
                }

                _assigned.Add(captured);
                Push(name, open);
                break;

            case "ifchanged":
                Push(name, open);
                break;

            case "assign":
                var assign = AssignSyntax().Match(s[markupStart..end]);
                if (!assign.Success)
                {
                    Report(open, TemplateErrorKind.Syntax, "'assign' needs the form '{% assign name = value %}'.");
                }
                else
                {
                    Output(markupStart + assign.Groups[2].Index, end);
                    _assigned.Add(assign.Groups[1].Value);
                }

                break;

            case "increment" or "decrement":
                if (!VariableName().IsMatch(markup))
                {
                    Report(open, TemplateErrorKind.Syntax, $"'{name}' needs a variable name.");
                }

                _assigned.Add(markup);
                break;

            case "cycle":
                RequireMarkup(open, name, markup, "{% cycle 'a', 'b' %}");
                var referencesBefore = _references;
                Expression(markupStart, end);
                if (_mode != LiquidOutputMode.Text && _references > referencesBefore)
                {
                    // cycle prints its values itself, past the escaping filter.
                    Report(open, TemplateErrorKind.UnexpectedTag, $"In an {(_mode == LiquidOutputMode.Html ? "HTML part" : "JSON payload")} 'cycle' may only list quoted strings: its values are printed without encoding.");
                }
                break;

            case "break" or "continue":
                if (!_blocks.Exists(b => b.Name is "for" or "tablerow"))
                {
                    Report(open, TemplateErrorKind.UnexpectedTag, $"'{name}' is only allowed inside 'for' or 'tablerow'.");
                }

                break;

            default:
                if (UnsupportedTags.Contains(name))
                {
                    Report(open, TemplateErrorKind.UnknownTag, $"The '{name}' tag is not supported in message templates.");
                }
                else if (name.StartsWith("end", StringComparison.Ordinal) && (BlockTags.Contains(name[3..]) || name[3..] is "raw" or "comment"))
                {
                    End(open, name[3..]);
                }
                else
                {
                    Report(open, TemplateErrorKind.UnknownTag, $"Unknown tag '{name}'.");
                }

                break;
        }

        return next;
    }

    private void AfterElse(OpenBlock block, int index, string name)
    {
        if (block.ElseAt is { } elseAt)
        {
            Report(index, TemplateErrorKind.UnexpectedTag, $"'{name}' cannot follow the 'else' of this '{block.Name}' at {At(elseAt)}.");
        }
    }

    private void RequireMarkup(int open, string name, string markup, string form)
    {
        if (markup.Length == 0)
        {
            Report(open, TemplateErrorKind.Syntax, $"'{name}' needs an expression: '{form}'.");
        }
    }

    private void Push(string name, int index, params string[] locals)
    {
        if (_blocks.Count == MaxNesting)
        {
            Report(index, TemplateErrorKind.Syntax, $"Blocks are nested more than {MaxNesting} deep.");
        }

        _blocks.Add(new OpenBlock(name, index, locals));
    }

    // Follows the payload's static text up to a token, to know whether the token stands inside a JSON string literal.
    private void AdvanceJson(int upTo)
    {
        if (_mode != LiquidOutputMode.Json)
        {
            return;
        }

        for (var k = _jsonScanned; k < upTo; k++)
        {
            var c = _source[k];
            if (_jsonInString && c == '\\')
            {
                k++;
            }
            else if (c == '"')
            {
                _jsonInString = !_jsonInString;
            }
        }

        _jsonScanned = upTo;
    }

    private void End(int index, string name)
    {
        var at = _blocks.FindLastIndex(b => b.Name == name);
        if (at < 0)
        {
            var open = _blocks.Count > 0 ? _blocks[^1] : null;
            Report(
                index,
                TemplateErrorKind.UnexpectedTag,
                open is null
                    ? $"'end{name}' has no opening '{name}'."
                    : $"'end{name}' has no opening '{name}'; the open block is '{open.Name}' at {At(open.Index)}.");
            return;
        }

        // Blocks opened after the one being closed were never closed themselves.
        for (var b = _blocks.Count - 1; b > at; b--)
        {
            Report(_blocks[b].Index, TemplateErrorKind.UnclosedBlock, $"'{_blocks[b].Name}' is never closed before 'end{name}' at {At(index)}.");
        }

        _blocks.RemoveRange(at, _blocks.Count - at);
    }

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

        Expression(segments[0].Start, segments[0].End);
        string? last = null;
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
            }
        }

        return last;
    }

    private bool InsideQuotes(int start, int index)
    {
        char? quote = null;
        for (var k = start; k < index; k++)
        {
            var c = _source[k];
            if (quote is null && c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == quote)
            {
                quote = null;
            }
        }

        return quote is not null;
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
                var q = _source.IndexOf(c, k + 1, end - k - 1);
                k = q < 0 ? end : q;
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
        var s = _source;
        var k = start;
        while (k < end)
        {
            var c = s[k];
            if (c is '"' or '\'')
            {
                var q = s.IndexOf(c, k + 1, end - k - 1);
                if (q < 0)
                {
                    Report(k, TemplateErrorKind.Syntax, "This string is never closed with its quote.");
                    return;
                }

                k = q + 1;
            }
            else if (char.IsDigit(c))
            {
                while (k < end && (char.IsDigit(s[k]) || (s[k] == '.' && k + 1 < end && char.IsDigit(s[k + 1]))))
                {
                    k++;
                }
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
                        var close = s.IndexOf(']', k, end - k);
                        close = close < 0 ? end : close;
                        Expression(k + 1, close);
                        member ??= string.Empty;
                        k = Math.Min(close + 1, end);
                    }
                    else
                    {
                        break;
                    }
                }

                var after = SkipSpace(k, end);
                var isNamedParameter = after < end && s[after] == ':';
                if (!isNamedParameter && !Keywords.Contains(root.ToLowerInvariant()))
                {
                    CheckReference(rootStart, root, member, s[rootStart..k]);
                }
            }
            else
            {
                k++;
            }
        }
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

    private string BuildEscapedSource()
    {
        if (_escapeInserts.Count == 0)
        {
            return _source;
        }

        var sb = new StringBuilder(_source.Length + (_escapeInserts.Count * 16));
        var copied = 0;
        foreach (var (index, insert) in _escapeInserts)
        {
            sb.Append(_source, copied, index - copied).Append(insert);
            copied = index;
        }

        return sb.Append(_source, copied, _source.Length - copied).ToString();
    }

    private static Regex EndTagPattern(string name) => name == "raw" ? EndRaw() : EndComment();

    [GeneratedRegex(@"\{%-?\s*endraw\s*-?%\}", RegexOptions.CultureInvariant)]
    private static partial Regex EndRaw();

    [GeneratedRegex(@"\{%-?\s*endcomment\s*-?%\}", RegexOptions.CultureInvariant)]
    private static partial Regex EndComment();

    [GeneratedRegex(@"^([A-Za-z_][\w-]*)\s+in\s+(\S.*)$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex LoopSyntax();

    [GeneratedRegex(@"^([A-Za-z_][\w-]*)\s*=\s*(\S.*)$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex AssignSyntax();

    [GeneratedRegex(@"^[A-Za-z_][\w-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex VariableName();

    private sealed class OpenBlock(string name, int index, string[] locals)
    {
        public string Name { get; } = name;

        public int Index { get; } = index;

        public string[] Locals { get; } = locals;

        // Where this block's 'else' is, once seen: nothing but its end may follow a branch of it.
        public int? ElseAt { get; set; }
    }
}
