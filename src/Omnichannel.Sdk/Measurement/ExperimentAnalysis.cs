using System.Globalization;

namespace Omnichannel.Sdk.Measurement;

/// <summary>Computes experiment verdicts from arm totals. Pure; the tests check every number against MathNet.Numerics.</summary>
public static partial class ExperimentAnalysis
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
}
