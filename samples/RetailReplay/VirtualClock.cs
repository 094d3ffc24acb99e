using Microsoft.Extensions.Time.Testing;

namespace RetailReplay;

/// <summary>
/// The replay's virtual clock: <see cref="GetUtcNow"/> is one volatile read, and timers are <see cref="FakeTimeProvider"/>'s,
/// fired when <see cref="SetUtcNow"/> moves the clock.
/// </summary>
/// <remarks>
/// <see cref="FakeTimeProvider.GetUtcNow"/> takes a lock and walks its waiting timers on every call; the engine reads the
/// clock several times per event from every partition, so on a replay those reads contended (about 6 % of the measured
/// run's thread time, forty-second session; the replay's events/s did not move beyond its spread).
/// </remarks>
internal sealed class VirtualClock(DateTimeOffset start) : TimeProvider
{
    private readonly FakeTimeProvider _timers = new(start);
    private long _utcTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Volatile.Read(ref _utcTicks), TimeSpan.Zero);

    public override long GetTimestamp() => Volatile.Read(ref _utcTicks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        _timers.CreateTimer(callback, state, dueTime, period);

    /// <summary>Moves the clock forward (never back) and fires the timers due by then.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is before the clock.</exception>
    public void SetUtcNow(DateTimeOffset value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value.UtcTicks, Volatile.Read(ref _utcTicks), nameof(value));
        Volatile.Write(ref _utcTicks, value.UtcTicks); // first, so a timer's callback reads the new instant
        _timers.SetUtcNow(value);
    }
}
