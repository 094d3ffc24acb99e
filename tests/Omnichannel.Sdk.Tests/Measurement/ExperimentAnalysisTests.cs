using MathNet.Numerics.Distributions;
using Omnichannel.Sdk.Measurement;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>Verdict numbers against MathNet.Numerics; simulated A/A and A/B experiments for error rates and power.</summary>
public sealed class ExperimentAnalysisTests
{
    [Theory]
    [InlineData(-8.0)]
    [InlineData(-1.96)]
    [InlineData(-0.3)]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(2.5758)]
    [InlineData(6.0)]
    public void NormalCdf_EqualsMathNet(double z) => Assert.Equal(Normal.CDF(0, 1, z), Distributions.NormalCdf(z), 13);

    [Theory]
    [InlineData(1.2, 1.0)]
    [InlineData(-2.1, 3.0)]
    [InlineData(2.0, 9.5)]
    [InlineData(0.4, 120.0)]
    [InlineData(-3.3, 4321.7)]
    public void StudentT_EqualsMathNet(double t, double df)
    {
        Assert.Equal(StudentT.CDF(0, 1, df, t), Distributions.StudentTCdf(t, df), 11);
        Assert.Equal(StudentT.InvCDF(0, 1, df, 0.975), Distributions.StudentTQuantile(0.975, df), 8);
    }

    [Theory]
    [InlineData(0.5, 1)]
    [InlineData(3.84, 1)]
    [InlineData(13.8, 2)]
    [InlineData(40.0, 5)]
    public void ChiSquare_EqualsMathNet(double x, int df) => Assert.Equal(1 - ChiSquared.CDF(df, x), Distributions.ChiSquareUpperTail(x, df), 11);

    [Fact]
    public void NormalQuantile_EqualsMathNet() => Assert.Equal(Normal.InvCDF(0, 1, 0.975), Distributions.NormalQuantile(0.975), 10);

    [Fact]
    public void Verdict_NumbersEqualAnIndependentComputation()
    {
        var control = new VariantObservation("control", 2000, 200, 9000, 1_200_000);
        var b = new VariantObservation("b", 2100, 260, 11_500, 1_500_000);
        var v = ExperimentAnalysis.Evaluate("welcome", [b, control], "control", new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = 100 });

        var z = Normal.InvCDF(0, 1, 0.975);
        Assert.Equal(["control", "b"], v.Variants.Select(x => x.Name));
        var arm = v.Variants[1];
        Assert.Equal(260 / 2100.0, arm.ConversionRate, 15);

        // Wilson (1927): (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n).
        double n = 2100, p = 260 / 2100.0;
        var centre = (p + (z * z / (2 * n))) / (1 + (z * z / n));
        var half = z * Math.Sqrt((p * (1 - p) / n) + (z * z / (4 * n * n))) / (1 + (z * z / n));
        Assert.Equal(centre - half, arm.ConversionRateInterval.Lower, 12);
        Assert.Equal(centre + half, arm.ConversionRateInterval.Upper, 12);

        // Revenue per recipient: t interval with the sample variance.
        var mean = 11_500 / n;
        var variance = (1_500_000 - (n * mean * mean)) / (n - 1);
        var t = StudentT.InvCDF(0, 1, n - 1, 0.975);
        Assert.Equal(mean, arm.RevenuePerRecipient, 12);
        Assert.Equal(mean - (t * Math.Sqrt(variance / n)), arm.RevenuePerRecipientInterval.Lower, 7);

        // Two-proportion z-test with the pooled rate; Wald interval of the difference.
        var c = v.Variants[0];
        var diff = p - 0.1;
        var pooled = 460 / 4100.0;
        var zStat = diff / Math.Sqrt(pooled * (1 - pooled) * ((1 / n) + (1 / 2000.0)));
        var d = arm.VersusControl!;
        Assert.Equal(diff, d.RateDifference, 15);
        Assert.Equal(2 * (1 - Normal.CDF(0, 1, Math.Abs(zStat))), d.RatePValue, 11);
        var se = Math.Sqrt((p * (1 - p) / n) + (0.1 * 0.9 / 2000));
        Assert.Equal(diff - (z * se), d.RateDifferenceInterval.Lower, 12);

        // Welch's t-test.
        var m0 = 9000 / 2000.0;
        var v0 = (1_200_000 - (2000 * m0 * m0)) / 1999;
        double a1 = variance / n, a0 = v0 / 2000;
        var df = (a1 + a0) * (a1 + a0) / ((a1 * a1 / (n - 1)) + (a0 * a0 / 1999));
        var welch = (mean - m0) / Math.Sqrt(a1 + a0);
        Assert.Equal(2 * (1 - StudentT.CDF(0, 1, df, Math.Abs(welch))), d.RevenuePValue, 10);
        Assert.Equal(mean - m0 - (StudentT.InvCDF(0, 1, df, 0.975) * Math.Sqrt(a1 + a0)), d.RevenueDifferenceInterval.Lower, 7);

        // mSPRT (Johari et al. 2017): Λ = √(V/(V+τ²))·exp(θ̂²τ²/(2V(V+τ²))), τ = 10% of the pooled rate.
        var tau2 = Math.Pow(0.1 * pooled, 2);
        var lambda = Math.Sqrt(se * se / ((se * se) + tau2)) * Math.Exp(diff * diff * tau2 / (2 * se * se * ((se * se) + tau2)));
        Assert.Equal(Math.Min(1, 1 / lambda), d.RateAlwaysValidPValue, 12);

        // Sample ratio: equal planned shares; 2000 vs 2100.
        var chi = (2 * Math.Pow(50, 2)) / 2050;
        Assert.Equal(chi, v.SampleRatio.ChiSquare, 12);
        Assert.Equal(1 - ChiSquared.CDF(1, chi), v.SampleRatio.PValue, 11);
        Assert.False(v.SampleRatio.Mismatch);
        Assert.Equal(2000, c.Recipients);
    }

    [Fact]
    public void SampleRatioMismatch_IsFlagged_AndBlocksAWinner()
    {
        var v = ExperimentAnalysis.Evaluate("x", [new("control", 5000, 500), new("b", 5400, 800)], "control",
            new ExperimentSettings { MinimumRecipientsPerVariant = 100 });
        Assert.True(v.SampleRatio.Mismatch); // p ≈ 9e-5 < 0.001
        Assert.Null(v.Winner);
        Assert.StartsWith("no winner: sample ratio mismatch", v.Evidence);

        var planned = ExperimentAnalysis.Evaluate("x", [new("control", 5000, 500), new("b", 5400, 800)], "control",
            new ExperimentSettings { MinimumRecipientsPerVariant = 100 }, new Dictionary<string, double> { ["control"] = 50, ["b"] = 54 });
        Assert.False(planned.SampleRatio.Mismatch);
        Assert.Equal("b", planned.Winner);
        Assert.StartsWith("b wins: conversion 14.81% vs 10.00% (control)", planned.Evidence);
    }

    [Fact]
    public void Winner_WaitsForTheMinimumSample()
    {
        var v = ExperimentAnalysis.Evaluate("x", [new("control", 900, 90), new("b", 900, 180)], "control");
        Assert.Null(v.Winner);
        Assert.Equal("no winner yet: control, b below 1000 recipients", v.Evidence);
    }

    [Fact]
    public void BadInput_IsRefusedNamingTheField()
    {
        var ex = Assert.Throws<ArgumentException>(() => ExperimentAnalysis.Evaluate("x", [new("control", 10, 11), new("control", 5, 1)], "nobody", new ExperimentSettings { Confidence = 1.5 }));
        Assert.Contains("settings.Confidence must be in (0.5, 1)", ex.Message);
        Assert.Contains("arms[0] ('control'): conversions must be between 0 and recipients (was 11 of 10)", ex.Message);
        Assert.Contains("arms: names must be unique", ex.Message);
        Assert.Contains("control: 'nobody' is not one of the arms", ex.Message);
    }

    [Fact]
    public void AaTests_FixedHorizonFalsePositivesAreAboutFivePercent_SequentialAtMostFiveUnderDailyPeeking()
    {
        const int experiments = 1000, days = 20, perDay = 150;
        var random = new Random(20261130);
        int fixedHorizon = 0, sequential = 0, naivePeeking = 0;
        var settings = new ExperimentSettings { Sequential = true, MinimumRecipientsPerVariant = 100 };
        for (var e = 0; e < experiments; e++)
        {
            long n = 0, c0 = 0, c1 = 0;
            bool sequentialHit = false, naiveHit = false;
            ExperimentVerdict? last = null;
            for (var day = 0; day < days; day++)
            {
                n += perDay;
                c0 += Binomial(random, perDay, 0.1);
                c1 += Binomial(random, perDay, 0.1);
                last = ExperimentAnalysis.Evaluate("aa", [new("control", n, c0), new("b", n, c1)], "control", settings);
                var d = last.Variants[1].VersusControl!;
                sequentialHit |= d.RateAlwaysValidPValue < 0.05;
                naiveHit |= d.RatePValue < 0.05;
            }

            fixedHorizon += last!.Variants[1].VersusControl!.RatePValue < 0.05 ? 1 : 0;
            sequential += sequentialHit ? 1 : 0;
            naivePeeking += naiveHit ? 1 : 0;
        }

        Assert.InRange(fixedHorizon / (double)experiments, 0.035, 0.065); // 5% ± 2.2 standard errors
        Assert.True(sequential / (double)experiments <= 0.05, $"sequential false-positive rate {sequential / (double)experiments}");
        Assert.True(naivePeeking > 2 * fixedHorizon, $"peeking at fixed-horizon p-values should inflate errors: {naivePeeking} vs {fixedHorizon}"); // why the sequential mode exists
    }

    [Fact]
    public void AbTests_WithAKnownLift_ReachTheExpectedPower()
    {
        const int experiments = 1000, n = 4000;
        const double p0 = 0.10, p1 = 0.12;
        var random = new Random(7);
        var found = 0;
        var settings = new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = 100 };
        for (var e = 0; e < experiments; e++)
        {
            var v = ExperimentAnalysis.Evaluate("ab", [new("control", n, Binomial(random, n, p0)), new("b", n, Binomial(random, n, p1))], "control", settings);
            found += v.Winner == "b" ? 1 : 0;
        }

        // Power of the two-sided z-test: Φ(|δ|/se − z₀.₉₇₅) + Φ(−|δ|/se − z₀.₉₇₅).
        var se = Math.Sqrt((p0 * (1 - p0) / n) + (p1 * (1 - p1) / n));
        var z = Normal.InvCDF(0, 1, 0.975);
        var power = Normal.CDF(0, 1, (0.02 / se) - z) + Normal.CDF(0, 1, (-0.02 / se) - z);
        Assert.InRange(found / (double)experiments, power - 0.04, power + 0.04); // ≈ 0.81 ± 3 standard errors
    }

    private static long Binomial(Random random, int n, double p)
    {
        long k = 0;
        for (var i = 0; i < n; i++)
        {
            k += random.NextDouble() < p ? 1 : 0;
        }

        return k;
    }
}
