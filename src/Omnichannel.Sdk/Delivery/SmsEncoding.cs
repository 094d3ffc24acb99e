namespace Omnichannel.Sdk.Delivery;

/// <summary>The alphabet an SMS is sent in, which decides how many characters fit in one segment.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SmsAlphabet>))]
public enum SmsAlphabet
{
    /// <summary>The GSM 03.38 7-bit default alphabet (with its extension table): 160 characters in one segment.</summary>
    Gsm7,

    /// <summary>UCS-2 (UTF-16 code units): 70 characters in one segment. Used as soon as one character is not GSM-7.</summary>
    Ucs2,
}

/// <summary>How an SMS body is encoded and split.</summary>
/// <param name="Alphabet">GSM-7 or UCS-2.</param>
/// <param name="Length">The body's length in the alphabet's units: septets for GSM-7 (an extension character counts 2), UTF-16 code units for UCS-2.</param>
/// <param name="SegmentCount">How many SMS segments the body is sent as (at least 1).</param>
/// <param name="UnitsPerSegment">Units per segment: 160 or 153 (GSM-7), 70 or 67 (UCS-2); the smaller value when the body is split.</param>
public readonly record struct SmsSegmentInfo(SmsAlphabet Alphabet, int Length, int SegmentCount, int UnitsPerSegment);

/// <summary>
/// Detects the SMS alphabet of a text (GSM-7 or UCS-2) and counts its segments, as providers bill them.
/// </summary>
/// <remarks>
/// A single segment holds 160 GSM-7 septets or 70 UCS-2 code units. A split (concatenated) message loses room to its
/// header: 153 septets or 67 code units per part. Characters are never split between parts: an extension character
/// (escape + character, 2 septets) and a UTF-16 surrogate pair (an emoji) move whole to the next part, so such texts may
/// need one segment more than a plain division suggests. An empty text is one (empty) segment.
/// </remarks>
public static class SmsEncoding
{
    /// <summary>Septets in a single GSM-7 segment.</summary>
    public const int Gsm7SingleSegment = 160;

    /// <summary>Septets per part of a split GSM-7 message.</summary>
    public const int Gsm7MultipartSegment = 153;

    /// <summary>Code units in a single UCS-2 segment.</summary>
    public const int Ucs2SingleSegment = 70;

    /// <summary>Code units per part of a split UCS-2 message.</summary>
    public const int Ucs2MultipartSegment = 67;

    // GSM 03.38 basic character set (the escape 0x1B itself is not a character a text can contain).
    private const string BasicCharacters =
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

    // GSM 03.38 extension table: each is sent as escape + character, so it costs 2 septets.
    private const string ExtensionCharacters = "\f^{}\\[~]|€";

    private static readonly HashSet<char> Basic = [.. BasicCharacters];
    private static readonly HashSet<char> Extension = [.. ExtensionCharacters];

    /// <summary>Whether every character of <paramref name="text"/> is in the GSM-7 alphabet (basic or extension table).</summary>
    /// <param name="text">The SMS text.</param>
    public static bool IsGsm7(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var c in text)
        {
            if (!Basic.Contains(c) && !Extension.Contains(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="c"/> is in the GSM-7 extension table (it costs 2 septets).</summary>
    /// <param name="c">The character.</param>
    public static bool IsGsm7Extension(char c) => Extension.Contains(c);

    /// <summary>Detects the alphabet of <paramref name="text"/> and counts its length and segments.</summary>
    /// <param name="text">The SMS text.</param>
    public static SmsSegmentInfo Analyze(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return IsGsm7(text) ? AnalyzeGsm7(text) : AnalyzeUcs2(text);
    }

    /// <summary>How many segments <paramref name="text"/> is sent as.</summary>
    /// <param name="text">The SMS text.</param>
    public static int CountSegments(string text) => Analyze(text).SegmentCount;

    private static SmsSegmentInfo AnalyzeGsm7(string text)
    {
        var length = 0;
        foreach (var c in text)
        {
            length += Extension.Contains(c) ? 2 : 1;
        }

        if (length <= Gsm7SingleSegment)
        {
            return new SmsSegmentInfo(SmsAlphabet.Gsm7, length, 1, Gsm7SingleSegment);
        }

        // Fill parts greedily; an escape sequence that would straddle a part boundary starts the next part.
        var segments = 1;
        var used = 0;
        foreach (var c in text)
        {
            var cost = Extension.Contains(c) ? 2 : 1;
            if (used + cost > Gsm7MultipartSegment)
            {
                segments++;
                used = 0;
            }

            used += cost;
        }

        return new SmsSegmentInfo(SmsAlphabet.Gsm7, length, segments, Gsm7MultipartSegment);
    }

    private static SmsSegmentInfo AnalyzeUcs2(string text)
    {
        var length = text.Length;
        if (length <= Ucs2SingleSegment)
        {
            return new SmsSegmentInfo(SmsAlphabet.Ucs2, length, 1, Ucs2SingleSegment);
        }

        // Fill parts greedily; a surrogate pair that would straddle a part boundary starts the next part.
        var segments = 1;
        var used = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var cost = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            if (used + cost > Ucs2MultipartSegment)
            {
                segments++;
                used = 0;
            }

            used += cost;
            i += cost - 1;
        }

        return new SmsSegmentInfo(SmsAlphabet.Ucs2, length, segments, Ucs2MultipartSegment);
    }
}
