using System.Diagnostics.CodeAnalysis;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Journeys;

/// <summary>A signed ISO 8601 duration: <c>-P3D</c> (three days before), <c>P1D</c> or <c>+P1D</c> (a day after), <c>PT0S</c>.</summary>
/// <param name="Magnitude">The duration without its sign.</param>
/// <param name="IsNegative">Whether it points back in time.</param>
public readonly record struct IsoOffset(IsoDuration Magnitude, bool IsNegative)
{
    /// <summary>No offset.</summary>
    public static IsoOffset Zero => default;

    /// <summary>An offset before a date.</summary>
    /// <param name="duration">How long before.</param>
    public static IsoOffset Before(IsoDuration duration) => new(duration, !duration.IsZero);

    /// <summary>An offset after a date.</summary>
    /// <param name="duration">How long after.</param>
    public static IsoOffset After(IsoDuration duration) => new(duration, false);

    /// <summary>The instant this offset away from <paramref name="instant"/> (calendar parts in UTC).</summary>
    /// <param name="instant">The instant.</param>
    public DateTimeOffset ApplyTo(DateTimeOffset instant) => IsNegative ? Magnitude.SubtractFrom(instant) : Magnitude.AddTo(instant);

    /// <summary>Parses <c>-P3D</c>, <c>+P1D</c>, <c>P1D</c>; throws <see cref="FormatException"/> with the reason when it is not one.</summary>
    /// <param name="text">The text.</param>
    public static IsoOffset Parse(string text) => TryParse(text, out var o, out var error) ? o : throw new FormatException(error);

    /// <summary>Parses a signed ISO 8601 duration.</summary>
    /// <param name="text">The text.</param>
    /// <param name="offset">The offset.</param>
    /// <param name="error">Why the text is not one.</param>
    public static bool TryParse([NotNullWhen(true)] string? text, out IsoOffset offset, [NotNullWhen(false)] out string? error)
    {
        offset = default;
        if (string.IsNullOrEmpty(text))
        {
            error = "'' is not a signed ISO 8601 duration (expected e.g. -P3D, P1D, PT0S).";
            return false;
        }

        var negative = text[0] == '-';
        var body = text[0] is '-' or '+' ? text[1..] : text;
        if (!IsoDuration.TryParse(body, out var magnitude, out _))
        {
            error = $"'{text}' is not a signed ISO 8601 duration (expected e.g. -P3D for three days before, P1D or +P1D for a day after).";
            return false;
        }

        // -PT0S is plain zero, so zero has one form.
        offset = new IsoOffset(magnitude, negative && !magnitude.IsZero);
        error = null;
        return true;
    }

    /// <summary>The ISO 8601 form with a leading <c>-</c> when negative.</summary>
    public override string ToString() => (IsNegative ? "-" : string.Empty) + Magnitude.ToString();
}
