namespace Omnichannel.Sdk;

/// <summary>
/// The one notion of local time that quiet hours, journey waits until a local time, date triggers and anniversary rules
/// share. A customer's zone is hers when known and valid (IANA id), else <see cref="Delivery.DeliveryOptions.DefaultTimeZone"/>,
/// else UTC. A wall-clock time that does not exist (skipped by a spring-forward change) moves forward by the length of
/// the gap (02:30 on a day that jumps from 02:00 to 03:00 is 03:30); one that exists twice (fall back) is the earlier instant.
/// </summary>
internal static class LocalTime
{
    private static readonly Lazy<Dictionary<string, string>> ZoneIdsIgnoringCase = new(() =>
    {
        var ids = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        // Unsorted: sorting reads every zone's display name through ICU (hundreds of milliseconds on first use).
        foreach (var zone in TimeZoneInfo.GetSystemTimeZones(skipSorting: true))
        {
            ids.TryAdd(zone.Id, zone.Id);
        }

        return ids;
    });

    // The Windows ids this machine can map, by any spelling: those of every listed zone (there is no listing of them).
    private static readonly Lazy<Dictionary<string, string>> WindowsIdsIgnoringCase = new(() =>
    {
        var ids = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var zone in ZoneIdsIgnoringCase.Value.Values)
        {
            if (TimeZoneInfo.TryConvertIanaIdToWindowsId(zone, out var windows))
            {
                ids.TryAdd(windows, windows);
            }
        }

        return ids;
    });

    // The listing above holds canonical zones only; aliases (GB, US/Eastern, Asia/Calcutta) are files of the tz database,
    // found by name on a case-sensitive file system, so "us/eastern" needs their spelling. Read only after a miss.
    private static readonly Lazy<Dictionary<string, string>> AliasIdsIgnoringCase = new(() =>
    {
        var ids = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var dir = Environment.GetEnvironmentVariable("TZDIR") is { Length: > 0 } tzdir ? tzdir : "/usr/share/zoneinfo";
        if (OperatingSystem.IsWindows() || !Directory.Exists(dir))
        {
            return ids;
        }

        try
        {
            foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            {
                var id = Path.GetRelativePath(dir, file).Replace(Path.DirectorySeparatorChar, '/');
                if (!id.Contains('.', StringComparison.Ordinal) && !id.StartsWith("posix", StringComparison.Ordinal) && !id.StartsWith("right/", StringComparison.Ordinal))
                {
                    ids.TryAdd(id, id);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable database leaves aliases to their exact spelling.
        }

        return ids;
    });

    private static readonly HashSet<string> NotZones = new(["localtime", "posixrules", "Factory"], StringComparer.OrdinalIgnoreCase);

    // "+02:00", "-0300", "+5", "UTC+2", "GMT-05:30", "UTC−3" (a typographic minus or dash), "Z": an offset at one instant,
    // not a zone (audit U64).
    private static readonly System.Text.RegularExpressions.Regex RawOffset = new(@"^(?:(?:UTC|GMT)\s*)?[+\u2212\u2013-]\s*\d{1,2}(?::?\d{2})?$|^Z$",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    /// <summary>
    /// Why an event's <c>context.timeZone</c> is not applied (audit U64: it was ignored silently), for
    /// <see cref="TrackResult.Ignored"/>; <see langword="null"/> when it is applied or absent. A raw UTC offset is refused,
    /// not read as a fixed-offset zone: it has no daylight saving, so one sent in summer is an hour wrong all winter.
    /// </summary>
    public static string? ZoneRefusal(string? id)
    {
        if (string.IsNullOrWhiteSpace(id) || KnownZoneId(id) is not null)
        {
            return null;
        }

        return RawOffset.IsMatch(id.Trim())
            ? "is a UTC offset, not a time zone: send an IANA zone name such as Europe/Paris (an offset has no daylight saving); the profile keeps the zone it had and the rest of the event was applied"
            : "is no time zone this machine knows: send an IANA zone name such as Europe/Paris; the profile keeps the zone it had and the rest of the event was applied";
    }

    /// <summary>
    /// The time zone id a profile keeps for a zone an event reported: the id itself when this machine knows it, the known
    /// id of another spelling (<c>europe/london</c> → <c>Europe/London</c>), else <see langword="null"/>, so that a zone
    /// nobody can use never replaces one the profile knows.
    /// </summary>
    public static string? KnownZoneId(string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return null;
        }

        id = id.Trim();

        // Review of audit U64: tz and Windows ids are ASCII, and ICU maps "UTC" followed by any other character to UTC
        // ("UTC−3" with a typographic minus, as copied from a web page, was kept as a zone three hours off). The machine's
        // own zone ("localtime") and tz data's files that name no place ("posixrules", "Factory") are no zone of hers.
        if (!System.Text.Ascii.IsValid(id) || NotZones.Contains(id))
        {
            return null;
        }

        if (ZoneIdsIgnoringCase.Value.TryGetValue(id, out var listed))
        {
            return listed;
        }

        // A Windows id (a .NET client's TimeZoneInfo.Local.Id) is kept as the IANA zone it stands for, so that every
        // reader (templates, a process without ICU, another platform) sees one kind of id.
        if (WindowsIdsIgnoringCase.Value.TryGetValue(id, out var windows) && TimeZoneInfo.TryConvertWindowsIdToIanaId(windows, out var iana)
            && ZoneIdsIgnoringCase.Value.TryGetValue(iana, out var ianaListed))
        {
            return ianaListed;
        }

        if (TimeZoneInfo.TryFindSystemTimeZoneById(id, out _))
        {
            return id; // an alias or a Windows id the machine converts
        }

        return AliasIdsIgnoringCase.Value.TryGetValue(id, out var alias) && TimeZoneInfo.TryFindSystemTimeZoneById(alias, out _) ? alias : null;
    }

    /// <summary>
    /// A locale as a profile keeps it: a BCP 47-shaped tag (<c>en</c>, <c>en-GB</c>, <c>zh-Hant-TW</c>; underscores read as
    /// hyphens) in its usual casing, else <see langword="null"/>, so that a value no template can match never replaces
    /// one the profile knows.
    /// </summary>
    public static string? KnownLocale(string? tag)
    {
        if (string.IsNullOrWhiteSpace(tag))
        {
            return null;
        }

        var parts = tag.Trim().Replace('_', '-').Split('-');
        if (parts[0].Length is < 2 or > 3 || !parts[0].All(char.IsAsciiLetter))
        {
            return null;
        }

        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Length is < 1 or > 8 || !part.All(char.IsAsciiLetterOrDigit))
            {
                return null;
            }

            parts[i] = i == 0 ? CurrentLanguage(part.ToLowerInvariant())
                : part.Length == 2 && part.All(char.IsAsciiLetter) ? part.ToUpperInvariant()
                : part.Length == 4 && part.All(char.IsAsciiLetter) ? char.ToUpperInvariant(part[0]) + part[1..].ToLowerInvariant()
                : part.ToLowerInvariant();
        }

        return string.Join('-', parts);
    }

    // Java's Locale (and so Android) still reports the codes ISO 639 withdrew in 1989: iw, in and ji.
    private static string CurrentLanguage(string language) => language switch
    {
        "iw" => "he",
        "in" => "id",
        "ji" => "yi",
        _ => language,
    };

    /// <summary>The customer's zone: hers when known and valid, else the default, else UTC.</summary>
    public static TimeZoneInfo ZoneOf(string? profileZone, string? defaultZone) =>
        Delivery.DeliveryOptions.TimeZoneOrNull(profileZone) ?? Delivery.DeliveryOptions.TimeZoneOrNull(defaultZone) ?? TimeZoneInfo.Utc;

    /// <summary>The instant of a wall-clock time in a zone (see the class remarks for gaps and overlaps).</summary>
    public static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        var (earlier, _, _) = Offsets(local, zone);

        // A skipped time is read with the offset in force before the jump: the result lies as far after the gap as the
        // time lay in it. A repeated time is its first pass (the larger offset).
        return Utc(local, earlier);
    }

    /// <summary>Whether the clock skips a wall-clock time in a zone (a spring-forward gap).</summary>
    public static bool IsSkipped(DateTime local, TimeZoneInfo zone) => Offsets(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), zone).Skipped;

    /// <summary>
    /// The second instant of a wall-clock time the clock shows twice (the repeated hour of a fall-back night), else
    /// <see langword="null"/>.
    /// </summary>
    public static DateTimeOffset? SecondPass(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        var (earlier, later, skipped) = Offsets(local, zone);
        return !skipped && later != earlier ? Utc(local, later) : null;
    }

    // The offsets a wall-clock time has: the first pass's and the second's (equal unless the clock shows it twice), or,
    // for a time the clock skips, the offset before the jump. Computed from the zone's offsets at instants, not from
    // TimeZoneInfo.IsInvalidTime/IsAmbiguousTime: those read the rules' daylight flag, and a zone whose tz data has a
    // negative saving (Europe/Dublin's winter, Africa/Casablanca's Ramadan) answered them backwards on Linux
    // (dotnet/runtime#120915): quiet hours ending inside Dublin's spring gap were read as over at once.
    private static (TimeSpan Earlier, TimeSpan Later, bool Skipped) Offsets(DateTime local, TimeZoneInfo zone)
    {
        // The offsets in force a day either side of the wall time read as UTC: every instant the wall time can name lies
        // between them (offsets are within ±14 hours), and no zone changes its offset twice within two days.
        var before = OffsetAt(local.Ticks - TimeSpan.TicksPerDay, zone);
        var after = OffsetAt(local.Ticks + TimeSpan.TicksPerDay, zone);
        var beforeFits = OffsetAt(local.Ticks - before.Ticks, zone) == before;
        var afterFits = OffsetAt(local.Ticks - after.Ticks, zone) == after;
        if (before == after)
        {
            // No change near it (the usual case); an offset that does not fit means two changes close together, which
            // the zone's own reading of the wall time settles.
            return beforeFits ? (before, before, false) : (zone.GetUtcOffset(local), zone.GetUtcOffset(local), false);
        }

        return (beforeFits, afterFits) switch
        {
            (true, true) => (before > after ? before : after, before > after ? after : before, false), // shown twice
            (true, false) => (before, before, false),
            (false, true) => (after, after, false),
            _ => (before, before, true), // skipped
        };
    }

    // The zone's offset at the instant of these UTC ticks (clamped to the calendar).
    private static TimeSpan OffsetAt(long utcTicks, TimeZoneInfo zone) =>
        zone.GetUtcOffset(new DateTimeOffset(Math.Clamp(utcTicks, DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero));

    // A wall-clock time read with an offset, as a UTC instant; saturating at the ends of time (year 1 east of Greenwich
    // or 9999-12-31 west of it has no instant), like IsoDuration's arithmetic, so a customer's date never throws.
    private static DateTimeOffset Utc(DateTime local, TimeSpan offset)
    {
        var ticks = local.Ticks - offset.Ticks;
        return ticks < DateTimeOffset.MinValue.Ticks ? DateTimeOffset.MinValue
            : ticks > DateTimeOffset.MaxValue.Ticks ? DateTimeOffset.MaxValue
            : new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    /// <summary>
    /// The instant the clock jumps over a skipped wall-clock time (the first instant after the gap), for ends of periods:
    /// a period "until 02:15" is over when the clock jumps from 02:00 to 03:00, not at 03:15.
    /// </summary>
    public static DateTimeOffset EndOfGap(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        var shifted = ToInstant(local, zone); // read with the offset before the jump: after it
        var after = zone.GetUtcOffset(shifted);
        var lo = Utc(local, after).UtcTicks; // read with the offset after the jump: before it
        var hi = shifted.UtcTicks;
        while (hi - lo > TimeSpan.TicksPerSecond)
        {
            var mid = lo + ((hi - lo) / 2);
            if (zone.GetUtcOffset(new DateTimeOffset(mid, TimeSpan.Zero)) == after)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return new DateTimeOffset(hi - (hi % TimeSpan.TicksPerSecond), TimeSpan.Zero); // transitions fall on whole seconds
    }

    /// <summary>
    /// A date written without a year, ISO 8601's <c>--MM-DD</c> (vCard's year-less <c>BDAY</c>; a birthday she gave without
    /// her year): its month and day in the leap year 2000, so that 29 February is one. Only anniversaries read it.
    /// </summary>
    public static bool TryParseYearless(string? text, out DateOnly date)
    {
        date = default;
        // Trailing white space is read past, as for a dated value ("1990-03-12 " is read, " 1990-03-12" is not): "--03-12 "
        // is the same birthday.
        var t = text.AsSpan().TrimEnd();
        if (t is not { Length: 7 } || t[0] != '-' || t[1] != '-' || t[4] != '-'
            || !char.IsAsciiDigit(t[2]) || !char.IsAsciiDigit(t[3]) || !char.IsAsciiDigit(t[5]) || !char.IsAsciiDigit(t[6]))
        {
            return false;
        }

        var month = ((t[2] - '0') * 10) + (t[3] - '0');
        var day = ((t[5] - '0') * 10) + (t[6] - '0');
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(2000, month))
        {
            return false;
        }

        date = new DateOnly(2000, month, day);
        return true;
    }

    /// <summary>The local calendar date of an instant in a zone.</summary>
    public static DateOnly DateOf(DateTimeOffset instant, TimeZoneInfo zone) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, zone).DateTime);

    /// <summary>The instant a local calendar day starts in a zone.</summary>
    public static DateTimeOffset StartOf(DateOnly date, TimeZoneInfo zone) => ToInstant(date.ToDateTime(TimeOnly.MinValue), zone);
}
