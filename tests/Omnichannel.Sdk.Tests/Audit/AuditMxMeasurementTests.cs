using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit Mx: verdict intervals that claim certainty or leave their range, and a split that hides its mismatch.</summary>
public sealed class AuditMxMeasurementTests
{
    [Fact]
    public void NoConversionsInEitherArm_TheRateDifferenceInterval_IsNotAPoint()
    {
        // 0 of 300 against 0 of 300: the data rule out a large difference, not every difference; Wald said [0, 0].
        var v = ExperimentAnalysis.Evaluate("x", [new("control", 300, 0), new("b", 300, 0)], "control",
            new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = 100 });
        var d = v.Variants[1].VersusControl!;
        Assert.True(d.RateDifferenceInterval.Upper - d.RateDifferenceInterval.Lower > 0.01, d.RateDifferenceInterval.ToString());
        Assert.True(d.RateDifferenceInterval.Contains(0));
    }

    [Fact]
    public void SmallArms_TheRateDifferenceInterval_StaysInsideMinusOneToOne()
    {
        // 1 of 2 against 0 of 3: Wald gives 0.5 ± 1.96·0.354 = [−0.19, 1.19], past a difference of 100 points.
        var v = ExperimentAnalysis.Evaluate("x", [new("control", 3, 0), new("b", 2, 1)], "control",
            new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = 2 });
        var i = v.Variants[1].VersusControl!.RateDifferenceInterval;
        Assert.InRange(i.Upper, 0.5, 1);
        Assert.InRange(i.Lower, -1, 0.5);
    }

    [Property(MaxTest = 300)]
    public bool RateDifferenceInterval_IsInsideMinusOneToOne_AndHoldsTheEstimate_ForEveryCount(byte a, byte b, byte c, byte d)
    {
        int n0 = 1 + (a % 60), k0 = b % (n0 + 1), n1 = 1 + (c % 60), k1 = d % (n1 + 1);
        var v = ExperimentAnalysis.Evaluate("x", [new("control", n0, k0), new("b", n1, k1)], "control",
            new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = 2 });
        var vs = v.Variants[1].VersusControl!;
        var i = vs.RateDifferenceInterval;
        return i.Lower >= -1 && i.Upper <= 1 && i.Contains(vs.RateDifference) && i.Upper > i.Lower
            && vs.RatePValue is >= 0 and <= 1 && vs.RateAlwaysValidPValue is >= 0 and <= 1;
    }

    [Theory]
    [InlineData(0.99999, 1.0)]
    [InlineData(0.999999, 2.0)]
    [InlineData(0.975, 1.0)]
    public void StudentTQuantile_FarInTheTail_EqualsTheClosedForm(double p, double df)
    {
        // Closed forms (MathNet's own inverse gives up this far out): tan(π(p − ½)) for one degree of freedom,
        // (2p − 1)/√(2p(1 − p)) for two.
        var exact = df == 1 ? Math.Tan(Math.PI * (p - 0.5)) : ((2 * p) - 1) / Math.Sqrt(2 * p * (1 - p));
        Assert.Equal(1, Distributions.StudentTQuantile(p, df) / exact, 5);
    }

    [Fact]
    public void TwoRecipients_AtHighConfidence_TheRevenueIntervalIsNotCutShort()
    {
        // Revenue 0 and 1: mean 0.5, s² = 0.5, standard error 0.5; t(0.999995, 1) ≈ 63,662, so the half-width is ≈ 31,831.
        // The quantile's fixed bracket of ±10⁴ made it 5,000: an interval six times too narrow.
        var v = ExperimentAnalysis.Evaluate("x", [new("control", 2, 1, 1, 1), new("b", 2, 1, 1, 1)], "control",
            new ExperimentSettings { Confidence = 0.99999, MinimumRecipientsPerVariant = 2 });
        var expected = Math.Tan(Math.PI * (0.5 - (0.00001 / 2))) * 0.5;
        Assert.Equal(1, (v.Variants[0].RevenuePerRecipientInterval.Upper - 0.5) / expected, 5);
    }

    private static JourneyDefinition TwoWay() => JourneyRig.Parse("""
        {"id": "two", "version": 1, "name": "Two", "trigger": {"type": "event", "event": "user.signed_up"},
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "send"}, {"name": "b", "weight": 1, "next": "send"}]},
                   {"id": "send", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
        """);

    [Fact]
    public async Task EveryEntrantInOneArmOfAPlannedSplit_IsASampleRatioMismatch_NotNoVerdict()
    {
        // A broken assignment sent all 3,000 entrants of a 50/50 split to a: the verdict said nothing (null, "fewer than
        // two arms"), the same answer as an experiment nobody entered yet.
        await using var rig = JourneyRig.Create([TwoWay()]);
        Assert.Null(await rig.Engine.GetExperimentVerdictAsync("two"));

        var day = DateOnly.FromDateTime(rig.Host.Time.GetUtcNow().UtcDateTime);
        MeasurementDelta Row(string metric, long count) => new(new MeasurementKey("two", "", "", "", "", day, "journey:variant:" + metric), count, 0);
        await rig.Host.Store.CommitAsync(new ProfileCommit
        {
            ProfileId = "audit-mx-rows",
            ExpectedVersion = 0,
            Document = [(byte)'{', (byte)'}'],
            EventId = "audit-mx-rows",
            ProcessedAt = rig.Host.Time.GetUtcNow(),
            Measurements = [Row("a:converted", 300), Row("a:entered", 3000)],
        });

        var verdict = await rig.Engine.GetExperimentVerdictAsync("two", new ExperimentSettings { MinimumRecipientsPerVariant = 100 });
        Assert.NotNull(verdict);
        Assert.True(verdict.SampleRatio.Mismatch, verdict.Evidence);
        Assert.Null(verdict.Winner);
        Assert.Contains(verdict.Variants, v => v.Name == "b" && v.Recipients == 0);
    }

    [Fact]
    public async Task AGlobalControlGroupNobodyWasAssignedTo_IsASampleRatioMismatch_NotNoVerdict()
    {
        // A 20 % global control group that received nobody out of 5,000 people (a broken bucketing): the verdict said
        // nothing, as for a shop with no customers yet.
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.GlobalControlShare = 0.2);
        Assert.Null(await host.Engine.GetGlobalControlVerdictAsync());
        var epoch = DateOnly.FromDateTime(DateTime.UnixEpoch);
        await host.Store.CommitAsync(new ProfileCommit
        {
            ProfileId = "audit-mx-global",
            ExpectedVersion = 0,
            Document = [(byte)'{', (byte)'}'],
            EventId = "audit-mx-global",
            ProcessedAt = host.Time.GetUtcNow(),
            Measurements =
            [
                new(new MeasurementKey("$global", "", "treatment", "", "", epoch, "global:assigned"), 5000, 0),
                new(new MeasurementKey("$global", "", "treatment", "", "", epoch, "global:converted:order"), 400, 20_000),
            ],
        });

        var verdict = await host.Engine.GetGlobalControlVerdictAsync(settings: new ExperimentSettings { MinimumRecipientsPerVariant = 100 });
        Assert.NotNull(verdict);
        Assert.True(verdict.SampleRatio.Mismatch, verdict.Evidence);
        Assert.Null(verdict.Winner);
        Assert.Equal(0, verdict.Variants.Single(v => v.Name == "control").Recipients);
    }
}
