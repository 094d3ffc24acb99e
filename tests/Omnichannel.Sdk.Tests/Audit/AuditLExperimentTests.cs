using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit L: verdicts stay honest with more than two arms and with an arm that received nobody.</summary>
public sealed class AuditLExperimentTests
{
    [Fact]
    public void ThreeArms_ALiftSignificantOnlyWithoutCorrection_DeclaresNoWinner()
    {
        // b against control: p ≈ 0.036 (two-proportion z-test) — significant for one comparison, not for two (α/2 = 0.025).
        var control = new VariantObservation("control", 1000, 100);
        var b = new VariantObservation("b", 1000, 130);
        var c = new VariantObservation("c", 1000, 100);
        var settings = new ExperimentSettings { Sequential = false, MinimumRecipientsPerVariant = 100 };

        var two = ExperimentAnalysis.Evaluate("x", [control, b], "control", settings);
        Assert.Equal("b", two.Winner);

        var three = ExperimentAnalysis.Evaluate("x", [control, b, c], "control", settings);
        Assert.Null(three.Winner);
        Assert.False(three.Variants.Single(v => v.Name == "b").VersusControl!.Significant);
        Assert.True(three.Variants.Single(v => v.Name == "b").VersusControl!.RateDifferenceInterval.Contains(0));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ManyArms_AaTests_DeclareAFalseWinnerAtMostAlphaOfTheTime(bool sequential)
    {
        // 400 seeded A/A experiments with ten variants against control, all converting at 10 %: the chance that any
        // variant is declared the winner (the family-wise error) must stay near α = 5 %, not 1 − 0.95^10 ≈ 40 %.
        var random = new Random(20240611);
        var settings = new ExperimentSettings { Sequential = sequential, MinimumRecipientsPerVariant = 100 };
        var falseWinners = 0;
        const int runs = 400;
        for (var run = 0; run < runs; run++)
        {
            var arms = new List<VariantObservation>();
            for (var arm = 0; arm <= 10; arm++)
            {
                var conversions = 0;
                for (var i = 0; i < 1000; i++)
                {
                    conversions += random.NextDouble() < 0.1 ? 1 : 0;
                }

                arms.Add(new VariantObservation(arm == 0 ? "control" : "v" + arm, 1000, conversions));
            }

            falseWinners += ExperimentAnalysis.Evaluate("aa", arms, "control", settings).Winner is null ? 0 : 1;
        }

        Assert.True(falseWinners <= runs * 0.08, $"{falseWinners} of {runs} A/A experiments declared a winner");
    }

    private static JourneyDefinition ThreeWay() => JourneyRig.Parse("""
        {"id": "three", "version": 1, "name": "Three", "trigger": {"type": "event", "event": "user.signed_up"},
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "send"}, {"name": "b", "weight": 1, "next": "send"}, {"name": "c", "weight": 1, "next": "send"}]},
                   {"id": "send", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
        """);

    [Fact]
    public async Task APlannedArmThatReceivedNobody_IsASampleRatioMismatch_NotAHealthySplit()
    {
        // A broken assignment sent nobody to c (planned a third of entrants): the two arms that exist look balanced, but
        // the split is not what was planned and no verdict may be read from it.
        await using var rig = JourneyRig.Create([ThreeWay()]);
        var day = DateOnly.FromDateTime(rig.Host.Time.GetUtcNow().UtcDateTime);
        MeasurementDelta Row(string metric, long count) => new(new MeasurementKey("three", "", "", "", "", day, "journey:variant:" + metric), count, 0);
        await rig.Host.Store.CommitAsync(new ProfileCommit
        {
            ProfileId = "audit-l-rows",
            ExpectedVersion = 0,
            Document = [(byte)'{', (byte)'}'],
            EventId = "audit-l-rows",
            ProcessedAt = rig.Host.Time.GetUtcNow(),
            Measurements = [Row("a:converted", 150), Row("a:entered", 1500), Row("b:converted", 260), Row("b:entered", 1500)],
        });

        var verdict = await rig.Engine.GetExperimentVerdictAsync("three", new ExperimentSettings { MinimumRecipientsPerVariant = 100 });
        Assert.NotNull(verdict);
        Assert.True(verdict.SampleRatio.Mismatch, verdict.Evidence);
        Assert.Null(verdict.Winner);
        Assert.Contains(verdict.Variants, v => v.Name == "c" && v.Recipients == 0);
    }
}
