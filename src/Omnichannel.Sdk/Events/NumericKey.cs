using System.Globalization;
using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>
/// The text of an id sent as a JSON number (<c>order_id</c>, <c>cart_id</c>, a journey's correlation value, a tracking
/// client's numeric <c>userId</c>): one text per number, so <c>42</c>, <c>42.0</c> and <c>4.2e1</c> name one order, as the
/// string <c>"42"</c> does. Clients that pass ids through floating point send the second form (a pandas column of ids with
/// a gap becomes floats; a PHP or Python float is written with its ".0").
/// </summary>
internal static class NumericKey
{
    /// <summary>The number's shortest decimal text (no exponent, no trailing zeros, <c>-0</c> as <c>0</c>) when
    /// <see cref="decimal"/> holds it exactly; otherwise its JSON text as written (more than 28 significant digits, which
    /// decimal would round so that two ids became one).</summary>
    public static string Text(JsonElement number)
    {
        var raw = number.GetRawText();
        if (raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0 && raw != "-0")
        {
            return raw; // an integer as JSON writes it is already its one text (no leading zeros, no exponent)
        }

        if (number.TryGetDecimal(out var d))
        {
            var canonical = (d / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture);
            if (Scientific(canonical) is { } mine && Scientific(raw) is { } theirs && mine == theirs)
            {
                return canonical;
            }
        }

        return raw;
    }

    // The number as its significant digits and the power of ten of the first (0.0420 and 4.2e1: "42"; -1, 2), to tell
    // whether two texts are one number without any rounding. Null for an exponent out of int's range.
    private static (bool Negative, string Digits, long Exponent)? Scientific(string s)
    {
        var i = 0;
        var negative = s.Length > 0 && s[0] == '-';
        if (negative)
        {
            i++;
        }

        var digits = new System.Text.StringBuilder(s.Length);
        var point = -1;
        for (; i < s.Length && s[i] is not ('e' or 'E'); i++)
        {
            if (s[i] == '.')
            {
                point = digits.Length;
            }
            else
            {
                digits.Append(s[i]);
            }
        }

        long exponent = 0;
        if (i < s.Length && !long.TryParse(s.AsSpan(i + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent))
        {
            return null;
        }

        var before = point < 0 ? digits.Length : point; // digits before the point
        var lead = 0;
        while (lead < digits.Length && digits[lead] == '0')
        {
            lead++;
        }

        var text = digits.ToString(lead, digits.Length - lead).TrimEnd('0');
        return text.Length == 0 ? (false, "0", 0) : (negative, text, before - lead + exponent);
    }
}
