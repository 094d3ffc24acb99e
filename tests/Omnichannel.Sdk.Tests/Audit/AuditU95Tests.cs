using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated report of audit U95.</summary>
/// <param name="Kind">0–2 an order placed or its correction / re-send (same <c>order_id</c>), 3 cancelled, 4 returned.</param>
/// <param name="Variant">Picks the order and the total (few orders and totals, so corrections and re-sends are common).</param>
/// <param name="Minute">Event time in minutes after 08:00 (5–40: some inside a 15-minute goal window, some after).</param>
/// <param name="Mix">Spread by <see cref="AuditU95Tests.Spread"/> into the arrival order and the side (when split).</param>
public sealed record U95Report(int Kind, int Variant, int Minute, int Mix);

/// <summary>FsCheck generators for audit U95.</summary>
public static class U95ReportArbitrary
{
    public static Arbitrary<U95Report[]> Streams() =>
        Gen.ListOf(
                from kind in Gen.Choose(0, 4)
                from variant in Gen.Choose(0, 11)
                from minute in Gen.Choose(1, 8)
                from mix in Gen.Choose(0, int.MaxValue)
                select new U95Report(kind, variant, minute * 5, mix))
            .Select(l => l.Take(8).ToArray())
            .ToArbitrary();
}

/// <summary>
/// Audit U95: journey goals, event triggers, exits on events, waits that branch on an event's properties, and measured
/// conversions, when an order's reports are corrected, sent again, cancelled or returned — in any arrival order, on one
/// profile and split over her cookie's and her customer id's profiles merged by a login. The reference is the run with
/// the reports in event-time order (ties by event id).
/// </summary>
public sealed class AuditU95Tests
{
    private static readonly Identifier Who = Identifier.CustomerId("u95");
    private static readonly Identifier Ann = Identifier.Email("u95@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-u95");
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1); // 08:00

    internal static JourneyDefinition[] Journeys() =>
    [
        // A goal on the order's properties (the known case): met by a report with a total of 100 or more.
        JourneyRig.Parse("""
            {"id": "goal", "version": 1, "name": "x", "trigger": {"type": "event", "event": "cart.item_added"},
             "goal": {"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 100}], "within": "PT1H"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT3H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "goal", "class": "transactional"}]}
            """),

        // A goal on any order within 15 minutes of the cart: met by the order's first report, by event time.
        JourneyRig.Parse("""
            {"id": "goalany", "version": 1, "name": "x", "trigger": {"type": "event", "event": "cart.item_added"},
             "goal": {"event": "order.placed", "within": "PT15M"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT3H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "goalany", "class": "transactional"}]}
            """),

        // Exits on a big order, and on a cancellation.
        JourneyRig.Parse("""
            {"id": "exit", "version": 1, "name": "x", "trigger": {"type": "event", "event": "cart.item_added"},
             "exit": [{"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 100}]}, {"event": "order.cancelled"}],
             "steps": [{"id": "wait", "type": "delay", "duration": "PT3H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "exit", "class": "transactional"}]}
            """),

        // A message at her sign-up: the touch her orders are attributed to (credit and revenue rows).
        JourneyRig.Parse("""
            {"id": "hello", "version": 1, "name": "x", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
            """),

        // "Order completed" entry on a big order.
        JourneyRig.Parse("""
            {"id": "trig", "version": 1, "name": "x", "trigger": {"type": "event", "event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 100}]},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT3H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "trig", "class": "transactional"}]}
            """),
    ];

    // A wait that branches on the order's properties (kept out of Journeys(): see BranchOnAnOrder… and the notes).
    private static JourneyDefinition Branch() => JourneyRig.Parse("""
        {"id": "branch", "version": 1, "name": "x", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "w", "type": "waitForEvent", "branches": [
                     {"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 100}], "next": "big"},
                     {"event": "order.placed", "next": "small"}], "timeout": "PT3H", "timeoutNext": "none"},
                   {"id": "big", "type": "send", "channels": ["email"], "template": "big", "class": "transactional", "next": "end"},
                   {"id": "small", "type": "send", "channels": ["email"], "template": "small", "class": "transactional", "next": "end"},
                   {"id": "none", "type": "send", "channels": ["email"], "template": "none", "class": "transactional", "next": "end"},
                   {"id": "end", "type": "exit"}]}
        """);

    internal static void Configure(OmnichannelOptions o)
    {
        o.Measurement.Conversions.Add(new ConversionDefinition("big", EventTypes.OrderPlaced)
        {
            RevenueProperty = "total",
            Where = [new PropertyCondition("total", new Condition(ConditionOperator.Gte, JsonValue.Create(100)))],
        });
    }

    /// <summary>A deterministic spread of a generated int and a salt (SplitMix64's finaliser; never HashCode.Combine).</summary>
    internal static ulong Spread(int value, int salt)
    {
        var z = ((ulong)(uint)value << 32 | (uint)salt) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    internal static CustomerEvent Build(U95Report g, int index, Identifier who)
    {
        var v = g.Variant;
        int[] totals = [50, 150, 120];
        var order = "o" + (v % 2);
        (string type, object properties) = g.Kind switch
        {
            <= 2 => (EventTypes.OrderPlaced, (object)new { order_id = order, total = totals[(v / 2) % 3], currency = "EUR" }),
            3 => (EventTypes.OrderCancelled, new { order_id = order }),
            _ => (EventTypes.OrderReturned, new { order_id = order, return_id = "r" + (v % 2), total = 30, currency = "EUR" }),
        };
        return new CustomerEvent
        {
            Id = "e" + index.ToString("D2", CultureInfo.InvariantCulture),
            Type = type,
            Timestamp = Start + TimeSpan.FromMinutes(g.Minute),
            Identifiers = [who],
            Channel = ChannelNames.Web,
            Properties = JsonData.From(properties),
        };
    }

    /// <summary>
    /// Her sign-up and cart add at 08:00 under her customer id; at 08:45 the reports arrive in <paramref name="arrival"/>
    /// (on her cookie's profile when <paramref name="onCookie"/> says so); at 08:50 a login merges the cookie; then time
    /// runs to 13:00. Returns the journeys' statistics, what was sent and the measured conversions.
    /// </summary>
    internal static async Task<string> Run(U95Report[] reports, IEnumerable<int> arrival, Func<int, bool> onCookie, bool withBranch = false)
    {
        await using var rig = JourneyRig.Create([.. Journeys(), .. withBranch ? [Branch()] : Array.Empty<JourneyDefinition>()], configure: Configure, start: Start);
        await rig.TrackAsync("user.signed_up", [Who, Ann]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p1", price = 10 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(45));
        foreach (var i in arrival)
        {
            var r = await rig.Host.TrackAsync(Build(reports[i], i, onCookie(i) ? Cookie : Who));
            Assert.True(r.IsAcknowledged, r.Status.ToString());
            await rig.Engine.RunDispatchAsync();
        }

        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync("user.logged_in", [Who, Cookie]);
        await rig.AdvanceAsync(TimeSpan.FromHours(4));
        await rig.AdvanceAsync(TimeSpan.FromHours(1));

        var text = new StringBuilder();
        foreach (var id in (string[])["goal", "goalany", "exit", "trig", .. withBranch ? ["branch"] : Array.Empty<string>()])
        {
            var s = await rig.Engine.GetJourneyStatisticsAsync(id);
            text.Append(CultureInfo.InvariantCulture, $"{id}: entered {s.Entered} active {s.Active} converted {s.Converted} exited {s.Exited} completed {s.Completed}");
            text.Append(CultureInfo.InvariantCulture, $" [{string.Join(", ", s.ExitReasons.OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => x.Key + "=" + x.Value))}]\n");
        }

        text.Append("sent: ").AppendJoin(", ", rig.Sent().Order(StringComparer.Ordinal)).Append('\n');
        var rows = new List<MeasurementRow>();
        foreach (var prefix in (string[])["conversion:", "credit:", "revenue:"])
        {
            rows.AddRange(await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = prefix }));
        }

        foreach (var g in rows.GroupBy(r => r.Key.Metric).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"{g.Key}: {g.Sum(r => r.Count)} {g.Sum(r => r.Sum):0.##}\n");
        }

        var journeyRevenue = (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.JourneyPrefix }))
            .Where(r => r.Key.Metric.Contains("revenue", StringComparison.Ordinal)).GroupBy(r => r.Key.JourneyId + "/" + r.Key.Metric).OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var g in journeyRevenue)
        {
            text.Append(CultureInfo.InvariantCulture, $"{g.Key}: {g.Sum(r => r.Count)} {g.Sum(r => r.Sum):0.##}\n");
        }

        return text.ToString();
    }

    internal static int[] ByTime(U95Report[] reports) =>
        [.. reports.Select((r, i) => (r, i)).OrderBy(x => x.r.Minute).ThenBy(x => x.i).Select(x => x.i)];

    internal static int[] Generated(U95Report[] reports) =>
        [.. reports.Select((r, i) => (r, i)).OrderBy(x => Spread(x.r.Mix, x.i)).ThenBy(x => x.i).Select(x => x.i)];

    private static string Describe(U95Report[] reports, int[] arrival, Func<int, bool> onCookie) =>
        string.Join("; ", arrival.Select(i => $"{Build(reports[i], i, Who).Type} {reports[i].Minute} {Build(reports[i], i, Who).Properties}{(onCookie(i) ? " cookie" : string.Empty)}"));

    internal static async Task Compare(U95Report[] reports, bool split)
    {
        Func<int, bool> none = _ => false;
        Func<int, bool> side = i => split && Spread(reports[i].Mix, 1_000 + i) % 2 == 0;
        var byTime = ByTime(reports);
        var expected = await Run(reports, byTime, none);
        foreach (var (name, arrival) in new[] { ("generated", Generated(reports)), ("reverse time", byTime.Reverse().ToArray()) })
        {
            var actual = await Run(reports, arrival, side);
            var (e, a) = (Comparable(expected, reports, arrival, side, split), Comparable(actual, reports, arrival, side, split));
            Assert.True(e == a, $"time order vs {name} arrival{(split ? ", split and merged" : string.Empty)}\n{Describe(reports, arrival, side)}\nexpected:\n{e}actual:\n{a}");
        }
    }

    // What the property compares, with the cases left alone taken out (design notes, audit U95):
    // - which of two exit criteria met after the start is named as the reason follows arrival (both exit it);
    // - an "order completed" entry (trigger with a `where`) made by a later report of an order that matched, heard where
    //   the order's first report (by event time) was not yet: in time order only the first report can start it;
    // - split: each profile enters the event-triggered journey before the merge (two entries for one person; the merge
    //   keeps one running), so the entry counts of "trig" are not compared there.
    private static string Comparable(string run, U95Report[] reports, int[] arrival, Func<int, bool> side, bool split)
    {
        var lines = run.Split('\n').Select(l => l.Replace("exit criterion: order.placed", "exit criterion", StringComparison.Ordinal)
            .Replace("exit criterion: order.cancelled", "exit criterion", StringComparison.Ordinal)).ToList();
        if (split)
        {
            lines.RemoveAll(l => l.StartsWith("trig:", StringComparison.Ordinal));
        }

        if (StartedByALaterReport(reports, arrival, side))
        {
            lines.RemoveAll(l => l.StartsWith("trig:", StringComparison.Ordinal));
            lines = [.. lines.Select(l => l.StartsWith("sent: ", StringComparison.Ordinal)
                ? "sent: " + string.Join(", ", l["sent: ".Length..].Split(", ").Where(m => m != "email:trig"))
                : l)];
        }

        // Two orders that both meet a goal: one converts it, the first by event time in time order, the first to arrive
        // otherwise; the count is compared, the revenue (which order's) is not (left alone).
        foreach (var (journey, meets) in new (string, Func<U95Report, bool>)[] { ("goal", r => Total(r) >= 100), ("goalany", r => r.Minute <= 15) })
        {
            if (new[] { 0, 1 }.All(o => reports.Any(r => r.Kind <= 2 && r.Variant % 2 == o && meets(r))))
            {
                lines = [.. lines.Select(l => l.StartsWith(journey + "/journey:revenue: ", StringComparison.Ordinal) ? l[..l.LastIndexOf(' ')] : l)];
            }
        }

        // Exit reasons counted together once named alike.
        return string.Join("\n", lines.Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\[exit criterion=(\d+), exit criterion=(\d+)\]",
            m => $"[exit criterion={int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)}]")));
    }

    /// <summary>
    /// Whether a report of an order with a total of 100 or more that is not the order's first report (by event time, ties
    /// by index) arrives on its profile before that profile has heard the order's first report (left alone: it starts the
    /// "order completed" entry, which time order never does when the first report is below 100).
    /// </summary>
    internal static bool StartedByALaterReport(U95Report[] reports, int[] arrival, Func<int, bool> side)
    {
        var byTime = ByTime(reports);
        foreach (var order in new[] { 0, 1 })
        {
            var ofOrder = byTime.Where(i => reports[i].Kind <= 2 && reports[i].Variant % 2 == order).ToArray();
            if (ofOrder.Length == 0)
            {
                continue;
            }

            var first = ofOrder[0];
            foreach (var i in ofOrder.Skip(1).Where(i => Total(reports[i]) >= 100))
            {
                var firstHeardBefore = side(first) == side(i) && Array.IndexOf(arrival, first) < Array.IndexOf(arrival, i);
                if (!firstHeardBefore)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static int Total(U95Report r) => new[] { 50, 150, 120 }[(r.Variant / 2) % 3];

    private static string Measured(string run) =>
        string.Join("\n", run.Split('\n').Where(l => l.StartsWith("conversion:", StringComparison.Ordinal) || l.StartsWith("credit:", StringComparison.Ordinal)
            || l.StartsWith("revenue:", StringComparison.Ordinal) || l.Contains("/journey:", StringComparison.Ordinal)));

    private static void Same(string expected, string actual) =>
        Assert.True(expected == actual, $"expected:\n{expected}actual:\n{actual}");

    private static readonly U95Report Big0809 = new(0, 2, 9, 0);   // o0, 150 at 08:09
    private static readonly U95Report Small0822 = new(1, 0, 22, 0); // o0, 50 at 08:22 (its correction)

    /// <summary>
    /// The known case: o1 reported at 08:09 with 150 and corrected at 08:22 to 50. In time order the goal "an order of 100
    /// or more" is met at 08:09; with the correction first, the late 08:09 report was read as a repeat and skipped.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ACorrectionArrivingFirst_TheOlderBigReportStillMeetsTheGoal(bool split)
    {
        U95Report[] reports = [Big0809, Small0822];
        var expected = await Run(reports, [0, 1], _ => false);
        Assert.Contains("goal: entered 1 active 0 converted 1", expected, StringComparison.Ordinal);
        Assert.Contains("credit:big:last_touch", expected, StringComparison.Ordinal); // the sign-up message is her touch
        var actual = await Run(reports, [1, 0], i => split && i == 0);
        Same(expected, actual);
    }

    [Fact]
    public async Task ACorrectionArrivingFirst_TheOlderBigReportStillStartsTheOrderJourney()
    {
        U95Report[] reports = [Big0809, Small0822];
        var expected = await Run(reports, [0, 1], _ => false);
        Assert.Contains("trig: entered 1", expected, StringComparison.Ordinal);
        Same(expected, await Run(reports, [1, 0], _ => false));
    }

    /// <summary>A goal on any order within 15 minutes: the 08:09 report meets it; the 08:22 correction alone would not.</summary>
    [Fact]
    public async Task ACorrectionOutsideTheWindowArrivingFirst_TheOlderReportStillMeetsTheGoal()
    {
        U95Report[] reports = [Big0809, Small0822];
        var expected = await Run(reports, [0, 1], _ => false);
        Assert.Contains("goalany: entered 1 active 0 converted 1", expected, StringComparison.Ordinal);
        Same(expected, await Run(reports, [1, 0], _ => false));
    }

    /// <summary>
    /// Found by the split property: o0 reported at 08:10 with 50 under her cookie and corrected at 08:20 to 120 under her
    /// customer id. In time order the correction converts "big" (an order of 100 or more) by its update. Each profile
    /// converted "order"; the merge kept the earlier side's conversion whole and took back the other's rows, "big" with them.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ABigCorrectionOnTheOtherProfile_KeepsItsNarrowedConversion_AtTheMerge(bool correctionFirst)
    {
        U95Report[] reports = [new(0, 0, 10, 0), new(1, 4, 20, 0)]; // o0 50 at 08:10, o0 120 at 08:20
        var expected = await Run(reports, [0, 1], _ => false);
        Assert.Contains("conversion:big: 1 120", expected, StringComparison.Ordinal);

        // Only measurement: the "order completed" entry made by the 120 report alone on her customer id is left alone
        // (see StartedByALaterReport and the design notes).
        Same(Measured(expected), Measured(await Run(reports, correctionFirst ? [1, 0] : [0, 1], i => i == 0)));
    }

    /// <summary>
    /// Left alone (design notes, audit U95), pinned: a wait that branches on the order's total is answered by the first
    /// report to arrive. With the 08:22 correction (50) first the instance takes the "small" branch at once; the 08:09
    /// report (150) arriving after it does not move it back (time order takes "big"). Nothing says, when the correction
    /// arrives, that an older report will follow; waiting for one would delay every answer.
    /// </summary>
    [Fact]
    public async Task ABranchOnTheOrdersTotal_AnsweredByACorrectionArrivingFirst_StaysAnswered_LeftAlone()
    {
        U95Report[] reports = [Big0809, Small0822];
        Assert.Contains("email:big", await Run(reports, [0, 1], _ => false, withBranch: true), StringComparison.Ordinal);
        var arrival = await Run(reports, [1, 0], _ => false, withBranch: true);
        Assert.Contains("email:small", arrival, StringComparison.Ordinal);
        Assert.DoesNotContain("email:big", arrival, StringComparison.Ordinal);
    }

    /// <summary>A journey two carts can each enter (08:00 and 08:12), with a 15-minute goal on any order.</summary>
    internal const string TwoEntriesOneGoal = """
        {"id": "two", "version": 1, "name": "x", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"reEntry": "afterCooldown", "cooldown": "PT1M", "maxConcurrent": 5},
         "goal": {"event": "order.placed", "within": "PT15M"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT3H"}, {"id": "mail", "type": "send", "channels": ["email"], "template": "two", "class": "transactional"}]}
        """;

    /// <summary>
    /// Two entries of one journey (08:00 and 08:12, each with a 15-minute goal window). o1's correction (08:22) arrives
    /// first and converts the 08:12 entry; its first report (08:09) then reaches the 08:00 entry only. One order converts
    /// one entry per journey: it must not convert a second one (in time order the 08:09 report converts one, the
    /// correction none). Which entry is credited follows arrival here (left alone; the count holds).
    /// </summary>
    [Fact]
    public async Task AnOrdersFirstReport_ArrivingAfterItsCorrectionConverted_ConvertsNoSecondEntry()
    {
        var journey = JourneyRig.Parse(TwoEntriesOneGoal);
        async Task<(long Entered, long Converted)> RunTwo(bool correctionFirst)
        {
            await using var rig = JourneyRig.Create([journey], start: Start);
            await rig.TrackAsync("user.signed_up", [Who, Ann]);
            await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p1" });
            await rig.AdvanceAsync(TimeSpan.FromMinutes(12));
            await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p2" });
            await rig.AdvanceAsync(TimeSpan.FromMinutes(13)); // 08:25
            var first = Build(Big0809, 0, Who);
            var correction = Build(Small0822, 1, Who);
            foreach (var e in correctionFirst ? [correction, first] : new[] { first, correction })
            {
                Assert.True((await rig.Host.TrackAsync(e)).IsAcknowledged);
            }

            await rig.AdvanceAsync(TimeSpan.FromHours(4));
            var s = await rig.Engine.GetJourneyStatisticsAsync("two");
            return (s.Entered, s.Converted);
        }

        Assert.Equal((2L, 1L), await RunTwo(correctionFirst: false));
        Assert.Equal((2L, 1L), await RunTwo(correctionFirst: true));
    }

    [Property(Arbitrary = [typeof(U95ReportArbitrary)], MaxTest = 300)]
    public void AnyArrivalOrder_OfOrderReports_JourneysAndConversionsReadAsTimeOrder(U95Report[] reports) =>
        Compare(reports, split: false).GetAwaiter().GetResult();

    [Property(Arbitrary = [typeof(U95ReportArbitrary)], MaxTest = 200)]
    public void AnyArrivalOrder_SplitAndMerged_JourneysAndConversionsReadAsOneInTimeOrder(U95Report[] reports) =>
        Compare(reports, split: true).GetAwaiter().GetResult();
}
