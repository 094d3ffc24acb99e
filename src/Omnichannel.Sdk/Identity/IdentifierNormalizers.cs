using PhoneNumbers;

namespace Omnichannel.Sdk;

/// <summary>The built-in normalisers.</summary>
public static class IdentifierNormalizers
{
    /// <summary>
    /// Trims and lower-cases an email address and checks its shape (one <c>@</c>, a dotted domain with no empty label and no trailing dot, no spaces). Invisible
    /// format characters (zero-width spaces, a byte-order mark) are removed and the text is compatibility-composed (NFKC),
    /// so an address typed with a decomposed accent or full-width characters is the same address; a domain in its ASCII
    /// form (<c>xn--bcher-kva.de</c>) is kept in its Unicode form (<c>bücher.de</c>). A <c>mailto:</c> prefix (RFC 6068,
    /// as a link copied from a page carries it) is removed with the link's subject or body after <c>?</c>, as <c>tel:</c> is
    /// from phone numbers. A quoted local part that needs no quotes (<c>"ann"@x.io</c>) loses them.
    /// </summary>
    public static bool Email(string raw, IdentityOptions options, out string normalized, out string? error)
    {
        ArgumentNullException.ThrowIfNull(raw);
        normalized = IdentifierText.Clean(raw).Trim().ToLowerInvariant();
        if (normalized.StartsWith("mailto:", StringComparison.Ordinal))
        {
            normalized = normalized["mailto:".Length..];

            // A link's subject, body or copies (RFC 6068 hfields, "?subject=Hello") are not part of the address.
            var query = normalized.IndexOf('?');
            normalized = (query >= 0 ? normalized[..query] : normalized).Trim();
        }
        var at = normalized.IndexOf('@');
        if (at <= 0 || at != normalized.LastIndexOf('@') || at == normalized.Length - 1)
        {
            error = "is not an email address (expected one '@' between a local part and a domain)";
            return false;
        }

        var separator = normalized.AsSpan().IndexOfAny(" \t\r\n,;<>");
        if (separator >= 0)
        {
            // One address, as "Ann <ann@x.io>" or "ann@x.io, bob@x.io" copied from a mail header are not.
            error = normalized[separator] switch
            {
                ' ' => "is not an email address (it contains a space: give one bare address, without a display name)",
                '\t' or '\r' or '\n' => "is not an email address (it contains a tab or line break: give one bare address)",
                var c => $"is not an email address (it contains '{c}': give one bare address, without a display name or a list)",
            };
            return false;
        }

        var domain = normalized.AsSpan(at + 1);
        if (domain.TrimEnd('.').IndexOf('.') < 0)
        {
            error = "is not an email address (the domain after '@' needs a dot inside it, as in example.com)";
            return false;
        }

        if (domain[^1] == '.')
        {
            // The DNS root form (x.io.) or a sentence's full stop: no mail system delivers it (a 501); said as it is.
            error = "is not an email address (the domain after '@' ends with a dot: give it without, as in example.com)";
            return false;
        }

        if (domain[0] == '.' || domain.Contains("..", StringComparison.Ordinal))
        {
            // An empty label (x..io, @.x.io) names no domain, and kept it made a second person of a typo's twin.
            error = "is not an email address (the domain after '@' has two dots together or starts with a dot)";
            return false;
        }

        // A quoted local part that needs no quotes ("ann"@x.io) is the same mailbox as the bare one (RFC 5321 4.1.2); a
        // quoted part that needs them (a space, an '@') is kept as written.
        if (at > 2 && normalized[0] == '"' && normalized[at - 1] == '"')
        {
            var inner = normalized.AsSpan(1, at - 2);
            if (inner.IndexOfAny("\"\\ ()<>[]:;@,") < 0 && inner[0] != '.' && inner[^1] != '.' && !inner.Contains("..", StringComparison.Ordinal))
            {
                normalized = string.Concat(inner, normalized.AsSpan(at));
                at -= 2;
                domain = normalized.AsSpan(at + 1);
            }
        }

        // An internationalised domain written in its ASCII form (xn--) is the same domain as its Unicode form.
        if (domain.Contains("xn--", StringComparison.Ordinal))
        {
            try
            {
                normalized = string.Concat(normalized.AsSpan(0, at + 1), new System.Globalization.IdnMapping().GetUnicode(domain.ToString()).ToLowerInvariant().Normalize());
            }
            catch (ArgumentException)
            {
                // Not a valid IDN label: kept as it was written.
            }
        }

        error = null;
        return true;
    }

    /// <summary>
    /// Turns a phone number into E.164 (<c>+</c>, country code, national number) with Google's libphonenumber: spaces,
    /// dots, dashes, parentheses and a national trunk prefix written inside an international number
    /// (<c>+44 (0)20 7946 0958</c>) are understood; <c>00</c> is read as an international prefix; a national number gets
    /// <see cref="IdentityOptions.DefaultPhoneRegion"/> (else the region of <see cref="IdentityOptions.DefaultPhoneCountryCode"/>).
    /// The number must have a possible length for its region (whether it is assigned is not checked, so test ranges work).
    /// Full-width digits and the digits of other scripts (Arabic-Indic, Persian, Devanagari), no-break spaces, Unicode
    /// dashes, invisible format characters, a <c>tel:</c> or <c>sms:</c> prefix (RFC 3966, RFC 5724; the latter with its
    /// <c>?body=</c> left out) and Twilio's <c>whatsapp:</c> address form (always international: its digits without a
    /// <c>+</c> are read with their country code, as Meta writes them) are understood too, and a Mexican mobile written with the
    /// <c>1</c> retired in 2019 (<c>+52 1 55…</c>) is the number without it. Extensions (<c>ext. 12</c>, <c>x12</c>, <c>;ext=12</c>) are refused with an error saying so, and letters are refused.
    /// </summary>
    public static bool Phone(string raw, IdentityOptions options, out string normalized, out string? error)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(options);
        var s = IdentifierText.Clean(raw).Trim();
        if (s.StartsWith("tel:", StringComparison.OrdinalIgnoreCase))
        {
            s = s[4..].Trim();
        }
        else if (s.StartsWith("whatsapp:", StringComparison.OrdinalIgnoreCase))
        {
            s = s["whatsapp:".Length..].Trim(); // Twilio's WhatsApp address (From: whatsapp:+14155550101)

            // WhatsApp has no national numbers: its address is always international, and Meta writes it without the plus
            // (wa_id 447700900461). Read in the default country it was refused, or another country's number (in Germany
            // whatsapp:14155550101 was +4914155550101, a second person). A leading 0 is no country code: read as before.
            if (s.Length > 0 && s[0] is >= '1' and <= '9')
            {
                s = "+" + s;
            }
        }
        else if (s.StartsWith("sms:", StringComparison.OrdinalIgnoreCase))
        {
            s = s[4..]; // RFC 5724: sms:+14155550101?body=… (the body is the link's, not the number's)
            s = (s.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 ? s[..q] : s).Trim();
        }

        if (!System.Text.Ascii.IsValid(s))
        {
            // Digits of other scripts (Arabic-Indic, Persian, Devanagari…) are what an Arabic or Hindi keyboard types, and
            // libphonenumber reads them as digits; NFKC leaves them as they are, so they were refused (audit K2).
            s = string.Concat(s.Select(c => System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) switch
            {
                System.Globalization.UnicodeCategory.DashPunctuation => '-',
                System.Globalization.UnicodeCategory.DecimalDigitNumber => (char)('0' + System.Globalization.CharUnicodeInfo.GetDecimalDigitValue(c)),
                _ => c,
            }));
        }

        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c) && c is not (' ' or '-' or '.' or '(' or ')' or '/' or '+'))
            {
                normalized = s;

                // E.164 has no extension (the number without it is the switchboard's); "unexpected character 'e'" said
                // nothing of what to change.
                error = IsExtension(s)
                    ? "is not a phone number (it has an extension, which no message reaches: give the number without it)"
                    : $"is not a phone number (unexpected character '{(char.IsControl(c) ? '?' : c)}')";
                return false;
            }
        }

        if (s.StartsWith("00", StringComparison.Ordinal))
        {
            s = "+" + s[2..];
        }

        var util = PhoneNumberUtil.GetInstance();
        try
        {
            var number = util.Parse(s, options.PhoneRegion());

            // Mexico dropped the mobile "1" after +52 in 2019, but old contacts and WhatsApp still send +52 1 and ten digits;
            // it is the same phone, and without this it was refused as too long (audit K2).
            if (number.CountryCode == 52 && number.NationalNumber is >= 1_000_000_0000 and < 2_000_000_0000)
            {
                number = number.ToBuilder().SetNationalNumber(number.NationalNumber - 1_000_000_0000).Build();
            }

            if (!util.IsPossibleNumber(number))
            {
                normalized = raw.Trim();
                error = $"is not a phone number (not a possible length for country code +{number.CountryCode})" + RegionHint(s, options);
                return false;
            }

            normalized = util.Format(number, PhoneNumberFormat.E164);
            error = null;
            return true;
        }
        catch (NumberParseException ex)
        {
            normalized = raw.Trim();
            error = ex.ErrorType switch
            {
                ErrorType.INVALID_COUNTRY_CODE => "is not a phone number (unknown country code)",
                ErrorType.TOO_SHORT_NSN or ErrorType.TOO_SHORT_AFTER_IDD => "is not a phone number (too short)",
                ErrorType.TOO_LONG => "is not a phone number (too long)",
                _ => "is not a phone number",
            } + (ex.ErrorType == ErrorType.INVALID_COUNTRY_CODE ? string.Empty : RegionHint(s, options));
            return false;
        }
    }

    // "+1 415 555 2671 ext. 12", "… x12", "… #12", RFC 3966 "…;ext=12": digits, then a marker and the extension's digits.
    // Only the tail is looked at (an extension ends the text): on megabytes of hostile input the regex hit its time-out
    // and threw RegexMatchTimeoutException out of a normaliser that answers with a bool (review 30). A time-out left is
    // no extension: the usual reason is given.
    private static bool IsExtension(string s)
    {
        if (s.Contains(";ext=", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        try
        {
            return System.Text.RegularExpressions.Regex.IsMatch(s.Length > 64 ? s[^64..] : s, @"\d\s*(ext\.?|extension|x|#)\s*\d+\s*$", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// A loyalty card number as printed, typed or scanned: full-width characters are composed (NFKC), spaces, dashes and
    /// dots between groups are removed, letters are upper-cased, and an all-digit number loses its leading zeros (a till
    /// or a spreadsheet that stores it as a number drops them), so <c>0001 234-567</c> and <c>1234567</c> are one card.
    /// </summary>
    public static bool LoyaltyCard(string raw, IdentityOptions options, out string normalized, out string? error)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var s = IdentifierText.Clean(raw).Trim();
        var sb = new System.Text.StringBuilder(s.Length);
        var digits = true;
        foreach (var c in s)
        {
            if (char.IsWhiteSpace(c) || c is '-' or '.' || System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.DashPunctuation)
            {
                continue;
            }

            digits &= char.IsAsciiDigit(c);
            sb.Append(char.ToUpperInvariant(c));
        }

        normalized = sb.ToString();
        if (normalized.Length == 0)
        {
            normalized = s;
            error = "is not a loyalty card number (only separators)";
            return false;
        }

        if (digits)
        {
            var trimmed = normalized.TrimStart('0');
            normalized = trimmed.Length == 0 ? "0" : trimmed;
        }

        error = null;
        return true;
    }

    // A number written without '+' is read in the default country, which is 1 (North America) unless the shop set it: a
    // shop elsewhere that left it sees its own customers' numbers refused, and needs to be told which setting it is.
    private static string RegionHint(string number, IdentityOptions options) =>
        number.StartsWith('+')
            ? string.Empty
            : $"; without '+' it was read as a number of {options.PhoneRegion()} (IdentityOptions.DefaultPhoneCountryCode is \"{options.DefaultPhoneCountryCode}\"" +
              (options.DefaultPhoneRegion is null ? string.Empty : $", DefaultPhoneRegion \"{options.DefaultPhoneRegion}\"") +
              "): write it with '+' and its country code, or set the shop's country in those options";
}
