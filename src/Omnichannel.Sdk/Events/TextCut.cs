using System.Globalization;

namespace Omnichannel.Sdk;

/// <summary>
/// Cuts a text for display (a timeline summary, a value quoted in an error) without splitting what a reader sees as one
/// character: a surrogate pair, or a letter and its combining marks (review of audit U34: a cut at 200 units kept
/// <c>e</c> of <c>é</c> written as <c>e</c> + U+0301, and quoted errors cut an emoji in half, a lone surrogate that
/// strict JSON readers refuse).
/// </summary>
internal static class TextCut
{
    /// <summary><paramref name="s"/> when at most <paramref name="max"/> UTF-16 units, else its longest prefix of whole characters that fits, and an ellipsis.</summary>
    public static string Prefix(string s, int max)
    {
        if (s.Length <= max)
        {
            return s;
        }

        // Text elements (grapheme clusters) up to the limit; looking at most max units (and one element) ahead.
        var end = 0;
        while (end < max)
        {
            var next = StringInfo.GetNextTextElementLength(s.AsSpan(end, Math.Min(s.Length - end, max - end + 64)));
            if (next <= 0 || end + next > max)
            {
                break;
            }

            end += next;
        }

        if (end == 0)
        {
            // One cluster longer than the limit (a letter under thousands of combining marks): cut it, a pair kept whole.
            end = char.IsHighSurrogate(s[max - 1]) ? max - 1 : max;
        }

        return string.Concat(s.AsSpan(0, end), "…");
    }
}
