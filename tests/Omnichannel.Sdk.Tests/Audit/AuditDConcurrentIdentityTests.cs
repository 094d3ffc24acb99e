using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit D: one person's events arriving at once under different identifiers, racing merges.</summary>
public sealed class AuditDConcurrentIdentityTests
{
    [Fact]
    public async Task EventsOfOnePerson_UnderThreeIdentifiers_RacingTwoMerges_EndInOneProfileWithEverything()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 4);
        for (var round = 0; round < 30; round++)
        {
            var a = Identifier.AnonymousId($"r{round}-cookie");
            var e = Identifier.Email($"r{round}@x.io");
            var c = Identifier.CustomerId($"R{round}");
            host.Time.Advance(TimeSpan.FromMinutes(10));
            var at = host.Time.GetUtcNow().AddMinutes(-1);
            var events = new List<CustomerEvent>
            {
                host.Event("page.viewed", [a], traits: new { from_cookie = 1 }, at: at),
                host.Event(EventTypes.CartItemAdded, [a], new { product_id = "sku-1", quantity = 1 }, at: at.AddSeconds(1)),
                host.Event("newsletter.viewed", [e], traits: new { from_email = 2 }, at: at.AddSeconds(2)),
                host.Event(EventTypes.ConsentChanged, [e], new { channel = "email", topic = "offers", granted = true }, at: at.AddSeconds(3)),
                host.Event(EventTypes.OrderPlaced, [c], new { order_id = $"o{round}", total = 10, currency = "EUR" }, at: at.AddSeconds(4)),
                host.Event("user.logged_in", [a, e], at: at.AddSeconds(5)),
                host.Event("user.logged_in", [e, c], at: at.AddSeconds(6)),
                host.Event(EventTypes.ConsentChanged, [c], new { channel = "sms", granted = false }, at: at.AddSeconds(7)),
                host.Event(EventTypes.CartItemAdded, [e], new { product_id = "sku-2", quantity = 2 }, at: at.AddSeconds(8)),
                host.Event("x.after", [a], traits: new { last = "a" }, at: at.AddSeconds(9)),
            };

            var results = await Task.WhenAll(events.Select(ev => Task.Run(() => host.Client.TrackAsync(ev).AsTask())));
            Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));

            var pa = await host.ProfileAsync(a);
            Assert.Equal(pa.Id, (await host.ProfileAsync(e)).Id);
            Assert.Equal(pa.Id, (await host.ProfileAsync(c)).Id);
            Assert.Equal(events.Count, pa.Statistics.EventCount);
            Assert.Equal(1, pa.Statistics.OrderCount);
            Assert.Equal(1, (int)pa.Traits["from_cookie"]!);
            Assert.Equal(2, (int)pa.Traits["from_email"]!);
            Assert.Equal("a", (string)pa.Traits["last"]!);
            Assert.Equal(new[] { "sku-2" }, pa.Cart.Select(l => l.ProductId)); // the order at +4s emptied sku-1
            Assert.Contains(pa.Consents, x => x.Channel == "email" && x.Topic == "offers" && x.Granted);
            Assert.Contains(pa.Consents, x => x.Channel == "sms" && !x.Granted);
            foreach (var ev in events)
            {
                Assert.Contains(pa.Timeline, x => x.EventId == ev.Id);
            }
        }
    }
    [Fact]
    public async Task AOnceOnlyJourney_TriggeredUnderTwoIdentifiersWhileTheyAreLinked_SendsOneHeldMessage()
    {
        var journey = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "never"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "promo", "class": "transactional"},
                       {"id": "wait", "type": "delay", "duration": "P2D"}]}
            """);
        await using var rig = JourneyRig.Create([journey], configure: o => o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer,
            start: new DateTimeOffset(2026, 1, 5, 22, 30, 0, TimeSpan.Zero));
        const int rounds = 10;
        for (var round = 0; round < rounds; round++)
        {
            var a = Identifier.CustomerId($"C{round}");
            var e = Identifier.Email($"r{round}@x.io");
            var d = Identifier.DeviceId($"d{round}");
            await rig.TrackAsync("user.signed_up", [a, Identifier.Email($"r{round}@old.example")]);
            var at = rig.Host.Time.GetUtcNow();
            var events = new[]
            {
                rig.Host.Event(EventTypes.ProductViewed, [a], new { product_id = "p1" }, at: at),
                rig.Host.Event(EventTypes.ProductViewed, [e], new { product_id = "p2" }, at: at),
                rig.Host.Event(EventTypes.ProductViewed, [d, e], new { product_id = "p3" }, at: at),
                rig.Host.Event("user.logged_in", [a, e], at: at),
            };
            var results = await rig.Host.Client.TrackBatchAsync(events);
            Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(12));
        Assert.Equal(rounds, rig.Sent().Count(s => s == "email:promo"));
    }
}
