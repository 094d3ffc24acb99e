using System.Globalization;
using System.Text.Json;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// Wall-clock arithmetic in the customer's zone: "the next 09:00 on a weekday", "three days before the date in a trait at
/// 09:00". Local times are turned into instants with the zone's rules of that day, so a daylight-saving change between
/// now and then is accounted for; a time skipped by a spring-forward jump moves forward by the jump.
/// </summary>
internal static class JourneyClock
{
    /// <summary>
    /// The first instant after <paramref name="now"/> that is <paramref name="time"/> on an allowed day. On a fall-back
    /// night a time whose first pass is behind now comes again at its second pass, unless that first pass is
    /// <paramref name="reached"/>: the wait began when her clock first showed the time (audit U107: a recurring wait's own
    /// wake-up), so the time was reached, as on any other day, and the next one is a day later.
    /// </summary>
    public static DateTimeOffset NextLocalTime(DateTimeOffset now, TimeZoneInfo zone, TimeOnly time, IReadOnlyList<DayOfWeek> days, DateTimeOffset? reached = null)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        for (var d = 0; d <= 8; d++)
        {
            var date = today.AddDays(d);
            if (days.Count > 0 && !days.Contains(date.DayOfWeek))
            {
                continue;
            }

            var wall = date.ToDateTime(time);
            var at = DeliveryPlanner.ToInstant(wall, zone);

            // A time the clock shows twice (fall back) whose first pass is behind now comes again at the second pass.
            if (at <= now && at != reached && LocalTime.SecondPass(wall, zone) is { } second)
            {
                at = second;
            }

            if (at > now)
            {
                return at;
            }
        }

        throw new InvalidOperationException("No allowed day within a week."); // the validator requires at least one valid day
    }

    /// <summary>Whether her clock shows <paramref name="time"/> at <paramref name="instant"/> for the first of two times (a fall-back night).</summary>
    public static bool IsFirstPass(DateTimeOffset instant, TimeZoneInfo zone, TimeOnly time)
    {
        var local = TimeZoneInfo.ConvertTime(instant, zone).DateTime;
        return TimeOnly.FromDateTime(local) == time && LocalTime.SecondPass(local, zone) is { } second && second != instant;
    }

    /// <summary>
    /// The instant a date trait names, moved by <paramref name="offset"/>: at <paramref name="localTime"/> in the zone
    /// when given (the trait's date counts as a local calendar date), else the trait's exact instant. Null when the trait
    /// is missing or not a date.
    /// </summary>
    public static DateTimeOffset? FromTrait(CustomerProfile p, string trait, IsoOffset offset, TimeOnly? localTime, TimeZoneInfo zone, int? year = null)
    {
        if (!p.TryGetTrait(trait, out var value) || value.ValueKind != JsonValueKind.String || value.GetString() is not { } text)
        {
            return null;
        }

        DateOnly date;
        DateTimeOffset? exact = null;
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
        {
            date = d;
        }
        else if (year is not null && LocalTime.TryParseYearless(text, out var yearless))
        {
            // A birthday given without her year ("--05-12") has an anniversary every year; a one-off date needs its year.
            date = yearless;
        }
        else if (Segments.RuleValue.LooksLikeIsoDate(text) // as rules read dates: "05/12/1990" is no date (5 December or
                                                            // May 12?), nor "02-28" (its year would be the machine's)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            exact = instant;

            // An anniversary is a calendar date: the date as written ("1990-05-10T00:00:00Z", a date serialised as a
            // timestamp, is 10 May wherever she lives), as anniversaryWithin reads it; a one-off instant is her local date.
            date = DateOnly.FromDateTime(year is null ? TimeZoneInfo.ConvertTime(instant, zone).DateTime : instant.DateTime);
        }
        else
        {
            return null;
        }

        if (year is { } y)
        {
            // Annual: the same month and day in the given year (29 February falls on the 28th in other years).
            date = new DateOnly(y, date.Month, Math.Min(date.Day, DateTime.DaysInMonth(y, date.Month)));
            exact = null;
        }

        if (localTime is null && exact is { } e)
        {
            return offset.ApplyTo(e);
        }

        // Calendar offsets are applied to the local wall-clock time, then the result is placed in the zone.
        var wall = new DateTimeOffset(date.ToDateTime(localTime ?? TimeOnly.MinValue), TimeSpan.Zero);
        return DeliveryPlanner.ToInstant(offset.ApplyTo(wall).DateTime, zone);
    }

    /// <summary>The raw text of a trait, to notice when it changes.</summary>
    public static string? Basis(CustomerProfile p, string trait) => p.TryGetTrait(trait, out var v) ? v.GetRawText() : null;
}
