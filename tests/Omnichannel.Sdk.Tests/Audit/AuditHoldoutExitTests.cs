using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: the hold-out and the treated arm must be measured alike around the journey's exit criteria.</summary>
public sealed class AuditHoldoutExitTests
{
    private const string Json = """
        {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
         "exit": [{"event": "support.ticket_opened"}],
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "wait"}], "controlWeight": 1},
                   {"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "send-a", "type": "send", "channels": ["email"], "template": "promo-a", "class": "transactional"}]}
        """;

    [Fact]
    public async Task PeopleWhoDoExactlyTheSame_ConvertAlikeInTheTreatedArmAndTheHoldOut()
    {
        await using var rig = JourneyRig.Create([JourneyRig.Parse(Json)]);
        for (var i = 0; i < 40; i++)
        {
            var id = Identifier.CustomerId("c" + i);
            await rig.TrackAsync("user.signed_up", [id, Identifier.Email($"c{i}@example.com")]);
        }

        // Everyone opens a support ticket ten minutes in (the exit criterion), then everyone orders the next day.
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        for (var i = 0; i < 40; i++)
        {
            await rig.TrackAsync("support.ticket_opened", [Identifier.CustomerId("c" + i)]);
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        for (var i = 0; i < 40; i++)
        {
            await rig.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("c" + i)], new { order_id = "o" + i, total = 20 });
        }

        var verdict = await rig.Engine.GetExperimentVerdictAsync("promo", new ExperimentSettings { MinimumRecipientsPerVariant = 2 });
        Assert.NotNull(verdict);
        var rates = verdict.Variants.ToDictionary(v => v.Name, v => v.ConversionRate);
        Assert.True(rates["a"] == rates["control"], $"identical behaviour, different measured rates: a {rates["a"]:P0}, control {rates["control"]:P0}");
    }
}
