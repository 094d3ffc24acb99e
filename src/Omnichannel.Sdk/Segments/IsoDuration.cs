using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Omnichannel.Sdk.Segments;

/// <summary>
/// An ISO 8601 duration (<c>P1Y2M10DT2H30M</c>, <c>P3W</c>). Years, months and days are calendar units applied in UTC
/// (<c>P1M</c> back from 31 March is 28 or 29 February); hours, minutes and seconds are exact.
/// </summary>
public readonly record struct IsoDuration
{
    /// <summary>Creates a duration.</summary>
    /// <param name="years">Calendar years.</param>
    /// <param name="months">Calendar months.</param>
    /// <param name="days">Calendar days (weeks are 7 days).</param>
    /// <param name="time">The exact part (hours, minutes, seconds).</param>
    /// <exception cref="ArgumentOutOfRangeException">A part is negative, <paramref name="time"/> has a fraction of a second, or the whole is longer than <see cref="MaxDays"/> days.</exception>
    public IsoDuration(int years, int months, int days, TimeSpan time)
    {
        if (years < 0 || months < 0 || days < 0 || time < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(years), "An ISO 8601 duration has no negative parts.");
        }

        if (time.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            // The ISO form written to JSON counts whole seconds: PT1.5S would be written PT1S, and 0.5 s as "PT".
            throw new ArgumentOutOfRangeException(nameof(time), $"An ISO 8601 duration here counts whole seconds; {time} has a fraction of a second.");
        }

        if (Span(years, months, days, time) > MaxDays)
        {
            throw new ArgumentOutOfRangeException(nameof(years), TooLong($"P{years}Y{months}M{days}D + {time}"));
        }

        Years = years;
        Months = months;
        Days = days;
        Time = time;
    }

    /// <summary>
    /// The longest duration a definition may hold, in days: 36,600 (100 years; a year counts 366 days and a month 31).
    /// Windows, delays and offsets are added to or taken from instants, and every one of them must stay computable.
    /// </summary>
    public const int MaxDays = 36_600;

    /// <summary>Calendar years.</summary>
    public int Years { get; }

    /// <summary>Calendar months.</summary>
    public int Months { get; }

    /// <summary>Calendar days.</summary>
    public int Days { get; }

    /// <summary>The exact part.</summary>
    public TimeSpan Time { get; }

    /// <summary>Whether every part is zero.</summary>
    public bool IsZero => Years == 0 && Months == 0 && Days == 0 && Time == TimeSpan.Zero;

    /// <summary>A duration of whole days.</summary>
    /// <param name="days">The number of days.</param>
    public static IsoDuration FromDays(int days) => new(0, 0, days, TimeSpan.Zero);

    /// <summary>A duration of whole months.</summary>
    /// <param name="months">The number of months.</param>
    public static IsoDuration FromMonths(int months) => new(0, months, 0, TimeSpan.Zero);

    /// <summary>An exact duration.</summary>
    /// <param name="time">The time span (whole seconds).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is negative or has a fraction of a second.</exception>
    public static IsoDuration FromTime(TimeSpan time) => new(0, 0, 0, time);

    /// <summary>
    /// The instant this duration before <paramref name="instant"/> (calendar parts in UTC), or
    /// <see cref="DateTimeOffset.MinValue"/> when that is before the first representable instant (a date trait of
    /// 0001-01-01 minus three days): time arithmetic on customers' values never throws.
    /// </summary>
    /// <param name="instant">The instant.</param>
    public DateTimeOffset SubtractFrom(DateTimeOffset instant)
    {
        try
        {
            // Days and time alone are exact steps of ticks: no calendar arithmetic needed (the hot case).
            return Years == 0 && Months == 0
                ? instant.ToUniversalTime().AddDays(-Days) - Time
                : instant.ToUniversalTime().AddYears(-Years).AddMonths(-Months).AddDays(-Days) - Time;
        }
        catch (ArgumentOutOfRangeException)
        {
            return DateTimeOffset.MinValue;
        }
    }

    /// <summary>
    /// The instant this duration after <paramref name="instant"/> (calendar parts in UTC), or
    /// <see cref="DateTimeOffset.MaxValue"/> when that is after the last representable instant.
    /// </summary>
    /// <param name="instant">The instant.</param>
    public DateTimeOffset AddTo(DateTimeOffset instant)
    {
        try
        {
            return instant.ToUniversalTime().AddYears(Years).AddMonths(Months).AddDays(Days) + Time;
        }
        catch (ArgumentOutOfRangeException)
        {
            return DateTimeOffset.MaxValue;
        }
    }

    /// <summary>Parses an ISO 8601 duration; throws <see cref="FormatException"/> with the reason when it is not one.</summary>
    /// <param name="text">The text, e.g. <c>P90D</c>.</param>
    public static IsoDuration Parse(string text) =>
        TryParse(text, out var d, out var error) ? d : throw new FormatException(error);

    /// <summary>Parses an ISO 8601 duration.</summary>
    /// <param name="text">The text.</param>
    /// <param name="duration">The duration.</param>
    /// <param name="error">Why the text is not a duration.</param>
    public static bool TryParse([NotNullWhen(true)] string? text, out IsoDuration duration, [NotNullWhen(false)] out string? error)
    {
        duration = default;
        if (string.IsNullOrEmpty(text) || text[0] != 'P' || text.Length < 2)
        {
            error = $"'{text}' is not an ISO 8601 duration (expected e.g. P90D, P1Y6M, PT12H).";
            return false;
        }

        int years = 0, months = 0, weeks = 0, days = 0;
        var time = TimeSpan.Zero;
        var inTime = false;
        var seen = string.Empty;
        var number = 0;
        var hasNumber = false;
        var any = false;
        for (var i = 1; i < text.Length; i++)
        {
            var c = text[i];
            if (c == 'T' && !inTime && !hasNumber)
            {
                inTime = true;
                seen = string.Empty;
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                if (number > 100_000)
                {
                    error = $"'{text}' is too long a duration.";
                    return false;
                }

                number = number * 10 + (c - '0');
                hasNumber = true;
                continue;
            }

            var order = inTime ? "HMS" : "YMWD";
            var pos = order.IndexOf(c, StringComparison.Ordinal);
            if (!hasNumber || pos < 0 || seen.Length > 0 && order.IndexOf(seen[^1], StringComparison.Ordinal) >= pos)
            {
                error = $"'{text}' is not an ISO 8601 duration: unexpected '{c}' at position {i}.";
                return false;
            }

            switch (inTime, c)
            {
                case (false, 'Y'): years = number; break;
                case (false, 'M'): months = number; break;
                case (false, 'W'): weeks = number; break;
                case (false, 'D'): days = number; break;
                case (true, 'H'): time += TimeSpan.FromHours(number); break;
                case (true, 'M'): time += TimeSpan.FromMinutes(number); break;
                case (true, 'S'): time += TimeSpan.FromSeconds(number); break;
            }

            seen += c;
            number = 0;
            hasNumber = false;
            any = true;
        }

        if (hasNumber || !any)
        {
            error = $"'{text}' is not an ISO 8601 duration: a number has no unit.";
            return false;
        }

        if (Span(years, months, (long)weeks * 7 + days, time) > MaxDays)
        {
            error = TooLong(text);
            return false;
        }

        duration = new IsoDuration(years, months, weeks * 7 + days, time);
        error = null;
        return true;
    }

    private static double Span(long years, long months, long days, TimeSpan time) =>
        (years * 366d) + (months * 31d) + days + time.TotalDays;

    private static string TooLong(string text) =>
        $"'{text}' is longer than 36,600 days (100 years), the longest duration a definition may hold.";

    /// <summary>The ISO 8601 form (<c>P90D</c>, <c>PT0S</c> for zero).</summary>
    public override string ToString()
    {
        if (IsZero)
        {
            return "PT0S";
        }

        var sb = new StringBuilder("P");
        if (Years > 0) sb.Append(Years.ToString(CultureInfo.InvariantCulture)).Append('Y');
        if (Months > 0) sb.Append(Months.ToString(CultureInfo.InvariantCulture)).Append('M');
        if (Days > 0) sb.Append(Days.ToString(CultureInfo.InvariantCulture)).Append('D');
        if (Time > TimeSpan.Zero)
        {
            sb.Append('T');
            var hours = (long)Time.TotalHours;
            if (hours > 0) sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('H');
            if (Time.Minutes > 0) sb.Append(Time.Minutes.ToString(CultureInfo.InvariantCulture)).Append('M');
            if (Time.Seconds > 0) sb.Append(Time.Seconds.ToString(CultureInfo.InvariantCulture)).Append('S');
        }

        return sb.ToString();
    }
}
