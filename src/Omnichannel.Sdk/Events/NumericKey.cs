using System.Globalization;
using System.Text.Json;

namespace Omnichannel.Sdk;

/// <summary>
/// The text of an id sent as a JSON number (<c>order_id</c>, <c>cart_id</c>, a journey's correlation value): one text per
/// number, so <c>42</c>, <c>42.0</c> and <c>4.2e1</c> name one order, as the string <c>"42"</c> does. Clients that pass ids
/// through floating point send the second form (a pandas column of ids with a gap becomes floats; a PHP or Python float
/// is written with its ".0").
/// </summary>
internal static class NumericKey
{
    /// <summary>The number's shortest decimal text (no exponent, no trailing zeros, <c>-0</c> as <c>0</c>); its JSON text as
    /// written when <see cref="decimal"/> cannot hold it exactly (beyond 28 digits, or a tiny value that would read as 0).</summary>
    public static string Text(JsonElement number)
    {
        if (number.TryGetDecimal(out var d))
        {
            var canonical = (d / 1.0000000000000000000000000000m).ToString(CultureInfo.InvariantCulture);
            if (d != 0 || !HasNonZeroDigit(number.GetRawText()))
            {
                return canonical;
            }
        }

        return number.GetRawText();
    }

    private static bool HasNonZeroDigit(string raw)
    {
        foreach (var c in raw)
        {
            if (c is 'e' or 'E')
            {
                return false;
            }

            if (c is >= '1' and <= '9')
            {
                return true;
            }
        }

        return false;
    }
}
