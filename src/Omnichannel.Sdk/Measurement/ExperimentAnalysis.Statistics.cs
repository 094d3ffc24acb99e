namespace Omnichannel.Sdk.Measurement;

// The exact and sequential tests behind the verdicts: Fisher's exact test, the mixture sequential probability ratio
// test, and the sample-ratio check (chi-square, or exact binomials for small arms).
public static partial class ExperimentAnalysis
{
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
