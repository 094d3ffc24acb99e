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
    internal const string UnquotedAttributeFilter = "omni_unquoted_attribute";

    /// <summary>The deepest blocks may nest (the engine's parser recurses once per level).</summary>
    internal const int MaxNesting = 32;

    /// <summary>The most filters one output or assignment may chain (the engine evaluates a chain recursively).</summary>
    internal const int MaxFilters = 100;

    /// <summary>The most <c>and</c>/<c>or</c> one condition may hold (each is a level of the engine's expression tree).</summary>
    internal const int MaxOperators = 100;

    /// <summary>The deepest indexes may nest in one expression (the engine's parser recurses once per level).</summary>
    internal const int MaxIndexNesting = 16;

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
    private int _expressionDepth;
    private bool _jsonInString;
    private int _jsonScanned;
    private (int From, int At) _lastTagCloser = (int.MaxValue, -1);
    private (int From, int At) _lastOutputCloser = (int.MaxValue, -1);

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

            if (isTag && SkipSpace(contentStart, s.Length) is var hash && hash < s.Length && s[hash] == '#')
            {
                // An inline comment ('{% # … %}') ends at the first '%}' as the engine reads it: its quotes and backslashes
                // are not literals.
                var commentClose = NextCloser(hash + 1, '%');
                if (commentClose < 0)
                {
                    Report(open, TemplateErrorKind.Syntax, "'{%' is not closed with '%}'.");
                    break;
                }

                i = commentClose + 2;
                _tokens.Add(new LiquidToken(open, s[open..i], "#"));
                _jsonScanned = Math.Max(_jsonScanned, i);
                continue;
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
                if (_mode == LiquidOutputMode.Html && !empty && !InCapture() && lastFilter != RawFilter)
                {
                    // In an unquoted attribute value a space, '=' or '`' would end the value and start an attribute of the
                    // value's own (an event handler): those are encoded too there, after the HTML escape.
                    var insert = (lastFilter is null || !NoEscapeFilters.Contains(lastFilter) ? " | " + EscapeFilter : string.Empty)
                        + (InUnquotedAttribute(open) ? " | " + UnquotedAttributeFilter : string.Empty);
                    if (insert.Length > 0)
                    {
                        _escapeInserts.Add((contentEnd, insert + " "));
                    }
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

    // Whether an output at 'open' starts or continues an unquoted attribute value: going back over the characters such a
    // value may hold, an '=' comes first, and it stands inside a tag ('<' seen after the last '>').
    private bool InUnquotedAttribute(int open)
    {
        var s = _source;
        var k = open - 1;
        while (k >= 0 && !char.IsWhiteSpace(s[k]) && s[k] is not ('"' or '\'' or '<' or '>' or '='))
        {
            k--;
        }

        if (k < 0 || s[k] != '=')
        {
            return false;
        }

        return s.LastIndexOf('<', k) > s.LastIndexOf('>', k);
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

    // Finds the closing "}}" or "%}", skipping quoted strings as the engine reads them (one may hold "}}", "{{" and line
    // breaks); gives up at the next opening delimiter.
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
                var q = QuotedEnd(k, out var badEscape);
                if (q < 0)
                {
                    badQuote = k;
                    var closer = NextCloser(k + 1, first);
                    stoppedAt = closer >= 0 ? closer + 2 : k + 1;
                    return -1;
                }

                if (badEscape >= 0)
                {
                    ReportBadEscape(badEscape);
                }

                k = q;
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

    // The next "%}" (first '%') or "}}" at or after 'from', -1 for none. The last answer of each kind is kept: a search
    // from a later index that answer still covers is not run again (each token of '{{\'' repeated searched to the end).
    private int NextCloser(int from, char first)
    {
        ref var last = ref first == '%' ? ref _lastTagCloser : ref _lastOutputCloser;
        if (from >= last.From && (last.At < 0 || last.At >= from))
        {
            return last.At;
        }

        last = (from, _source.IndexOf(first == '%' ? "%}" : "}}", from, StringComparison.Ordinal));
        return last.At;
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
