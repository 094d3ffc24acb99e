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
