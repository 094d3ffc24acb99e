using System.Globalization;
using System.Text;

namespace Omnichannel.Sdk.Templates;

// Quoted literals, read as the engine's parser reads them (Parlot's string literal, for '…' and "…" alike): a backslash
// escapes the next character, so "\'" does not end a single-quoted string. The escapes it reads are \' \" \\ \0 \a \b
// \f \n \r \t \v, \u and exactly four hex digits, \x and one or more hex digits (of which the first four are the
// character's code, any more are text); any other escape, and a string never closed, is a syntax error. A literal may
// hold '}}', '%}', '{{' and line breaks. Every place the scanner reads a literal goes through here: its end, and its
// value once decoded, the value a literal-argument check judges.
internal sealed partial class LiquidScanner
{
    private int _singleNeverClosedFrom = int.MaxValue;
    private int _doubleNeverClosedFrom = int.MaxValue;

    private const string Escapes = @"\' \"" \\ \0 \a \b \f \n \r \t \v \uXXXX \xH…";

    // Where the literal opening at 'start' ends (past its closing quote); -1 when it is never closed (before 'limit', when
    // one is given). badEscape: the first escape the engine does not read (-1 for none); the literal is then followed past
    // it to its end, so the scan goes on, but the engine refuses the template.
    // A literal never closed is remembered: a later quote of the same kind inside it is the second character of an
    // escape (a bare one would have closed it), so reading from it meets the same characters in step and is never closed
    // either. Without that, each token of '{{ \'}}' repeated read to the end of the source again: quadratic.
    private int QuotedEnd(int start, out int badEscape, int limit = -1)
    {
        var s = _source;
        var quote = s[start];
        badEscape = -1;
        var unbounded = limit < 0;
        limit = unbounded ? s.Length : limit;
        if (unbounded && start > (quote == '\'' ? _singleNeverClosedFrom : _doubleNeverClosedFrom))
        {
            return -1;
        }

        var k = start + 1;
        while (k < limit)
        {
            var c = s[k];
            if (c == quote)
            {
                return k + 1;
            }

            if (c != '\\')
            {
                k++;
                continue;
            }

            var length = EscapeLength(s, k);
            if (length == 0)
            {
                badEscape = badEscape < 0 ? k : badEscape;
                length = 2;
            }

            k += length;
        }

        if (unbounded)
        {
            if (quote == '\'')
            {
                _singleNeverClosedFrom = Math.Min(_singleNeverClosedFrom, start);
            }
            else
            {
                _doubleNeverClosedFrom = Math.Min(_doubleNeverClosedFrom, start);
            }
        }

        return -1;
    }

    // The length of the escape at the backslash at 'k', 0 when the engine does not read it.
    private static int EscapeLength(string s, int k)
    {
        if (k + 1 >= s.Length)
        {
            return 0;
        }

        switch (s[k + 1])
        {
            case '\'' or '"' or '\\' or '0' or 'a' or 'b' or 'f' or 'n' or 'r' or 't' or 'v':
                return 2;

            case 'u':
                return k + 5 < s.Length && HexDigits(s, k + 2, 4) == 4 ? 6 : 0;

            case 'x':
                var digits = HexDigits(s, k + 2, int.MaxValue);
                return digits > 0 ? 2 + digits : 0;

            default:
                return 0;
        }
    }

    private static int HexDigits(string s, int from, int most)
    {
        var n = 0;
        while (n < most && from + n < s.Length && char.IsAsciiHexDigit(s[from + n]))
        {
            n++;
        }

        return n;
    }

    // The value of the literal from its opening quote 'start' to 'end' (past its closing quote), as the engine decodes it.
    private string QuotedValue(int start, int end)
    {
        var s = _source;
        var content = s.AsSpan(start + 1, end - start - 2);
        if (!content.Contains('\\'))
        {
            return content.ToString();
        }

        var sb = new StringBuilder(content.Length);
        for (var i = 0; i < content.Length; i++)
        {
            var c = content[i];
            if (c != '\\' || i + 1 >= content.Length)
            {
                sb.Append(c);
                continue;
            }

            c = content[++i];
            switch (c)
            {
                case '0': sb.Append('\0'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'u' or 'x':
                    // At most four hex digits make the character: '\x41424' is U+4142 then '4'.
                    var code = 0;
                    var n = 0;
                    while (n < 4 && i + 1 < content.Length && char.IsAsciiHexDigit(content[i + 1]))
                    {
                        code = (code * 16) + int.Parse(content.Slice(++i, 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                        n++;
                    }

                    sb.Append((char)code);
                    break;
                default: sb.Append(c); break; // \' \" \\
            }
        }

        return sb.ToString();
    }

    // The decoded value of an expression that is one quoted literal and nothing else; null otherwise.
    private string? WholeQuoted(int start, int end)
    {
        start = SkipSpace(start, end);
        while (end > start && char.IsWhiteSpace(_source[end - 1]))
        {
            end--;
        }

        if (start >= end || _source[start] is not ('\'' or '"'))
        {
            return null;
        }

        var close = QuotedEnd(start, out var bad, end);
        return close == end && bad < 0 ? QuotedValue(start, close) : null;
    }

    // The index past the literal opening at 'k', bounded by 'end' (a literal the token's end cut is read to 'end').
    private int SkipQuoted(int k, int end)
    {
        var close = QuotedEnd(k, out _, end);
        return close < 0 ? end : close;
    }

    private void ReportBadEscape(int at) =>
        Report(at, TemplateErrorKind.Syntax, $"'{Shorten(_source.Substring(at, Math.Min(2, _source.Length - at)))}' is not an escape the engine reads in a string, so it refuses the template: it reads {Escapes}. Write '\\\\' for a backslash.");
}
