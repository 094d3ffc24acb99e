using System.Net;
using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// Neutralises URL-valued attributes with an unsafe scheme in rendered HTML: <c>href</c>, <c>src</c>, <c>action</c> and the
/// other attributes a browser follows or runs, whose value (after HTML entity decoding, with whitespace and control
/// characters removed, as browsers read it) starts with <c>javascript:</c>, <c>vbscript:</c> or <c>data:</c>.
/// </summary>
internal static partial class UrlAttributes
{
    /// <summary>What an unsafe URL is replaced by: a URL that goes nowhere and says why.</summary>
    public const string Blocked = "about:invalid#unsafe-url";

    private static readonly string[] UnsafeSchemes = ["javascript:", "vbscript:", "data:"];

    /// <summary>The HTML with every unsafe URL attribute value replaced by <see cref="Blocked"/>.</summary>
    public static string Neutralize(string html)
    {
        if (html.IndexOf('<') < 0 || html.IndexOf('=') < 0)
        {
            return html;
        }

        return Tag().Replace(html, tag => Attribute().Replace(tag.Value, Attr));
    }

    private static string Attr(Match m) => IsUnsafe(m.Groups["value"].Value) ? m.Groups["name"].Value + "=\"" + Blocked + "\"" : m.Value;

    /// <summary>Whether a URL attribute's raw value, as a browser reads it, has an unsafe scheme.</summary>
    internal static bool IsUnsafe(string rawValue)
    {
        var decoded = WebUtility.HtmlDecode(rawValue);

        // HTML5 named references HtmlDecode does not know, used to hide a scheme's colon or split its name.
        decoded = decoded.Replace("&colon;", ":", StringComparison.OrdinalIgnoreCase)
            .Replace("&tab;", string.Empty, StringComparison.OrdinalIgnoreCase)
            .Replace("&newline;", string.Empty, StringComparison.OrdinalIgnoreCase);
        Span<char> buffer = decoded.Length <= 256 ? stackalloc char[decoded.Length] : new char[decoded.Length];
        var n = 0;
        foreach (var c in decoded)
        {
            if (c > ' ' && !char.IsWhiteSpace(c) && !char.IsControl(c))
            {
                buffer[n++] = char.ToLowerInvariant(c);
            }
        }

        var url = buffer[..n];
        foreach (var scheme in UnsafeSchemes)
        {
            if (url.StartsWith(scheme, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"<[A-Za-z][^<>]*>", RegexOptions.CultureInvariant)]
    private static partial Regex Tag();

    [GeneratedRegex(
        """(?<name>(?<=[\s/"'])(?:href|src|action|formaction|xlink:href|poster|background|cite|longdesc|usemap|codebase|data|srcset|ping|manifest|icon|dynsrc|lowsrc|profile|classid|archive))\s*=\s*(?:"(?<value>[^"]*)"|'(?<value>[^']*)'|(?<value>[^\s"'>]+))""",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Attribute();
}
