using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Privacy;

/// <summary>
/// Removes email addresses and phone numbers from provider texts (SMTP replies, HTTP bodies, exception messages) before
/// they are logged, stored as a failure reason or put on a timeline: <c>SMTP 550: 5.1.1 &lt;ann@example.com&gt;: Recipient
/// address rejected</c> becomes <c>SMTP 550: 5.1.1 &lt;[email]&gt;: Recipient address rejected</c>.
/// </summary>
/// <remarks>
/// Phone numbers are recognised as an international number (<c>+</c> then 7 to 15 digits, spaces, dots, dashes or
/// parentheses between them), a run of 9 to 15 digits, three groups of digits such as <c>(415) 555-0100</c>, or a national
/// number written with its trunk <c>0</c> and 9 to 13 digits in any grouping (<c>07700 900123</c>, <c>06 12 34 56 78</c>).
/// URL-encoded forms count too (<c>ann%40example.com</c>, <c>%2B447700900123</c>): HTTP providers echo the request's
/// query or form body. Status codes (<c>550</c>, <c>5.1.1</c>), dates and times are left alone; a long run of digits that
/// is not a phone number is masked too, which costs a diagnostic detail, never personal data.
/// </remarks>
public static partial class PersonalDataScrubber
{
    /// <summary>What replaces an email address.</summary>
    public const string EmailPlaceholder = "[email]";

    /// <summary>What replaces a phone number.</summary>
    public const string PhonePlaceholder = "[phone]";

    /// <summary>The text with every email address and phone number replaced; <see langword="null"/> stays <see langword="null"/>.</summary>
    /// <param name="text">A provider's text.</param>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    public static string? Scrub(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        var scrubbed = text.Contains('@', StringComparison.Ordinal) || text.Contains("%40", StringComparison.Ordinal)
            ? Email().Replace(text, EmailPlaceholder)
            : text;
        return Phone().Replace(scrubbed, PhonePlaceholder);
    }

    // Local part with the characters RFC 5322 allows unquoted, '@' (or its URL encoding), a domain (IDN letters included).
    [GeneratedRegex(@"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~.\-]+(?:@|%40)[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*", RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    [GeneratedRegex(
        @"(?<![\w.+])(?:(?:\+|%2[Bb])\d[\d\s().\-]{5,20}\d|\d{9,15}|\(?\d{3,5}\)?[\s.\-]\d{3,4}[\s.\-]\d{3,5}|0\d(?:[\s.\-]?\d){7,11})(?![\w])",
        RegexOptions.CultureInvariant)]
    private static partial Regex Phone();
}
