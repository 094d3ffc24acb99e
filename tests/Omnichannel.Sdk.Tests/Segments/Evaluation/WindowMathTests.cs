using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Xunit;
using static Omnichannel.Sdk.Tests.Segments.Evaluation.EvaluationFixture;

namespace Omnichannel.Sdk.Tests.Segments.Evaluation;

/// <summary>A random instant (minutes and ticks from 2023-01-01) and duration.</summary>
public sealed record WindowCase(long Minutes, int Ticks, int Years, int Months, int Days, int Hours, long LaterMinutes);

public static class WindowCaseArbitrary
{
    public static Arbitrary<WindowCase> Cases() =>
        (from minutes in Gen.Choose(0, 3 * 366 * 24 * 60)
         from ticks in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 599_999_999)))
         from years in Gen.Frequency((5, Gen.Constant(0)), (1, Gen.Choose(1, 4)))
         from months in Gen.Frequency((2, Gen.Constant(0)), (3, Gen.Choose(1, 13)))
         from days in Gen.Frequency((2, Gen.Constant(0)), (1, Gen.Choose(1, 40)))
         from hours in Gen.Frequency((2, Gen.Constant(0)), (1, Gen.Choose(1, 30)))
         from later in Gen.Choose(0, 5 * 24 * 60)
         select new WindowCase(minutes, ticks, years, months, days, hours, later)).ToArbitrary();
}

public sealed class WindowMathTests
{
    private static readonly DateTimeOffset Base = new(2023, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static (DateTimeOffset At, IsoDuration Duration) Read(WindowCase c) =>
        (Base.AddMinutes(c.Minutes).AddTicks(c.Ticks), new IsoDuration(c.Years, c.Months, c.Days, TimeSpan.FromHours(c.Hours)));

    [Property(Arbitrary = [typeof(WindowCaseArbitrary)], MaxTest = 2000)]
    public void ExitInstant_IsTheFirstInstantTheWindowStartReachesTheTime(WindowCase c)
    {
        var (time, d) = Read(c);
        var exit = WindowMath.ExitInstant(time, d)!.Value;
        Assert.True(WindowMath.WindowStart(exit, d) >= time, $"still inside at {exit:O}");
        Assert.True(WindowMath.WindowStart(exit.AddTicks(-1), d) < time, $"already out before {exit:O}");
    }

    [Property(Arbitrary = [typeof(WindowCaseArbitrary)], MaxTest = 2000)]
    public void WindowStart_NeverGoesBackwards(WindowCase c)
    {
        var (t, d) = Read(c);
        var later = t.AddMinutes(c.LaterMinutes);
        Assert.True(WindowMath.WindowStart(t, d) <= WindowMath.WindowStart(later, d));
        // The next UTC midnight: t.Date would read the date as the machine's local time (fails under TZ=Pacific/Kiritimati).
        Assert.True(WindowMath.WindowStart(t, d) <= WindowMath.WindowStart(new DateTimeOffset(t.UtcDateTime.Date.AddDays(1), TimeSpan.Zero), d));
    }

    [Property(Arbitrary = [typeof(WindowCaseArbitrary)], MaxTest = 2000)]
    public void WindowStart_IsSubtractFromOutsideClampedRuns(WindowCase c)
    {
        var (t, d) = Read(c);
        var today = d.SubtractFrom(new DateTimeOffset(t.UtcDateTime.Date, TimeSpan.Zero));
        var tomorrow = d.SubtractFrom(new DateTimeOffset(t.UtcDateTime.Date.AddDays(1), TimeSpan.Zero));
        if (today != tomorrow)
        {
            Assert.Equal(d.SubtractFrom(t), WindowMath.WindowStart(t, d));
        }
        else
        {
            // Inside a run: frozen at the clamped date's start, never later than the raw start.
            Assert.Equal(today, WindowMath.WindowStart(t, d));
            Assert.True(WindowMath.WindowStart(t, d) <= d.SubtractFrom(t));
        }
    }

    [Fact]
    public void WindowStart_HoldsStillThroughAMonthEndRun()
    {
        var p1m = D("P1M");
        var run = new DateTimeOffset(2024, 2, 29, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(run, WindowMath.WindowStart(new DateTimeOffset(2024, 3, 29, 18, 0, 0, TimeSpan.Zero), p1m));
        Assert.Equal(run, WindowMath.WindowStart(new DateTimeOffset(2024, 3, 30, 23, 0, 0, TimeSpan.Zero), p1m));
        Assert.Equal(run.AddHours(1), WindowMath.WindowStart(new DateTimeOffset(2024, 3, 31, 1, 0, 0, TimeSpan.Zero), p1m));
        Assert.Equal(new DateTimeOffset(2024, 3, 1, 0, 0, 0, TimeSpan.Zero), WindowMath.WindowStart(new DateTimeOffset(2024, 4, 1, 0, 0, 0, TimeSpan.Zero), p1m));
    }

    [Fact]
    public void Within_AnEventInAClampedRunStaysUntilTheRunsLastDay()
    {
        var rule = new EventRule(EventTypes.OrderPlaced) { Window = TimeWindow.Last(D("P1M")) };
        var e = Ev(EventTypes.OrderPlaced, new DateTimeOffset(2024, 2, 29, 12, 0, 0, TimeSpan.Zero));
        var r = Eval(rule, new DateTimeOffset(2024, 3, 29, 13, 0, 0, TimeSpan.Zero), e);
        Assert.True(r.IsMember);
        Assert.Equal(new DateTimeOffset(2024, 3, 31, 12, 0, 0, TimeSpan.Zero), r.NextCheckAt);
        Assert.True(Eval(rule, new DateTimeOffset(2024, 3, 31, 11, 59, 59, TimeSpan.Zero), e).IsMember);
        Assert.False(Eval(rule, r.NextCheckAt!.Value, e).IsMember);
    }

    [Fact]
    public void ExitInstant_OfWholeDaysIsExact() =>
        Assert.Equal(T0.AddDays(90), WindowMath.ExitInstant(T0, D("P90D")));

    [Fact]
    public void ExitInstant_BeyondTheCalendarIsNull() =>
        Assert.Null(WindowMath.ExitInstant(DateTimeOffset.MaxValue.AddDays(-1), D("P1Y")));
}
