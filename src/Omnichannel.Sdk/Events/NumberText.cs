using System.Globalization;
using System.Text.RegularExpressions;

namespace Omnichannel.Sdk;

/// <summary>
/// Numbers sent as text (<c>"19.99"</c>, as some shops send money). A comma is read only as a thousands separator between
/// groups of three digits (<c>"1,234.50"</c>): <see cref="NumberStyles.Number"/> alone takes a comma anywhere, so a
/// decimal comma (<c>"9,99"</c>, written so in much of Europe) was 999 and <c>"1,5"</c> items were 15. Such text is no
/// number here: the events' validation refuses it with its field, and rules and revenue do not count it.
/// </summary>
internal static partial class NumberText
{
    [GeneratedRegex(@"^\s*[+-]?\d{1,3}(,\d{3})+(\.\d*)?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex GroupedThousands();

    /// <summary>Reads a decimal the way every part of the SDK reads a numeric string.</summary>
    public static bool TryParseDecimal(string? text, out decimal value)
    {
        value = 0;
        return text is not null && CommasAreThousands(text) && decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Reads a double the way every part of the SDK reads a numeric string.</summary>
    public static bool TryParseDouble(string? text, out double value)
    {
        value = 0;
        return text is not null && CommasAreThousands(text) && double.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out value);
    }

    private static bool CommasAreThousands(string text) => !text.Contains(',', StringComparison.Ordinal) || GroupedThousands().IsMatch(text);
}
