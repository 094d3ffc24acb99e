using System.Text;

namespace Omnichannel.Sdk;

/// <summary>The built-in normalisers.</summary>
public static class IdentifierNormalizers
{
    /// <summary>Trims and lower-cases an email address and checks its shape (one <c>@</c>, a dotted domain, no spaces).</summary>
    public static bool Email(string raw, IdentityOptions options, out string normalized, out string? error)
    {
        normalized = raw.Trim().ToLowerInvariant();
        var at = normalized.IndexOf('@');
        if (at <= 0 || at != normalized.LastIndexOf('@') || at == normalized.Length - 1)
        {
            error = "is not an email address (expected one '@' between a local part and a domain)";
            return false;
        }

        var domain = normalized.AsSpan(at + 1);
        if (domain.IndexOf('.') <= 0 || domain[^1] == '.' || normalized.AsSpan().IndexOfAny(" \t\r\n,;<>") >= 0)
        {
            error = "is not an email address (the domain needs a dot and no spaces or separators are allowed)";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>
    /// Turns a phone number into E.164 (<c>+</c> and 8 to 15 digits). Spaces, dots, dashes and parentheses are ignored;
    /// <c>00</c> is read as an international prefix; a national number (with or without its trunk <c>0</c>)
    /// gets <see cref="IdentityOptions.DefaultPhoneCountryCode"/>.
    /// </summary>
    public static bool Phone(string raw, IdentityOptions options, out string normalized, out string? error)
    {
        var s = raw.Trim();
        var digits = new StringBuilder(s.Length + 4);
        var international = false;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsAsciiDigit(c))
            {
                digits.Append(c);
            }
            else if (c == '+' && digits.Length == 0 && !international)
            {
                international = true;
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')' or '/'))
            {
                normalized = s;
                error = $"is not a phone number (unexpected character '{c}')";
                return false;
            }
        }

        var d = digits.ToString();
        if (!international && d.StartsWith("00", StringComparison.Ordinal))
        {
            international = true;
            d = d[2..];
        }
        else if (!international)
        {
            d = options.DefaultPhoneCountryCode + (d.StartsWith('0') ? d[1..] : d);
        }

        if (d.Length is < 8 or > 15 || d[0] == '0')
        {
            normalized = s;
            error = "is not a phone number (E.164 allows 8 to 15 digits after a country code that does not start with 0)";
            return false;
        }

        normalized = "+" + d;
        error = null;
        return true;
    }
}
