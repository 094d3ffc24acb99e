using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: variant names the measurement keys cannot tell apart.</summary>
public sealed class AuditVariantNameTests
{
    private static string Json(string a, string b, string control) => $$"""
        {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "{{a}}", "weight": 1, "next": "send-a"}, {"name": "{{b}}", "weight": 1, "next": "send-b"}]{{control}}},
                   {"id": "send-a", "type": "send", "channels": ["email"], "template": "promo-a", "class": "transactional"},
                   {"id": "end-a", "type": "exit"},
                   {"id": "send-b", "type": "send", "channels": ["email"], "template": "promo-b", "class": "transactional"}]}
        """;

    [Fact]
    public async Task AVariantNameWithAColon_IsAnArmOfTheVerdict_AndOfTheStatistics()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Json("subject:short", "subject:long", ""))]);
        for (var i = 0; i < 40; i++)
        {
            await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("c" + i), Identifier.Email($"c{i}@example.com")]);
        }

        var stats = await rig.Engine.GetJourneyStatisticsAsync("promo");
        Assert.Equal(40, stats.Entered);
        var verdict = await rig.Engine.GetExperimentVerdictAsync("promo", new ExperimentSettings { MinimumRecipientsPerVariant = 2 });
        Assert.NotNull(verdict); // two arms have entrants
        Assert.Equal(["subject:long", "subject:short"], verdict.Variants.Select(v => v.Name).Order(StringComparer.Ordinal));
        Assert.Equal(40, verdict.Variants.Sum(v => v.Recipients));
    }

    [Fact]
    public void AVariantNamedControl_BesideAHoldOutControlGroup_IsRefusedWithItsPath()
    {
        var result = JourneyJson.Parse(Json("control", "b", ", \"controlWeight\": 1"));
        Assert.False(result.IsValid, "the variant 'control' and the hold-out 'control' would share one arm in the verdict and statistics");
        Assert.Contains(result.Errors, e => e.Path.StartsWith("$.steps[0]", StringComparison.Ordinal));
    }
}
