using FsCheck.Xunit;
using MathNet.Numerics;
using MathNet.Numerics.Distributions;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Templates;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U54: bug classes from public reports, round 54 (message templates and rendering, and experiment verdicts). Each
/// test names the reports its class comes from; docs/design-notes.md, "Audit U54", lists what held and what was fixed.
/// Templates render at a fixed instant (Tuesday 9 June 2026, 10:30 UTC); verdicts are pure and checked against
/// MathNet.Numerics.
/// </summary>
public sealed class AuditU54Tests
{
    private static string RenderSmsOf(TemplateDocument document, RenderContext context) =>
        Renderer(document).Render(document.Id, ChannelNames.Sms, context).GetValueOrThrow().Body!;

    // ---- 1. Fixed: month and day names in the variant's language ----

    // locomotivecms/engine#525 ("{{ today | date: '%B' }} displays the month name in English even if my locale is
    // French"), harttle/liquidjs#567 and #723 (locale support for the date filter), bkiers/Liqp#73: a French variant
    // printed "Tuesday 09 June" inside French text. Names follow the variant chosen, so a customer with a French locale
    // served the variant without a locale still reads English names in English text; numbers stay invariant.
    [Theory]
    [InlineData("fr", "fr-FR", "mardi 09 juin|mar. juin|mardi 9 juin 2026|1.5")]
    [InlineData("de", "de-DE", "Dienstag 09 Juni|Di Jun|Dienstag, 9. Juni 2026|1.5")]
    [InlineData(null, "fr-FR", "Tuesday 09 June|Tue Jun|Tuesday, 09 June 2026|1.5")]
    public void MonthAndDayNames_AreInTheLanguageOfTheVariantChosen_AndNumbersStayInvariant(string? variantLocale, string customerLocale, string expected)
    {
        const string Source = "{{ now | date: '%A %d %B' }}|{{ now | date: '%a %b' }}|{{ now | format_date: 'D' }}|{{ 1.5 | plus: 0 }}";
        var variant = TemplateVariant.Sms(Source) with { Locale = variantLocale };
        var context = Context(Clara(locale: customerLocale));

        Assert.Equal(expected, RenderSmsOf(new TemplateDocument("t", [variant]), context));
    }

    // ---- 2. Fixed: the fixed-horizon rate test with few expected conversions ----

    // scipy/scipy#13971 (the chi-square and Wald tests over-reject in small samples; exact tests such as Fisher's keep
    // the size), scipy/scipy#13662 (the two-proportion z-test as A/B tools implement it, often by hand). The z-test
    // called 4 of 10 against 0 of
    // 10 significant (p = 0.025, Fisher 0.087) and 5 of 1,000 against none (p = 0.025, Fisher 0.062), so a shop reading
    // fixed-horizon verdicts got a winner on four or five orders.
    [Theory]
    [InlineData(10, 0, 10, 4, 10)]
    [InlineData(1000, 0, 1000, 5, 1000)]
    [InlineData(20, 1, 20, 6, 20)]
    public void AFixedHorizonVerdict_OnAFewConversions_UsesFishersExactTest_AndCallsNoWinner(long nControl, long xControl, long nVariant, long xVariant, long minimum)
    {
        var verdict = ExperimentAnalysis.Evaluate("e",
            [new VariantObservation("control", nControl, xControl), new VariantObservation("b", nVariant, xVariant)],
            "control", new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = minimum });
        var b = verdict.Variants[1].VersusControl!;

        Assert.Equal(FisherOracle(xVariant, nVariant, xControl, nControl), b.RatePValue, 1e-9);
        Assert.True(b.RatePValue > 0.05, $"p = {b.RatePValue}");
        Assert.False(b.Significant);
        Assert.Null(verdict.Winner);
    }

    // A difference Fisher's test finds is still a winner (8 of 100 against none: p = 0.007), and where every cell
    // expects 5 or more the p-value is the z-test's, as before (MathNet's normal).
    [Fact]
    public void FishersTest_StillFindsAClearDifference_AndLargeCountsKeepTheZTest()
    {
        var clear = ExperimentAnalysis.Evaluate("e",
            [new VariantObservation("control", 100, 0), new VariantObservation("b", 100, 8)],
            "control", new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = 100 });
        Assert.Equal(FisherOracle(8, 100, 0, 100), clear.Variants[1].VersusControl!.RatePValue, 1e-9);
        Assert.Equal("b", clear.Winner);

        var large = ExperimentAnalysis.Evaluate("e",
            [new VariantObservation("control", 5000, 500), new VariantObservation("b", 5000, 570)],
            "control", new ExperimentSettings { Sequential = false });
        var pooled = 1070 / 10000.0;
        var z = (570 / 5000.0 - 500 / 5000.0) / Math.Sqrt(pooled * (1 - pooled) * (2 / 5000.0));
        Assert.Equal(2 * (1 - Normal.CDF(0, 1, Math.Abs(z))), large.Variants[1].VersusControl!.RatePValue, 1e-9);
    }

    // The rule for every small table: where a cell expects fewer than 5, the p-value is Fisher's (MathNet's
    // hypergeometric), never smaller than it.
    [Property(MaxTest = 150)]
    public void OnEverySmallTable_TheRatePValueIsFishers(byte a, byte b, byte c, byte d)
    {
        long nVariant = 2 + (a % 30), nControl = 2 + (b % 30);
        long xVariant = c % (nVariant + 1), xControl = d % (nControl + 1);
        var verdict = ExperimentAnalysis.Evaluate("e",
            [new VariantObservation("control", nControl, xControl), new VariantObservation("b", nVariant, xVariant)],
            "control", new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = 2 });
        var n = nVariant + nControl;
        var k = xVariant + xControl;
        if (Math.Min(nVariant, nControl) * (double)Math.Min(k, n - k) / n >= 5)
        {
            return;
        }

        Assert.Equal(FisherOracle(xVariant, nVariant, xControl, nControl), verdict.Variants[1].VersusControl!.RatePValue, 1e-9);
    }

    // ---- 3. Fixed: the sample-ratio alarm on a small hold-out ----

    // mozilla/experimenter#16011 (false SRM alerts on intentionally unequal 95/5 splits), PostHog/posthog.com#14130 (SRM
    // only from 100 exposures), scipy/scipy#13971 (the chi-square over-rejects on small expected counts). A 1 % hold-out of
    // 300 people expects 3; the chi-square read 9 as p = 0.0005, a broken assignment that blocks every winner, where the
    // binomial probability of 9 or more is 0.0038. A hold-out of 30 out of 300 is broken and still flagged.
    [Fact]
    public void ASmallHoldOut_AFewOverItsShare_IsNoSampleRatioMismatch_ButOneTenTimesItsShareIs()
    {
        var shares = new Dictionary<string, double> { ["control"] = 1, ["b"] = 99 };
        var slightly = ExperimentAnalysis.Evaluate("e", [new VariantObservation("control", 9, 0), new VariantObservation("b", 291, 20)], "control", null, shares);

        Assert.Equal(2 * (1 - Binomial.CDF(0.01, 300, 8)), slightly.SampleRatio.PValue, 1e-9);
        Assert.False(slightly.SampleRatio.Mismatch, $"p = {slightly.SampleRatio.PValue}");
        Assert.DoesNotContain("mismatch", slightly.Evidence, StringComparison.Ordinal);

        var broken = ExperimentAnalysis.Evaluate("e", [new VariantObservation("control", 30, 0), new VariantObservation("b", 270, 20)], "control", null, shares);
        Assert.True(broken.SampleRatio.Mismatch);
        Assert.Contains("sample ratio mismatch", broken.Evidence, StringComparison.Ordinal);

        // A 1-vs-1,000 plan with no one yet in the small arm is no alarm either.
        var empty = ExperimentAnalysis.Evaluate("e", [new VariantObservation("control", 0, 0), new VariantObservation("b", 1000, 5)], "control", null,
            new Dictionary<string, double> { ["control"] = 1, ["b"] = 1000 });
        Assert.False(empty.SampleRatio.Mismatch);
    }

    // With three arms, a small hold-out does not hide a broken split between the two large ones, and where every arm
    // expects 5 or more the check is the chi-square, as before (MathNet's chi-squared).
    [Fact]
    public void WithASmallHoldOut_ABrokenSplitOfTheLargeArms_IsStillFlagged_AndLargeArmsKeepTheChiSquare()
    {
        var shares = new Dictionary<string, double> { ["control"] = 1, ["a"] = 99, ["b"] = 99 };
        var broken = ExperimentAnalysis.Evaluate("e",
            [new VariantObservation("control", 1, 0), new VariantObservation("a", 200, 0), new VariantObservation("b", 99, 0)], "control", null, shares);
        Assert.True(broken.SampleRatio.Mismatch, $"p = {broken.SampleRatio.PValue}");

        var healthy = ExperimentAnalysis.Evaluate("e",
            [new VariantObservation("control", 2, 0), new VariantObservation("a", 150, 0), new VariantObservation("b", 148, 0)], "control", null, shares);
        Assert.False(healthy.SampleRatio.Mismatch, $"p = {healthy.SampleRatio.PValue}");

        var large = ExperimentAnalysis.Evaluate("e", [new VariantObservation("control", 5000, 0), new VariantObservation("b", 5150, 0)], "control");
        var expected = 10150 / 2.0;
        var chi = (Math.Pow(5000 - expected, 2) / expected) + (Math.Pow(5150 - expected, 2) / expected);
        Assert.Equal(1 - ChiSquared.CDF(1, chi), large.SampleRatio.PValue, 1e-9);
    }

    // ---- 4. Held: tiny samples in the default (always-valid) mode claim nothing ----

    // PostHog/posthog#60879, spotify/confidence#94 (peeking on small samples, as audit U15 cites them): with the minimum lowered to 2,
    // every extreme table of 2 to 10 per arm (all against none) is not significant in always-valid mode.
    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(10)]
    public void InAlwaysValidMode_AllAgainstNoneOnTinyArms_IsNotSignificant(long n)
    {
        var verdict = ExperimentAnalysis.Evaluate("e",
            [new VariantObservation("control", n, 0), new VariantObservation("b", n, n)], "control", new ExperimentSettings { MinimumRecipientsPerVariant = 2 });

        Assert.False(verdict.Variants[1].VersusControl!.Significant);
        Assert.Null(verdict.Winner);
        Assert.StartsWith("no winner", verdict.Evidence, StringComparison.Ordinal);
    }

    // ---- 5. Held: a date without a time is her day in every zone ----

    // saschpe/BirthdayCalendar#33, m-i-n-a-r/birday#55, CityOfBoston/digital#368 ("birthdays are a day behind" west of
    // UTC), 11ty/docs#1745 (Liquid's date filter and UTC): a birthday stored as "1990-06-10" printed as 9 June in Los
    // Angeles when read as midnight UTC. An offset-less date or time is her wall clock.
    [Theory]
    [InlineData("America/Los_Angeles")]
    [InlineData("Asia/Tokyo")]
    [InlineData("Pacific/Kiritimati")]
    [InlineData("Pacific/Pago_Pago")]
    public void ADateWithoutATime_PrintsItsOwnDay_InEveryZone(string zone)
    {
        var context = Context(Clara(timeZone: zone).WithTrait("birthday", "1990-06-10")) with
        {
            Journey = new Dictionary<string, object?> { ["delivery"] = "2026-06-12", ["slot"] = "2026-06-12 09:00" },
        };

        Assert.Equal("10 June|12 June|12 June 09:00", RenderSms(
            "{{ profile.traits.birthday | date: '%d %B' }}|{{ journey.delivery | date: '%d %B' }}|{{ journey.slot | date: '%d %B %H:%M' }}", context));
    }

    // ---- 6. Held: markup from data is escaped in html only ----

    // knadh/listmonk#785 ('<' in a subject mangled: the subject used the html template), sendgrid/sendgrid-nodejs#741
    // ("C&amp;A" in a subject), mailslurper/mailslurper#55: markup in a name is text in the html part, and the subject,
    // the text part and an SMS print it as typed.
    [Fact]
    public void MarkupInAName_IsEscapedInTheHtmlPart_AndPrintedAsTypedInSubjectTextAndSms()
    {
        const string Name = "<b>Ann</b> & \"Co\" 'x'";
        var context = Context(Clara().WithTrait("first_name", Name));
        var email = Renderer(Single("t", TemplateVariant.Email("Hi {{ profile.first_name }}", "<p>{{ profile.first_name }}</p>", "Hi {{ profile.first_name }}")))
            .Render("t", ChannelNames.Email, context).GetValueOrThrow();

        Assert.Equal("<p>&lt;b&gt;Ann&lt;/b&gt; &amp; &quot;Co&quot; &#39;x&#39;</p>", email.Parts[TemplateParts.Html]);
        Assert.Equal("Hi " + Name, email.Parts[TemplateParts.Subject]);
        Assert.Equal("Hi " + Name, email.Parts[TemplateParts.Text]);
        Assert.Equal("Hi " + Name, RenderSms("Hi {{ profile.first_name }}", context));
    }

    // ---- 7. Held: errors are found at load, with the line and column of the source ----

    // vlang/v#6224, cksystemsteaching/selfie#15, tonyganch/gonzales-pe#152 (CR LF counted as two lines), roc-lang/roc#3064;
    // Shopify/liquid strict-mode reports (an error found only when a customer's message rendered). A template saved on
    // Windows, with an emoji on an earlier line, reports its unknown filter and its unclosed block at load, on the line
    // and column an editor shows.
    [Theory]
    [InlineData("line one\r\nline two\r\n  {{ profile.first_name | nope }}", 3, 27, TemplateErrorKind.UnknownFilter)]
    [InlineData("line one 😀😀\nline two\n  {% if profile.first_name %} hi", 3, 3, TemplateErrorKind.UnclosedBlock)]
    [InlineData("Hi\r\n\r\n{{ profile.first_name }\r\n", 3, 1, null)]
    public void ATemplateError_IsReportedAtLoad_WithTheLineAndColumnAnEditorShows(string source, int line, int column, TemplateErrorKind? kind)
    {
        var loaded = TemplateRenderer.Load([Single("t", TemplateVariant.Sms(source))]);

        Assert.False(loaded.Succeeded);
        Assert.Empty(loaded.Renderer.TemplateIds);
        var error = Assert.Single(loaded.Errors, e => e.Line == line);
        if (kind is { } k)
        {
            Assert.Equal(k, error.Kind);
            Assert.Equal(column, error.Column);
        }
    }

    // Fisher's two-sided p from MathNet's log binomial coefficients (its Hypergeometric.PMF overflows past ~1,000).
    private static double FisherOracle(long x1, long n1, long x0, long n0)
    {
        long n = n1 + n0, k = x1 + x0;
        if (k == 0 || k == n)
        {
            return 1;
        }

        double Pmf(long x) => Math.Exp(SpecialFunctions.BinomialLn((int)k, (int)x) + SpecialFunctions.BinomialLn((int)(n - k), (int)(n1 - x)) - SpecialFunctions.BinomialLn((int)n, (int)n1));
        var observed = Pmf(x1);
        var p = 0.0;
        for (var x = Math.Max(0, n1 - (n - k)); x <= Math.Min(k, n1); x++)
        {
            if (Pmf(x) is var px && px <= observed * (1 + 1e-7))
            {
                p += px;
            }
        }

        return Math.Min(1, p);
    }
}
