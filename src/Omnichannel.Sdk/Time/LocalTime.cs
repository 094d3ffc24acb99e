namespace Omnichannel.Sdk;

/// <summary>
/// The one notion of local time that quiet hours, journey waits until a local time, date triggers and anniversary rules
/// share. A customer's zone is hers when known and valid (IANA id), else <see cref="Delivery.DeliveryOptions.DefaultTimeZone"/>,
/// else UTC. A wall-clock time that does not exist (skipped by a spring-forward change) moves forward by the length of
/// the gap (02:30 on a day that jumps from 02:00 to 03:00 is 03:30); one that exists twice (fall back) is the earlier instant.
/// </summary>
internal static class LocalTime
{
    /// <summary>The customer's zone: hers when known and valid, else the default, else UTC.</summary>
    public static TimeZoneInfo ZoneOf(string? profileZone, string? defaultZone) =>
        Delivery.DeliveryOptions.TimeZoneOrNull(profileZone) ?? Delivery.DeliveryOptions.TimeZoneOrNull(defaultZone) ?? TimeZoneInfo.Utc;

    /// <summary>The instant of a wall-clock time in a zone (see the class remarks for gaps and overlaps).</summary>
    public static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            // Read with the offset in force before the jump: the result lies as far after the gap as the time lay in it.
            var before = zone.GetUtcOffset(local.AddHours(-6));
            return new DateTimeOffset(local, before).ToUniversalTime();
        }

        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUniversalTime();
    }

    /// <summary>The local calendar date of an instant in a zone.</summary>
    public static DateOnly DateOf(DateTimeOffset instant, TimeZoneInfo zone) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, zone).DateTime);

    /// <summary>The instant a local calendar day starts in a zone.</summary>
    public static DateTimeOffset StartOf(DateOnly date, TimeZoneInfo zone) => ToInstant(date.ToDateTime(TimeOnly.MinValue), zone);
}
