using System.Text;
using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.AspNetCore.Implementation;

/// <summary>The SDK's name rules (the same patterns as its event validator) and the normalisation of custom event names.</summary>
internal static partial class Names
{
    [GeneratedRegex("^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$")]
    private static partial Regex EventTypePattern();

    [GeneratedRegex("^[a-z][a-z0-9_-]*$")]
    private static partial Regex ChannelPattern();

    public static bool IsEventType(string? value) => !string.IsNullOrEmpty(value) && value.Length <= 100 && EventTypePattern().IsMatch(value);

    public static bool IsChannel(string? value) => !string.IsNullOrEmpty(value) && ChannelPattern().IsMatch(value);

    /// <summary>
    /// <c>Signed Up</c> → <c>signed_up</c>: lower-case ASCII letters and digits, every other run one underscore, no leading
    /// or trailing underscore, a leading digit prefixed with <c>event_</c>; <see langword="null"/> when nothing is left.
    /// </summary>
    public static string? NormalizeCustom(string name, string? prefix)
    {
        var sb = new StringBuilder(name.Length);
        var pendingUnderscore = false;
        foreach (var ch in name.Normalize(NormalizationForm.FormD))
        {
            var c = char.ToLowerInvariant(ch);
            if (char.GetUnicodeCategory(ch) == System.Globalization.UnicodeCategory.NonSpacingMark)
            {
                continue; // é → e
            }

            if (char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
            {
                if (pendingUnderscore && sb.Length > 0)
                {
                    sb.Append('_');
                }

                pendingUnderscore = false;
                sb.Append(c);
            }
            else
            {
                pendingUnderscore = true;
            }
        }

        if (sb.Length == 0)
        {
            return null;
        }

        if (char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, "event_");
        }

        var max = 100 - (prefix is null ? 0 : prefix.Length + 1);
        var normalized = sb.Length > max ? sb.ToString(0, max).TrimEnd('_') : sb.ToString();
        return prefix is null ? normalized : prefix + "." + normalized;
    }
}
