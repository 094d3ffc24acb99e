using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Review of audit U32 on SQLite: a repeat entry's mark and her arm survive a restart of the profile document.</summary>
public sealed class AuditReview32SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Omnichannel.Sdk.Journeys.JourneyDefinition Cart => JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "entry": {"reEntry": "afterPreviousEnded"}, "goal": {"event": "order.placed", "within": "P1D"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "wait"}], "controlWeight": 1},
                   {"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    // Entered, ended, re-entered (a repeat, running in arm a or pending in control), then the process restarts: her two
    // orders inside the first window convert her once, and a third entry after the restart is still a repeat.
    [Fact]
    public async Task ARepeatEntry_SurvivesARestart_AndHerOrdersConvertHerOnce()
    {
        var file = "Data Source=" + _folder.File();
        var start = new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
        const int people = 12;
        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var rig = JourneyRig.Create([Cart], store: store, start: start);
            for (var i = 0; i < people; i++)
            {
                await rig.TrackAsync("user.signed_up", [Identifier.CustomerId("c" + i), Identifier.Email($"c{i}@example.com")]);
                await rig.TrackAsync(EventTypes.CartItemAdded, [Identifier.CustomerId("c" + i)], new { product_id = "p1", quantity = 1 });
            }

            await rig.AdvanceAsync(TimeSpan.FromHours(2));
            for (var i = 0; i < people; i++)
            {
                await rig.TrackAsync(EventTypes.CartItemAdded, [Identifier.CustomerId("c" + i)], new { product_id = "p2", quantity = 1 });
            }
        }

        {
            await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = file });
            await using var rig = JourneyRig.Create([Cart], store: store, start: start.AddMinutes(150));
            for (var i = 0; i < people; i++)
            {
                await rig.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("c" + i)], new { order_id = "o" + i, total = 30 });
            }

            await rig.AdvanceAsync(TimeSpan.FromHours(2));
            for (var i = 0; i < people; i++)
            {
                await rig.TrackAsync(EventTypes.OrderPlaced, [Identifier.CustomerId("c" + i)], new { order_id = "q" + i, total = 30 });
                await rig.TrackAsync(EventTypes.CartItemAdded, [Identifier.CustomerId("c" + i)], new { product_id = "p3", quantity = 1 });
            }

            await rig.AdvanceAsync(TimeSpan.FromDays(2));
            var verdict = await rig.Engine.GetExperimentVerdictAsync("cart", new ExperimentSettings { MinimumRecipientsPerVariant = 2 });
            Assert.NotNull(verdict);
            Assert.Equal(people, verdict.Variants.Sum(v => v.Recipients));
            Assert.All(verdict.Variants, v => Assert.Equal((v.Recipients, 30.0), (v.Conversions, v.RevenuePerRecipient)));
            Assert.Equal(3 * people, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Variants.Values.Sum(v => v.Entered));
        }
    }
}
