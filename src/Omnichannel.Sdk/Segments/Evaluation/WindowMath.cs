namespace Omnichannel.Sdk.Segments;

/// <summary>Exact instants at which sliding windows and anniversaries change (all in UTC).</summary>
internal static class WindowMath
{
    /// <summary>
    /// The start of the sliding window of <paramref name="duration"/> at <paramref name="t"/>: the window holds instants
    /// <c>s</c> with <c>start &lt; s ≤ t</c>. It is <see cref="IsoDuration.SubtractFrom"/> made monotone.
    /// </summary>
    /// <remarks>
    /// <para>
    /// With months or years, <see cref="IsoDuration.SubtractFrom"/> clamps the day and keeps the time of day, so it goes
    /// backwards at midnight inside a run of clamped days: minus <c>P1M</c>, 30 March 23:00 gives 29 February 23:00 but
    /// 31 March 01:00 gives 29 February 01:00. Used as is, an event would leave the window and come back, and an event
    /// pruned would be needed again. The window start is therefore the latest start that no later instant goes below:
    /// on a day whose next day clamps to the same date it stays at that date's midnight; elsewhere, on every day of a
    /// window of whole days or hours, and on the last day of a clamped run, it is exactly
    /// <see cref="IsoDuration.SubtractFrom"/>.
    /// </para>
    /// </remarks>
    public static DateTimeOffset WindowStart(DateTimeOffset t, IsoDuration duration)
    {
        if (duration.Years == 0 && duration.Months == 0)
        {
            return duration.SubtractFrom(t);
        }

        try
        {
            var day = t.UtcDateTime.Date;
            var shifted = ShiftBack(day, duration);
            return ShiftBack(day.AddDays(1), duration) == shifted
                ? new DateTimeOffset(shifted, TimeSpan.Zero) - duration.Time
                : duration.SubtractFrom(t);
        }
        catch (ArgumentOutOfRangeException)
        {
            return DateTimeOffset.MinValue;
        }
    }

    /// <summary>
    /// The first instant <c>t</c> at which <paramref name="time"/> is no longer in the sliding window of
    /// <paramref name="duration"/>, i.e. the smallest <c>t</c> with <c>WindowStart(t) ≥ time</c>;
    /// <see langword="null"/> when that is beyond the calendar.
    /// </summary>
    /// <remarks>
    /// With months and years, <c>time + duration</c> is not always the answer (31 January plus one month is 29 February,
    /// but on 29 February the window still starts on 29 January). The window start shifts the date by the calendar parts
    /// and keeps the time of day (see <see cref="WindowStart"/>), so only the date needs searching.
    /// </remarks>
    public static DateTimeOffset? ExitInstant(DateTimeOffset time, IsoDuration duration)
    {
        try
        {
            var target = time.ToUniversalTime() + duration.Time;
            if (duration.Years == 0 && duration.Months == 0)
            {
                // Whole days are exact 24-hour steps in UTC.
                return target + TimeSpan.FromDays(duration.Days);
            }

            var targetDate = target.UtcDateTime.Date;
            var targetTime = target.UtcDateTime.TimeOfDay;
            var date = targetDate.AddYears(duration.Years).AddMonths(duration.Months).AddDays(duration.Days);
            while (ShiftBack(date, duration) < targetDate)
            {
                date = date.AddDays(1);
            }

            while (ShiftBack(date.AddDays(-1), duration) >= targetDate)
            {
                date = date.AddDays(-1);
            }

            // The first day whose shifted date reaches the target's: past it, or exactly at midnight, it is out at once;
            // otherwise the start stays at midnight through a clamped run and reaches the time of day on the run's last day.
            while (ShiftBack(date, duration) == targetDate && targetTime != TimeSpan.Zero)
            {
                if (ShiftBack(date.AddDays(1), duration) != targetDate)
                {
                    return new DateTimeOffset(date + targetTime, TimeSpan.Zero);
                }

                date = date.AddDays(1);
            }

            return new DateTimeOffset(date, TimeSpan.Zero);
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static DateTime ShiftBack(DateTime date, IsoDuration d) => date.AddYears(-d.Years).AddMonths(-d.Months).AddDays(-d.Days);

    /// <summary>The date's anniversary (month and day; 29 February is 28 February in other years) in <paramref name="year"/>.</summary>
    public static DateTime AnniversaryIn(DateTime date, int year) =>
        date.Month == 2 && date.Day == 29 && !DateTime.IsLeapYear(year) ? new DateTime(year, 2, 28, 0, 0, 0, DateTimeKind.Utc) : new DateTime(year, date.Month, date.Day, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The first anniversary of <paramref name="date"/> on or after <paramref name="today"/>.</summary>
    public static DateTime NextAnniversary(DateTime date, DateTime today)
    {
        var a = AnniversaryIn(date, today.Year);
        return a >= today ? a : AnniversaryIn(date, today.Year + 1);
    }

    /// <summary>Whether the next anniversary of <paramref name="date"/> falls within [today, today + duration] (UTC dates).</summary>
    public static bool AnniversaryWithin(DateTime date, DateTime today, IsoDuration duration) =>
        NextAnniversary(date, today) <= duration.AddTo(new DateTimeOffset(today, TimeSpan.Zero)).UtcDateTime;

    /// <summary>
    /// The first UTC midnight after <paramref name="today"/> at which <see cref="AnniversaryWithin"/> changes, or
    /// <see langword="null"/> when it never does (a duration of a year or more is always true).
    /// </summary>
    public static DateTime? NextAnniversaryChange(DateTime date, DateTime today, IsoDuration duration)
    {
        try
        {
            var holds = AnniversaryWithin(date, today, duration);
            var day = today;

            // Each pass settles one anniversary; a few passes without a change mean the answer never changes.
            for (var pass = 0; pass < 8; pass++)
            {
                var a = NextAnniversary(date, day);
                if (holds)
                {
                    // True until the anniversary has passed; the next day looks at the following one.
                    var after = a.AddDays(1);
                    if (!AnniversaryWithin(date, after, duration))
                    {
                        return after;
                    }

                    day = after;
                    continue;
                }

                // False until today + duration reaches the anniversary: the first such day, by bisection (monotone).
                long lo = 0, hi = (long)(a - day).TotalDays;
                while (hi - lo > 1)
                {
                    var mid = (lo + hi) / 2;
                    if (AnniversaryWithin(date, day.AddDays(mid), duration))
                    {
                        hi = mid;
                    }
                    else
                    {
                        lo = mid;
                    }
                }

                return day.AddDays(hi);
            }

            return null;
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
