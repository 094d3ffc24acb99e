using System.Globalization;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.Measurement;

/// <summary>What one arm of an experiment saw: its recipients, how many converted, and their revenue.</summary>
/// <param name="Name">The variant (or <c>control</c>).</param>
/// <param name="Recipients">People assigned to it (≥ 0).</param>
/// <param name="Conversions">Of those, people who converted (0 ≤ conversions ≤ recipients).</param>
/// <param name="Revenue">The sum of revenue per recipient (non-converters count 0).</param>
/// <param name="RevenueSquares">The sum of each recipient's revenue squared (for the revenue variance).</param>
public sealed record VariantObservation(string Name, long Recipients, long Conversions, double Revenue = 0, double RevenueSquares = 0);

/// <summary>How verdicts are reached.</summary>
public sealed record ExperimentSettings
{
    /// <summary>Confidence of intervals and tests, in (0.5, 1); default 0.95 (significance α = 0.05).</summary>
    public double Confidence { get; init; } = 0.95;

    /// <summary>Recipients every arm needs before a winner may be declared; default 1,000.</summary>
    public long MinimumRecipientsPerVariant { get; init; } = 1000;

    /// <summary>
    /// Always-valid (sequential) mode, default <see langword="true"/>: significance is read from always-valid p-values of
    /// a mixture sequential probability ratio test, so a verdict may be looked at every day without inflating false
    /// positives (Johari, Koomen, Pekelis and Walsh, "Peeking at A/B Tests", KDD 2017). With <see langword="false"/>,
    /// fixed-horizon p-values, valid only when read once at a sample size fixed in advance.
    /// </summary>
    public bool Sequential { get; init; } = true;

    /// <summary>
    /// The standard deviation τ of the normal mixture over the true difference in conversion rate (mSPRT); default
    /// <see langword="null"/>: 10% of the pooled conversion rate (the size of lift worth finding). Any fixed τ keeps the
    /// guarantee (an infinite one is refused); τ near the real effect gives the most power.
    /// </summary>
    public double? MixtureStandardDeviation { get; init; }

    /// <summary>The sample-ratio-mismatch alarm: a chi-square p-value below it flags the split as broken; default 0.001.</summary>
    public double SampleRatioThreshold { get; init; } = 0.001;

    /// <summary>Every problem with the settings, each naming its field.</summary>
    public IEnumerable<string> Validate()
    {
        if (double.IsNaN(Confidence) || Confidence is <= 0.5 or >= 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"Confidence must be in (0.5, 1) (was {Confidence})");
        }

        if (MinimumRecipientsPerVariant < 2)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"MinimumRecipientsPerVariant must be at least 2 (was {MinimumRecipientsPerVariant})");
        }

        if (MixtureStandardDeviation is { } tau && (double.IsNaN(tau) || tau <= 0))
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"MixtureStandardDeviation must be positive (was {tau})");
        }
        else if (MixtureStandardDeviation is { } wide && double.IsPositiveInfinity(wide))
        {
            // An infinite τ is no mixture at all (its always-valid p-value was NaN); any finite one keeps the guarantee.
            yield return "MixtureStandardDeviation must be finite (was ∞)";
        }

        if (double.IsNaN(SampleRatioThreshold) || SampleRatioThreshold is <= 0 or >= 1)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"SampleRatioThreshold must be in (0, 1) (was {SampleRatioThreshold})");
        }
    }
}

/// <summary>A two-sided interval. An unbounded side (an arm with one recipient, say) is an infinity, which JSON serialization
/// writes as the string <c>"-Infinity"</c> / <c>"Infinity"</c> (the attribute below), so a verdict can be answered from an endpoint.</summary>
/// <param name="Lower">The lower bound.</param>
/// <param name="Upper">The upper bound.</param>
[JsonNumberHandling(JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public readonly record struct Interval(double Lower, double Upper)
{
    /// <summary>Whether the interval holds a value.</summary>
    /// <param name="value">The value.</param>
    public bool Contains(double value) => value >= Lower && value <= Upper;
}

/// <summary>One arm's results.</summary>
/// <param name="Name">The variant.</param>
/// <param name="Recipients">People assigned.</param>
/// <param name="Conversions">People who converted.</param>
/// <param name="ConversionRate">Conversions ÷ recipients (0 without recipients).</param>
/// <param name="ConversionRateInterval">Wilson score interval of the rate (Wilson 1927) at the settings' confidence.</param>
/// <param name="RevenuePerRecipient">Mean revenue per recipient.</param>
/// <param name="RevenuePerRecipientInterval">Student t interval of the mean (sample variance, n − 1 degrees of freedom).</param>
/// <param name="VersusControl">The comparison with the control arm; <see langword="null"/> for the control itself.</param>
[JsonNumberHandling(JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record VariantVerdict(
    string Name,
    long Recipients,
    long Conversions,
    double ConversionRate,
    Interval ConversionRateInterval,
    double RevenuePerRecipient,
    Interval RevenuePerRecipientInterval,
    VariantComparison? VersusControl);

/// <summary>
/// A variant against the control arm. With k arms, each of the k − 1 comparisons is made at α/(k − 1) (Bonferroni, so
/// that the chance of any false winner stays at most α): its p-values are the raw ones, <paramref name="Significant"/>
/// compares them with α/(k − 1), and the difference intervals are at confidence 1 − α/(k − 1).
/// </summary>
/// <param name="RateDifference">Variant rate − control rate.</param>
/// <param name="RateDifferenceInterval">Wald interval of the difference (unpooled standard error); Newcombe's hybrid score interval (1998, method 10) where the Wald one collapses to a point or leaves [−1, 1].</param>
/// <param name="RatePValue">Two-sided p-value of the two-proportion z-test (pooled standard error); Fisher's exact test where a cell of the 2×2 table (converted or not, by arm) expects fewer than 5 people, since the z-test's normal approximation overstates the evidence there.</param>
/// <param name="RateAlwaysValidPValue">Always-valid p-value of the mSPRT on the rate difference (1 when nothing is known yet).</param>
/// <param name="RateSequentialInterval">Always-valid confidence sequence of the difference (the values the mSPRT does not reject).</param>
/// <param name="RevenueDifference">Variant revenue per recipient − control's.</param>
/// <param name="RevenueDifferenceInterval">Welch interval of the difference (Welch–Satterthwaite degrees of freedom).</param>
/// <param name="RevenuePValue">Two-sided p-value of Welch's t-test.</param>
/// <param name="RevenueAlwaysValidPValue">Always-valid p-value of the mSPRT on the revenue difference (τ = 10% of the pooled mean).</param>
/// <param name="Significant">Whether the rate difference is significant under the settings' mode (always-valid or fixed horizon), Bonferroni-corrected for the number of variants.</param>
[JsonNumberHandling(JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record VariantComparison(
    double RateDifference,
    Interval RateDifferenceInterval,
    double RatePValue,
    double RateAlwaysValidPValue,
    Interval RateSequentialInterval,
    double RevenueDifference,
    Interval RevenueDifferenceInterval,
    double RevenuePValue,
    double RevenueAlwaysValidPValue,
    bool Significant);

/// <summary>Pearson's chi-square goodness-of-fit of the recipients to the planned split.</summary>
/// <param name="ChiSquare">The statistic.</param>
/// <param name="DegreesOfFreedom">Arms − 1.</param>
/// <param name="PValue">Its upper-tail p-value; where an arm expects fewer than 5 recipients (a small hold-out), exact binomial tests of those arms and the chi-square of the others, the smallest Bonferroni-corrected for their number. The global control group's verdict, after <c>GlobalControlShare</c> changed during the test, checks the totals against the mix of shares and each period of one share against that share, and gives the smallest p-value Bonferroni-corrected for their number (<paramref name="ChiSquare"/> and <paramref name="DegreesOfFreedom"/> are then that check's).</param>
/// <param name="Mismatch">Whether <paramref name="PValue"/> is below the alarm threshold: the assignment is broken, distrust the verdict.</param>
[JsonNumberHandling(JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record SampleRatioCheck(double ChiSquare, int DegreesOfFreedom, double PValue, bool Mismatch);

/// <summary>An experiment's verdict: every arm with intervals, each variant against control, the split's health and a winner when there is one.</summary>
/// <param name="ExperimentId">The experiment (a journey id, or <c>$global</c> for the global control group).</param>
/// <param name="Control">The control arm's name.</param>
/// <param name="Variants">Every arm, control first.</param>
/// <param name="SampleRatio">The sample-ratio check.</param>
/// <param name="Sequential">Whether significance was read in always-valid mode.</param>
/// <param name="Winner">The winning variant, or <see langword="null"/>: every arm has the minimum sample, the split is healthy, and the variant's rate beats control significantly (the best such).</param>
/// <param name="Evidence">One line saying why (or why not yet), with the numbers: a winner's rate difference in percentage points with the interval of the mode (the confidence sequence in always-valid mode, else the fixed-horizon interval) and the p-value of that mode.</param>
[JsonNumberHandling(JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record ExperimentVerdict(string ExperimentId, string Control, IReadOnlyList<VariantVerdict> Variants, SampleRatioCheck SampleRatio, bool Sequential, string? Winner, string Evidence)
{
    /// <summary>
    /// Audit U86, the global control group's verdict only (0 elsewhere): how many people were assigned to both groups —
    /// two profiles of hers, one held out and one messaged, merged later (her login on a second device). She is counted
    /// once, in the group assigned first (intention to treat), but a person held out may have received the other
    /// profile's messages before the merge: the hold-out is contaminated by that many people (GrowthBook's "multiple
    /// exposures" check). A count of people (merges that joined two groups), never negative; read it against the
    /// recipients of the control arm — a share of more than a few percent makes the lift an underestimate.
    /// </summary>
    public long PeopleInBothGroups { get; init; }
}

/// <summary>Computes experiment verdicts from arm totals. Pure; the tests check every number against MathNet.Numerics.</summary>
public static class ExperimentAnalysis
{
    /// <summary>Evaluates an experiment.</summary>
    /// <param name="experimentId">The experiment's name.</param>
    /// <param name="arms">Every arm's totals (at least two, names unique).</param>
    /// <param name="control">The control arm's name (one of <paramref name="arms"/>).</param>
    /// <param name="settings">Confidence, mode and thresholds; defaults when <see langword="null"/>.</param>
    /// <param name="plannedShares">Each arm's planned share of recipients (any positive weights); equal shares when <see langword="null"/>.</param>
    /// <returns>The verdict.</returns>
    /// <exception cref="ArgumentException">Fewer than two arms, a duplicate or missing control name, impossible counts, or invalid settings; the message names the field.</exception>
    public static ExperimentVerdict Evaluate(string experimentId, IReadOnlyList<VariantObservation> arms, string control, ExperimentSettings? settings = null, IReadOnlyDictionary<string, double>? plannedShares = null) =>
        Evaluate(experimentId, arms, control, settings, plannedShares, checkSampleRatio: true);

    /// <summary>As the public overload; without <paramref name="checkSampleRatio"/> the split's ratio is not checked (no planned shares hold for all the counts); a <paramref name="sampleRatio"/> given is the caller's check of the split (review of U86: the global group's, period by period of its share).</summary>
    internal static ExperimentVerdict Evaluate(string experimentId, IReadOnlyList<VariantObservation> arms, string control, ExperimentSettings? settings, IReadOnlyDictionary<string, double>? plannedShares, bool checkSampleRatio, SampleRatioCheck? sampleRatio = null)
    {
        ArgumentNullException.ThrowIfNull(arms);
        settings ??= new ExperimentSettings();
        var problems = settings.Validate().Select(p => "settings." + p).ToList();
        if (arms.Count < 2)
        {
            problems.Add($"arms: at least two are needed (was {arms.Count})");
        }

        for (var i = 0; i < arms.Count; i++)
        {
            var a = arms[i];
            if (a.Recipients < 0 || a.Conversions < 0 || a.Conversions > a.Recipients)
            {
                problems.Add($"arms[{i}] ('{a.Name}'): conversions must be between 0 and recipients (was {a.Conversions} of {a.Recipients})");
            }

            if (!double.IsFinite(a.Revenue) || !double.IsFinite(a.RevenueSquares) || a.RevenueSquares < 0)
            {
                problems.Add($"arms[{i}] ('{a.Name}'): revenue sums must be finite, squares non-negative");
            }
        }

        if (arms.Select(a => a.Name).Distinct(StringComparer.Ordinal).Count() != arms.Count)
        {
            problems.Add("arms: names must be unique");
        }

        if (!arms.Any(a => a.Name == control))
        {
            problems.Add($"control: '{control}' is not one of the arms");
        }

        if (plannedShares is not null && arms.Any(a => !plannedShares.TryGetValue(a.Name, out var s) || !(s > 0)))
        {
            problems.Add("plannedShares: every arm needs a positive share");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(arms));
        }

        var alpha = 1 - settings.Confidence;
        var z = Distributions.NormalQuantile(1 - (alpha / 2));
        var c = arms.First(a => a.Name == control);
        var ordered = arms.Where(a => a.Name != control).Prepend(c).ToList();
        var pooledRate = ordered.Sum(a => (double)a.Conversions) / Math.Max(1, ordered.Sum(a => (double)a.Recipients));
        // Each variant against control is one of k − 1 comparisons; a winner is declared when any is significant, so each is
        // tested at α/(k − 1) (Bonferroni) and the difference intervals are the matching simultaneous ones. The union bound
        // holds for always-valid p-values at any stopping time too, so the sequential guarantee survives the correction.
        var comparisons = ordered.Count - 1;
        var alphaEach = alpha / comparisons;
        var zEach = comparisons == 1 ? z : Distributions.NormalQuantile(1 - (alphaEach / 2));
        var verdicts = ordered.Select(a => Arm(a, a == c ? null : Compare(a, c, zEach, alphaEach, settings, pooledRate), z, alpha)).ToList();
        var srm = sampleRatio ?? (checkSampleRatio ? SampleRatio(ordered, plannedShares, settings.SampleRatioThreshold) : new SampleRatioCheck(0, ordered.Count - 1, 1, false));

        // The winner: enough data everywhere, a healthy split, and a significant lift in conversion rate.
        string? winner = null;
        string evidence;
        var small = ordered.Where(a => a.Recipients < settings.MinimumRecipientsPerVariant).Select(a => a.Name).ToList();
        var mode = settings.Sequential ? "always-valid" : "fixed-horizon";
        if (srm.Mismatch)
        {
            evidence = string.Create(CultureInfo.InvariantCulture, $"no winner: sample ratio mismatch (chi-square {srm.ChiSquare:0.##}, p {PValueText(srm.PValue, 4)}); check the assignment before reading results");
        }
        else if (small.Count > 0)
        {
            evidence = $"no winner yet: {string.Join(", ", small)} below {settings.MinimumRecipientsPerVariant} recipients";
        }
        else if (verdicts.Where(v => v.VersusControl is { Significant: true, RateDifference: > 0 }).MaxBy(v => v.ConversionRate) is { } best)
        {
            winner = best.Name;
            var d = best.VersusControl!;
            // The interval beside the p-value is the one of the same mode: in always-valid mode the confidence sequence
            // (inside [−1, 1]), since the fixed-horizon interval is not valid when the verdict is read every day.
            var shown = settings.Sequential
                ? new Interval(Math.Max(-1, d.RateSequentialInterval.Lower), Math.Min(1, d.RateSequentialInterval.Upper))
                : d.RateDifferenceInterval;
            evidence = string.Create(CultureInfo.InvariantCulture,
                $"{best.Name} wins: conversion {best.ConversionRate * 100:0.00}% vs {verdicts[0].ConversionRate * 100:0.00}% ({control}), difference {d.RateDifference * 100:+0.00;-0.00} pp [{shown.Lower * 100:0.00}, {shown.Upper * 100:0.00}], " +
                $"{mode} p {PValueText(settings.Sequential ? d.RateAlwaysValidPValue : d.RatePValue, 5)}{Corrected(comparisons)}, n = {best.Recipients}/{verdicts[0].Recipients}");
        }
        else
        {
            evidence = $"no winner: no variant beats {control} significantly ({mode}, α = {alpha.ToString("0.###", CultureInfo.InvariantCulture)}{Corrected(comparisons)})";
        }

        return new ExperimentVerdict(experimentId, control, verdicts, srm, settings.Sequential, winner, evidence);
    }

    /// <summary>
    /// "= 0.0123", or "&lt; 0.0001" for a p-value too small for <paramref name="decimals"/> places (it printed as "p = 0", a
    /// certainty no test gives).
    /// </summary>
    internal static string PValueText(double p, int decimals)
    {
        var smallest = Math.Pow(10, -decimals);
        return p < smallest
            ? "< " + smallest.ToString("0." + new string('0', decimals), CultureInfo.InvariantCulture)
            : "= " + p.ToString("0." + new string('#', decimals), CultureInfo.InvariantCulture);
    }

    private static string Corrected(int comparisons) =>
        comparisons == 1 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", Bonferroni-corrected for {comparisons} comparisons");

    private static VariantVerdict Arm(VariantObservation a, VariantComparison? comparison, double z, double alpha)
    {
        var n = (double)a.Recipients;
        var rate = n == 0 ? 0 : a.Conversions / n;
        var (mean, variance) = Moments(a);
        var half = a.Recipients > 1 && variance == 0 ? 0 : a.Recipients > 1 ? Distributions.StudentTQuantile(1 - (alpha / 2), n - 1) * Math.Sqrt(variance / n) : double.PositiveInfinity;
        return new VariantVerdict(a.Name, a.Recipients, a.Conversions, rate, Wilson(a.Conversions, a.Recipients, z), mean,
            a.Recipients > 1 ? new Interval(mean - half, mean + half) : new Interval(double.NegativeInfinity, double.PositiveInfinity), comparison);
    }

    /// <summary>The Wilson score interval of a proportion.</summary>
    internal static Interval Wilson(long successes, long n, double z)
    {
        if (n == 0)
        {
            return new Interval(0, 1);
        }

        var p = (double)successes / n;
        var z2 = z * z;
        var centre = (p + (z2 / (2 * n))) / (1 + (z2 / n));
        var half = z / (1 + (z2 / n)) * Math.Sqrt((p * (1 - p) / n) + (z2 / (4.0 * n * n)));
        // The interval holds the rate: exactly 0 below none and 1 above all (the closed form), where rounding left
        // 6,973 of 6,973 with an upper bound of 0.9999999999999998, below the rate it bounds.
        return new Interval(successes == 0 ? 0 : Math.Max(0, Math.Min(p, centre - half)), successes == n ? 1 : Math.Min(1, Math.Max(p, centre + half)));
    }

    // Mean and sample variance of revenue per recipient from the sums.
    private static (double Mean, double Variance) Moments(VariantObservation a)
    {
        if (a.Recipients == 0)
        {
            return (0, 0);
        }

        var n = (double)a.Recipients;
        var mean = a.Revenue / n;
        var variance = a.Recipients > 1 ? Math.Max(0, (a.RevenueSquares - (n * mean * mean)) / (n - 1)) : 0;
        return (mean, variance);
    }

    private static VariantComparison Compare(VariantObservation v, VariantObservation c, double z, double alpha, ExperimentSettings settings, double pooledRate)
    {
        double n1 = v.Recipients, n0 = c.Recipients;
        var p1 = n1 == 0 ? 0 : v.Conversions / n1;
        var p0 = n0 == 0 ? 0 : c.Conversions / n0;
        // From the counts, not from rates: with 6 of 10¹⁰ converting, 1 − p keeps only six of its digits, so the test read
        // from non-conversions (or with the arms swapped) differed in the sixth digit. Exact in 128 bits, then one rounding.
        var diff = n1 == 0 || n0 == 0 ? p1 - p0
            : (double)(((Int128)v.Conversions * c.Recipients) - ((Int128)c.Conversions * v.Recipients)) / (n1 * n0);
        var q1 = n1 == 0 ? 0 : (v.Recipients - v.Conversions) / n1;
        var q0 = n0 == 0 ? 0 : (c.Recipients - c.Conversions) / n0;

        // Two-proportion z-test (pooled), Wald interval (unpooled).
        var pooled = (n0 + n1) == 0 ? 0 : (v.Conversions + c.Conversions) / (n0 + n1);
        var pooledNot = (n0 + n1) == 0 ? 0 : (v.Recipients - v.Conversions + c.Recipients - c.Conversions) / (n0 + n1);
        var sePooled = Math.Sqrt(pooled * pooledNot * ((1 / Math.Max(n1, 1)) + (1 / Math.Max(n0, 1))));
        // The z-test's normal approximation claims too much where a cell of the 2×2 table expects fewer than 5 people
        // (4 of 10 against 0 of 10 read p = 0.025; 5 of 1,000 against none p = 0.025): there Fisher's exact test answers.
        var pRate = SmallestExpectedCell(v, c) < 5
            ? FisherExactTwoSided(v.Conversions, v.Recipients, c.Conversions, c.Recipients)
            : sePooled > 0 ? Distributions.NormalTwoSided(diff / sePooled) : 1;
        var varUnpooled = (n1 > 0 ? p1 * q1 / n1 : 0) + (n0 > 0 ? p0 * q0 / n0 : 0);
        var se = Math.Sqrt(varUnpooled);
        var rateInterval = new Interval(diff - (z * se), diff + (z * se));
        if (!(se > 0) || rateInterval.Lower < -1 || rateInterval.Upper > 1)
        {
            // The Wald interval fails exactly where the Wilson one was chosen for the rates: it collapses to a point when
            // every rate is 0 or 1 (0 of 500 against 0 of 500 "is" a difference of exactly 0) and leaves [−1, 1] on small
            // samples. There the hybrid score interval of the difference takes over (Newcombe 1998, method 10, from the
            // arms' Wilson intervals): never empty, inside [−1, 1], and holding the estimate.
            var w1 = Wilson(v.Conversions, v.Recipients, z);
            var w0 = Wilson(c.Conversions, c.Recipients, z);
            var below = Math.Sqrt(((p1 - w1.Lower) * (p1 - w1.Lower)) + ((w0.Upper - p0) * (w0.Upper - p0)));
            var above = Math.Sqrt(((w1.Upper - p1) * (w1.Upper - p1)) + ((p0 - w0.Lower) * (p0 - w0.Lower)));
            rateInterval = new Interval(Math.Max(-1, diff - below), Math.Min(1, diff + above));
        }

        // mSPRT with a normal mixture N(0, τ²) over the difference (Johari et al. 2017, eq. for normal data).
        var tau = settings.MixtureStandardDeviation ?? Math.Max(0.1 * pooledRate, 1e-4);
        // The unpooled variance, or the pooled one where it vanishes (every rate 0 or 1), so a total difference still counts.
        var (rateAlwaysValid, rateSequential) = Mixture(diff, varUnpooled > 0 ? varUnpooled : sePooled * sePooled, tau, alpha);

        // Welch's t-test on revenue per recipient.
        var (m1, s1) = Moments(v);
        var (m0, s0) = Moments(c);
        var revenueDiff = m1 - m0;
        var a1 = n1 > 1 ? s1 / n1 : 0;
        var a0 = n0 > 1 ? s0 / n0 : 0;
        var seRevenue = Math.Sqrt(a1 + a0);
        double pRevenue;
        Interval revenueInterval;
        if (seRevenue > 0 && n1 > 1 && n0 > 1)
        {
            var df = ((a1 + a0) * (a1 + a0)) / ((a1 * a1 / (n1 - 1)) + (a0 * a0 / (n0 - 1)));
            pRevenue = Distributions.StudentTTwoSided(revenueDiff / seRevenue, df);
            var t = Distributions.StudentTQuantile(1 - (alpha / 2), df);
            revenueInterval = new Interval(revenueDiff - (t * seRevenue), revenueDiff + (t * seRevenue));
        }
        else
        {
            pRevenue = 1;
            revenueInterval = new Interval(double.NegativeInfinity, double.PositiveInfinity);
        }

        var revenueTau = Math.Max(0.1 * Math.Abs((v.Revenue + c.Revenue) / Math.Max(1, n0 + n1)), 1e-9);
        var (revenueAlwaysValid, _) = Mixture(revenueDiff, a1 + a0, revenueTau, alpha);
        var significant = (settings.Sequential ? rateAlwaysValid : pRate) < alpha;
        return new VariantComparison(diff, rateInterval, pRate, rateAlwaysValid, rateSequential, revenueDiff, revenueInterval, pRevenue, revenueAlwaysValid, significant);
    }

    // The smallest count a cell of the arms' 2×2 table (converted or not, by arm) expects when the rates are equal.
    private static double SmallestExpectedCell(VariantObservation v, VariantObservation c)
    {
        double n = v.Recipients + c.Recipients, k = v.Conversions + c.Conversions;
        if (n == 0)
        {
            return 0;
        }

        var smallerArm = Math.Min(v.Recipients, c.Recipients);
        return smallerArm * Math.Min(k, n - k) / n;
    }

    /// <summary>
    /// Fisher's exact test of a 2×2 table, two-sided: the probability, with both margins fixed, of every table no more
    /// likely than the one seen. Its support has at most √(5N) + 1 tables where a cell expects fewer than 5.
    /// </summary>
    /// <remarks>
    /// The tables' probabilities are walked by the ratio of neighbours (relative to the first table) and normalised by
    /// their sum, so they are exact to rounding at any N and sum to 1: log-binomials of 10¹¹ recipients lose digits past
    /// the 1e-7 tie tolerance (2 of 10¹¹ against 1 read 0.9992, not 1).
    /// </remarks>
    internal static double FisherExactTwoSided(long x1, long n1, long x0, long n0)
    {
        var n = n1 + n0;
        var k = x1 + x0;
        if (n1 == 0 || n0 == 0 || k == 0 || k == n)
        {
            return 1;
        }

        var lo = Math.Max(0, n1 - (n - k));
        var hi = Math.Min(k, n1);

        // log P(x + 1) − log P(x) = log((k − x)(n1 − x)) − log((x + 1)(n − k − n1 + x + 1)).
        double Step(long x) => Math.Log(k - x) + Math.Log(n1 - x) - Math.Log(x + 1) - Math.Log(n - k - n1 + x + 1);
        double max = 0, observed = 0, l = 0;
        for (var x = lo; x <= hi; x++)
        {
            l = x == lo ? 0 : l + Step(x - 1);
            max = Math.Max(max, l);
            if (x == x1)
            {
                observed = l;
            }
        }

        double total = 0, p = 0;
        for (var x = lo; x <= hi; x++)
        {
            l = x == lo ? 0 : l + Step(x - 1);
            var weight = Math.Exp(l - max);
            total += weight;

            // Tables as likely as the one seen, within rounding, count (as R's fisher.test, relative 1e-7).
            if (l <= observed + 1e-7)
            {
                p += weight;
            }
        }

        return Math.Clamp(p / total, 0, 1);
    }

    private static double LogChoose(long n, long k) =>
        Distributions.LogGamma(n + 1.0) - Distributions.LogGamma(k + 1.0) - Distributions.LogGamma(n - k + 1.0);

    /// <summary>
    /// The mixture SPRT for a difference estimated as <paramref name="estimate"/> with variance <paramref name="variance"/>:
    /// Λ = √(V/(V+τ²))·exp(θ̂²τ²/(2V(V+τ²))); the always-valid p-value is min(1, 1/Λ) (by Ville's inequality the chance
    /// it ever falls below α under no difference is at most α), and the confidence sequence holds the θ with Λ(θ) &lt; 1/α.
    /// </summary>
    internal static (double PValue, Interval Sequence) Mixture(double estimate, double variance, double tau, double alpha)
    {
        if (!(variance > 0))
        {
            return (1, new Interval(double.NegativeInfinity, double.PositiveInfinity));
        }

        // In terms of r = τ²/V, so that a τ² past double's range (a wide mixture, τ = 1e200, or revenue in the 1e160s)
        // reads as the limit r → ∞ — Λ → 0, p = 1, an unbounded sequence — where the ratios of infinities gave NaN.
        var r = tau * tau / variance;
        var shrink = 1 / (1 + (1 / r)); // r/(1 + r), 1 at r = ∞ and 0 at r = 0
        var logLambda = (-0.5 * Math.Log(1 + r)) + (shrink == 0 ? 0 : estimate * estimate / (2 * variance) * shrink);
        var p = double.IsNaN(logLambda) ? 1 : Math.Min(1, Math.Exp(-logLambda));
        var half = Math.Sqrt(variance * (1 + (1 / r)) * ((2 * Math.Log(1 / alpha)) + Math.Log(1 + r)));
        return (p, new Interval(estimate - half, estimate + half));
    }

    internal static SampleRatioCheck SampleRatio(IReadOnlyList<VariantObservation> arms, IReadOnlyDictionary<string, double>? shares, double threshold)
    {
        var total = arms.Sum(a => (double)a.Recipients);
        var weightSum = shares is null ? arms.Count : arms.Sum(a => shares[a.Name]);
        var chi = 0.0;
        foreach (var a in arms)
        {
            var expected = total * (shares is null ? 1 : shares[a.Name]) / weightSum;
            if (expected > 0)
            {
                chi += (a.Recipients - expected) * (a.Recipients - expected) / expected;
            }
        }

        var df = arms.Count - 1;
        var p = total == 0 ? 1 : SmallArmsPValue(arms, shares, weightSum, total) ?? Distributions.ChiSquareUpperTail(chi, df);
        return new SampleRatioCheck(chi, df, p, p < threshold);
    }

    // Where an arm expects fewer than 5 recipients (a 1 % hold-out of 300 people expects 3) the chi-square's approximation
    // overstates a small deviation: 9 instead of 3 read p = 0.0005, an alarm, where the binomial gives 0.008. Each such arm
    // is tested exactly (binomial, two-sided) and the other arms together by the chi-square of their own split, the
    // smallest p-value Bonferroni-corrected for the number of tests. Null when every arm expects 5 or more.
    private static double? SmallArmsPValue(IReadOnlyList<VariantObservation> arms, IReadOnlyDictionary<string, double>? shares, double weightSum, double total)
    {
        double Share(VariantObservation a) => (shares is null ? 1 : shares[a.Name]) / weightSum;
        var small = arms.Where(a => total * Share(a) < 5).ToList();
        if (small.Count == 0)
        {
            return null;
        }

        var pValues = small.Select(a => BinomialTwoSided(a.Recipients, (long)total, Share(a))).ToList();
        var large = arms.Where(a => total * Share(a) >= 5).ToList();
        if (large.Count >= 2)
        {
            var largeTotal = large.Sum(a => (double)a.Recipients);
            var largeShare = large.Sum(Share);
            var chi = 0.0;
            foreach (var a in large)
            {
                var expected = largeTotal * Share(a) / largeShare;
                if (expected > 0)
                {
                    chi += (a.Recipients - expected) * (a.Recipients - expected) / expected;
                }
            }

            pValues.Add(largeTotal == 0 ? 1 : Distributions.ChiSquareUpperTail(chi, large.Count - 1));
        }

        // Two arms are one test (the small arm's count fixes the other's).
        var tests = arms.Count == 2 ? 1 : pValues.Count;
        return Math.Min(1, tests * pValues.Min());
    }

    // Two-sided exact binomial test of k successes in n at rate p (a mean below 5): twice the tail on k's side of the
    // mean, summed term by term until the terms vanish (they shrink at least geometrically away from the mean).
    private static double BinomialTwoSided(long k, long n, double p)
    {
        if (p >= 1)
        {
            return k == n ? 1 : 0;
        }

        double LogPmf(long x) => LogChoose(n, x) + (x * Math.Log(p)) + ((n - x) * Math.Log(1 - p));
        var tail = 0.0;
        if (k <= n * p)
        {
            for (var x = 0L; x <= k; x++)
            {
                tail += Math.Exp(LogPmf(x));
            }
        }
        else
        {
            for (var x = k; x <= n; x++)
            {
                var term = Math.Exp(LogPmf(x));
                tail += term;
                if (term <= tail * 1e-17 || term == 0)
                {
                    break;
                }
            }
        }

        return Math.Min(1, 2 * tail);
    }
}
