using System.Globalization;
using System.Text.Json;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Engine;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit V: bug classes from public reports of comparable systems, tried on the measurement report, verdicts and statistics.</summary>
public sealed class AuditVReportTests
{
    private static readonly DateTimeOffset Start = new(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly DateOnly Day = new(2026, 4, 1);

    private static JourneyDefinition Promo() => JourneyRig.Parse("""
        {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "promo-mail", "class": "transactional"}]}
        """);

    private static MeasurementReportData Data(string title = "Channel performance", double revenue = 25, long sent = 60, params ExperimentVerdict[] verdicts) =>
        new(title, Day, Day.AddDays(6), "last_touch", "order", 3, revenue,
            [new JourneyFunnel("promo", sent, 3, new FunnelCounts(sent, sent, 10, 5, 0, 3, revenue))],
            new Dictionary<string, FunnelCounts> { ["email"] = new(sent, sent, 10, 5, 0, 3, revenue) },
            [new ChannelDay("email", Day, new FunnelCounts(sent, sent, 10, 5, 0, 3, revenue))],
            verdicts);

    private static ExperimentVerdict Verdict(params VariantObservation[] arms) =>
        ExperimentAnalysis.Evaluate("promo", arms, arms[0].Name, new ExperimentSettings { MinimumRecipientsPerVariant = 10 });

    private static T InCulture<T>(string culture, Func<T> run)
    {
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
        try
        {
            return run();
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    private static int Count(string text, string part)
    {
        var n = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    [Fact]
    public void MarkupInVariantNamesAndTheTitle_IsEncodedInTextAndAttributes()
    {
        // Stored XSS through names shown on a dashboard (Countly#4838 dashboard name, totaljs/cms#38 site name,
        // milesmcc/shynet#344 attribute break-out). Variant names are free text in a journey definition.
        var verdict = Verdict(
            new VariantObservation("control", 500, 50),
            new VariantObservation("<script>alert(1)</script>", 500, 60),
            new VariantObservation("x\" onmouseover=\"alert(1)", 500, 55),
            new VariantObservation("</style><img src=x onerror=alert(1)>", 500, 52));
        var html = MeasurementReport.ToHtml(Data(title: "</title><script>alert(2)</script>", verdicts: verdict));

        Assert.Equal(1, Count(html, "<script>")); // the report's own
        Assert.Equal(1, Count(html, "</style>"));
        Assert.Equal(1, Count(html, "</title>"));
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\" onmouseover=\"", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ARightToLeftOverrideInAVariantName_IsClosedWhereTheNameEnds()
    {
        // codidact/qpixel#136, mastodon#2166, SpecterOps/BloodHound#3270: a U+202E in a name reversed the rest of the
        // line ("foo[RLO] favourited your status" read backwards). Here "(n=500) · Δ +2.00 pp, p = 0.1" followed the name.
        var verdict = Verdict(new VariantObservation("control", 500, 50), new VariantObservation("b\u202Eevil", 500, 60), new VariantObservation("تجربة", 500, 55));
        var html = MeasurementReport.ToHtml(Data(verdicts: verdict));

        var at = html.IndexOf('\u202E', StringComparison.Ordinal);
        Assert.True(at >= 0);
        for (; at >= 0; at = html.IndexOf('\u202E', at + 1))
        {
            // Before the text or attribute value the name is in ends, the override is popped again.
            var end = html.IndexOfAny(['<', '"'], at);
            Assert.Contains('\u202C', html[at..end]);
        }

        // A right-to-left name is written as it is, with nothing added.
        Assert.Contains(">تجربة (n=500)<", html, StringComparison.Ordinal);
    }

    [Fact]
    public void APValueBelowThePrintedPrecision_IsShownAsBelowIt_NeverAsZero()
    {
        // A lift of 10% to 20% on 5,000 recipients each: p ≈ 1e-47 printed "p = 0" in the evidence and "p 0" in the
        // report, a certainty no test gives; and a split of 5,000 against 5,600 printed its mismatch as "p = 0".
        var verdict = Verdict(new VariantObservation("control", 5000, 500), new VariantObservation("b", 5000, 1000));
        Assert.Equal("b", verdict.Winner);
        Assert.Contains(" p < 0.00001", verdict.Evidence, StringComparison.Ordinal);
        Assert.Contains("pp, p &lt; 0.0001<", MeasurementReport.ToHtml(Data(verdicts: verdict)), StringComparison.Ordinal);

        var skewed = Verdict(new VariantObservation("control", 5000, 500), new VariantObservation("b", 6000, 600));
        Assert.True(skewed.SampleRatio.Mismatch);
        Assert.Contains("p < 0.0001)", skewed.Evidence, StringComparison.Ordinal);
        Assert.Contains("p &lt; 0.00001", MeasurementReport.ToHtml(Data(verdicts: skewed)), StringComparison.Ordinal);

        // A p-value the format can show is shown as before.
        var close = Verdict(new VariantObservation("control", 500, 50), new VariantObservation("b", 500, 60));
        Assert.Matches(@"pp, p = [01](\.\d{1,4})?<", MeasurementReport.ToHtml(Data(verdicts: close)));
    }

    [Theory]
    [InlineData("en-US")]
    [InlineData("sv-SE")]
    [InlineData("")]
    public async Task ChannelDays_AreOrderedByChannelOrdinal_WhateverTheServerCulture(string culture)
    {
        // The per-day series were ordered by the server's culture (ICU puts "a_b" before "a1"; ordinal, as the channel
        // totals, puts "a1" first), so the JSON's order depended on where the report was built.
        var store = new InMemoryOmnichannelStore();
        var day = new DateOnly(2026, 3, 1);
        MeasurementKey Sent(string channel, DateOnly on) => new("promo", "s1", "", channel, "t", on, "sent");
        await store.CommitAsync(new ProfileCommit
        {
            ProfileId = "p1",
            ExpectedVersion = 0,
            Document = "{}"u8.ToArray(),
            Measurements = [new(Sent("a_b", day.AddDays(1)), 1), new(Sent("a1", day), 1), new(Sent("a_b", day), 1), new(Sent("B", day), 1)],
        });
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), store);

        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
        try
        {
            var data = await MeasurementReport.BuildAsync(engine, new MeasurementReportOptions { From = day, To = day.AddDays(1) });
            Assert.Equal(["B", "a1", "a_b"], data.Channels.Keys);
            Assert.Equal([("B", day), ("a1", day), ("a_b", day), ("a_b", day.AddDays(1))], data.ChannelDays.Select(d => (d.Channel, d.Day)));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void AnArmWithNoRecipients_IsShownAsZero_NeverNaN()
    {
        // growthbook#1012 (ZeroDivisionError for a missing dimension-variation), ankane/field_test#43 (rate nil with no
        // participants): a broken assignment leaves an arm empty. Its rate is 0 with the uninformative interval [0, 1].
        var verdict = Verdict(new VariantObservation("control", 0, 0), new VariantObservation("b", 400, 40));
        var empty = verdict.Variants[0];
        Assert.Equal((0.0, new Interval(0, 1)), (empty.ConversionRate, empty.ConversionRateInterval));

        var html = MeasurementReport.ToHtml(Data(verdicts: verdict));
        Assert.DoesNotContain("NaN", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Infinity", html, StringComparison.Ordinal);
        Assert.Contains("0.00%", html, StringComparison.Ordinal);
        Assert.True(verdict.SampleRatio.Mismatch); // every entrant in one arm of a 50/50 split
    }

    [Fact]
    public void TheJson_IsStrictJson_InfiniteBoundsAreStrings_AndNoNaN()
    {
        // NaN/Infinity written as bare tokens make the whole document unreadable to strict parsers (JavaScript's
        // JSON.parse, Python's json with allow_nan=False). One recipient per arm leaves the revenue intervals unbounded.
        var verdict = Verdict(new VariantObservation("control", 1, 0), new VariantObservation("b", 1, 1, 30, 900));
        var json = MeasurementReport.ToJson(Data(verdicts: verdict));

        using var document = JsonDocument.Parse(json); // throws on a bare Infinity or NaN
        var bound = document.RootElement.GetProperty("experiments")[0].GetProperty("variants")[1].GetProperty("revenuePerRecipientInterval").GetProperty("upper");
        Assert.Equal(("Infinity", JsonValueKind.String), (bound.GetString(), bound.ValueKind));
        Assert.DoesNotContain("NaN", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReportForAPeriodWithNoData_SaysSo_AndIsValid()
    {
        // A dashboard over an empty range (Plausible, Umami: "no data" ranges that errored or drew NaN axes).
        await using var rig = JourneyRig.Create([Promo()], start: Start);
        var data = await MeasurementReport.BuildAsync(rig.Engine, new MeasurementReportOptions { From = Day.AddDays(-10), To = Day.AddDays(-1) });

        Assert.Equal((0L, 0.0), (data.Conversions, data.ConversionRevenue));
        Assert.Empty(data.Journeys);
        Assert.Empty(data.Channels);
        Assert.Empty(data.Experiments);
        var html = MeasurementReport.ToHtml(data);
        Assert.Contains("No journey activity in the period.", html, StringComparison.Ordinal);
        Assert.Contains("data-chart=\"revenue-by-channel\" data-points=\"0\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", html, StringComparison.Ordinal);
        using var _ = JsonDocument.Parse(MeasurementReport.ToJson(data));
    }

    [Fact]
    public async Task TheDefaultPeriodOverTheYearEnd_KeepsTheDaysOfBothYears_InOrder()
    {
        // Reports across a year boundary (week/year keys like "2026-53" vs "2027-01", ISO week-year mix-ups in Matomo and
        // Metabase): the report's days are UTC calendar days and ordered by date.
        var eve = new DateTimeOffset(2026, 12, 31, 22, 0, 0, TimeSpan.Zero);
        await using var rig = JourneyRig.Create([Promo()], start: eve);
        await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("a"), Identifier.Email("a@example.com")]);
        await rig.AdvanceAsync(TimeSpan.FromHours(4));
        await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("b"), Identifier.Email("b@example.com")]);

        var data = await MeasurementReport.BuildAsync(rig.Engine, time: rig.Host.Time);

        Assert.Equal((new DateOnly(2026, 12, 2), new DateOnly(2027, 1, 1)), (data.From, data.To));
        Assert.Equal([new DateOnly(2026, 12, 31), new DateOnly(2027, 1, 1)], data.ChannelDays.Select(d => d.Day));
        Assert.Equal(2, Assert.Single(data.Journeys).Entered);
        var html = MeasurementReport.ToHtml(data);
        Assert.Contains("2026-12-02 – 2027-01-01", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("de-DE")]
    [InlineData("th-TH")]
    [InlineData("ar-SA")]
    [InlineData("fa-IR")]
    public void OnAServerInAnotherCulture_TheHtmlAndJsonWriteInvariantNumbersAndGregorianDays(string culture)
    {
        // AlfrescoBenchmark#123, odoo#94534: exports with the server's decimal comma; th-TH and ar-SA also bring another
        // calendar (Buddhist year 2569, Hijri) and fa-IR Persian digits to anything formatted with the current culture.
        var verdict = Verdict(new VariantObservation("control", 500, 50, 1000, 40_000), new VariantObservation("b", 500, 70, 1500, 60_000));
        var (html, json) = InCulture(culture, () =>
        {
            var data = Data(revenue: 1234.5, verdicts: verdict);
            return (MeasurementReport.ToHtml(data), MeasurementReport.ToJson(data));
        });

        Assert.Contains("revenue 1234.50", html, StringComparison.Ordinal);
        Assert.Contains("2026-04-01 – 2026-04-07", html, StringComparison.Ordinal);
        Assert.DoesNotContain("1234,5", html + json, StringComparison.Ordinal);
        Assert.DoesNotContain("2569", html + json, StringComparison.Ordinal);
        Assert.Contains("\"from\": \"2026-04-01\"", json, StringComparison.Ordinal);
        Assert.Contains("\"conversionRevenue\": 1234.5", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APeriodThatEndsBeforeItStarts_NamesItsGregorianDays_OnAThaiServer()
    {
        // The error message formatted the days with the current culture: on th-TH "2569-04-01" (the Buddhist year).
        await using var rig = JourneyRig.Create([Promo()], start: Start);
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("th-TH");
        try
        {
            var e = await Assert.ThrowsAsync<ArgumentException>(() => MeasurementReport.BuildAsync(rig.Engine, new MeasurementReportOptions { From = Day, To = Day.AddDays(-1) }));
            Assert.Contains("options.To (2026-03-31) is before options.From (2026-04-01)", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void InvalidExperimentSettings_AreReportedWithInvariantNumbers_OnAGermanServer()
    {
        // Audit E made every message invariant; the settings' messages still wrote "(was 0,3)" on a de-DE server.
        var e = InCulture("de-DE", () => Assert.Throws<ArgumentException>(() => ExperimentAnalysis.Evaluate("promo",
            [new VariantObservation("control", 10, 1), new VariantObservation("b", 10, 2)], "control",
            new ExperimentSettings { Confidence = 0.3, SampleRatioThreshold = 1.5, MixtureStandardDeviation = -0.25 })));

        Assert.Contains("Confidence must be in (0.5, 1) (was 0.3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("SampleRatioThreshold must be in (0, 1) (was 1.5)", e.Message, StringComparison.Ordinal);
        Assert.Contains("MixtureStandardDeviation must be positive (was -0.25)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JourneyStatistics_CountEveryRow_WhenTheJourneyHasMoreRowsThanAQuerysDefaultLimit()
    {
        // Metabase#82850, cube-js/cube#11492, datalust/seq-tickets#1173: aggregates computed over an answer silently cut at a
        // row limit. A journey keeps a row per counter and day; the statistics read with the query's default limit of
        // 100,000 rows, so a long-lived journey's totals lost whatever sorted after the cut (here every entry).
        var filler = Enumerable.Range(0, 100_000)
            .Select(i => new MeasurementRow(new MeasurementKey("promo", "", "", "", "", new DateOnly(1900, 1, 1).AddDays(i), "journey:active"), 0, 0))
            .ToList();
        var store = new FlakyStore(new InMemoryOmnichannelStore()) { ExtraMeasurements = filler };
        await using var rig = JourneyRig.Create([Promo()], start: Start, store: store);
        for (var i = 0; i < 3; i++)
        {
            await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("p" + i), Identifier.Email($"p{i}@example.com")]);
        }

        var statistics = await rig.Engine.GetJourneyStatisticsAsync("promo");

        Assert.Equal(3, statistics.Entered);
        Assert.Equal(3, statistics.Steps["mail"].Sent);
    }

    [Fact]
    public void VeryLargeCountsAndRevenue_AreWrittenInFull_NotCutOrInExponentForm()
    {
        // Sums past 2^31 (Matomo and Plausible counters overflowing int) and revenue near the accepted ±10^15 per order
        // summed over many orders: counts are longs, money is written with two decimals and no "E+15".
        var html = MeasurementReport.ToHtml(Data(revenue: 2_850_000_000_000_000, sent: 5_000_000_000));

        Assert.Contains("<td>5000000000</td>", html, StringComparison.Ordinal);
        Assert.Contains("2850000000000000.00", html, StringComparison.Ordinal);
        Assert.DoesNotContain("E+", html, StringComparison.Ordinal);
        Assert.DoesNotContain("width=\"-", html, StringComparison.Ordinal);
    }
}
