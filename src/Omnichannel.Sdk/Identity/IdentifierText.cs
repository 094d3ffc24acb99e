using System.Globalization;
using System.Text;

namespace Omnichannel.Sdk;

/// <summary>
/// Unicode clean-up of identifier values before they are compared: what a person cannot see or tell apart must not make
/// two people of one.
/// </summary>
internal static class IdentifierText
{
    /// <summary>
    /// Trims white space and invisible format characters (a byte-order mark from a CSV export, a zero-width space
    /// pasted with an address) from both ends; <see cref="string.Trim()"/> keeps them. Used for every identifier type:
    /// the inside of an opaque id is left as it is.
    /// </summary>
    public static string Trim(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        var start = 0;
        var end = value.Length;
        while (start < end && IsBlank(value[start]))
        {
            start++;
        }

        while (end > start && IsBlank(value[end - 1]))
        {
            end--;
        }

        return start == 0 && end == value.Length ? value : value[start..end];
    }

    /// <summary>
    /// Text typed by people (email addresses, phone numbers): invisible format characters removed anywhere (zero-width
    /// joiners only when the rest is ASCII: other scripts spell with them), then
    /// compatibility-composed (NFKC), so <c>jose&#x301;</c> is <c>jos&#xE9;</c>, full-width <c>＠</c> and digits are ASCII,
    /// and a no-break space is a space. ASCII text is returned as it is.
    /// </summary>
    public static string Clean(string value)
    {
        if (Ascii.IsValid(value))
        {
            return value;
        }

        // Zero-width (non-)joiners are spelling in Persian, Arabic or Indic text: kept there, removed around ASCII.
        var otherwiseAscii = value.All(c => c < 128 || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format);
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.Format || (!otherwiseAscii && c is '\u200C' or '\u200D'))
            {
                sb.Append(c);
            }
        }

        var text = sb.ToString();
        try
        {
            return text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);
        }
        catch (ArgumentException)
        {
            return text; // not well-formed UTF-16 (an unpaired surrogate): the validator refuses it with its field
        }
    }

    private static bool IsBlank(char c) => char.IsWhiteSpace(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;
}
