using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>What a new engine does at once: the work that fell due while none ran, with everything it was given.</summary>
public sealed class EngineStartTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static void Configure(OmnichannelOptions o)
    {
        o.Privacy.HashKey = "engine-start-tests-hash-key-0123456789abcdef";
        o.Journeys.Add(JourneyJson.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """).Value!);
    }

    /// <summary>
    /// Found by audit CKS's property in CI (one run in many, on SQLite): a restarted engine started the wake-ups that fell
    /// due while it was down before it had taken its delivery setup, so a send step one of them reached in that instant
    /// was skipped ("no templates are registered") and its message lost. No public seam can hold the engine between the
    /// two, so this pins the order that closes the window: the delivery has started (its first act reads the outbox for
    /// messages an earlier process left) before the due wake-ups are read; and the wake-up's message is sent.
    /// </summary>
    [Fact]
    public async Task WakeUpsThatFellDueWhileNoEngineRan_AreRunWithTheDeliverySetup()
    {
        var inner = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        await using (var before = OmnichannelTestHost.Create(Configure, start, inner))
        {
            var r = await before.TrackAsync(before.Event(EventTypes.CartItemAdded, [Ann, Identifier.Email("ann@example.com")], new { product_id = "kibble" }));
            Assert.Equal(TrackStatus.Accepted, r.Status);
        }

        var store = new FlakyStore(inner);
        var time = new FakeTimeProvider(start.AddHours(2));
        var recorder = new RecordingTransport();
        var options = new OmnichannelOptions();
        Configure(options);
        await using var engine = new OmnichannelEngine(options, store, time,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("rec", recorder));
        Assert.Equal("outbox", store.FirstRead); // before the fix: "wake-ups"
        await engine.AdvanceVirtualClockAsync(time.GetUtcNow(), time.SetUtcNow);
        await engine.RunDispatchAsync();

        var profile = await engine.GetProfileAsync(Ann);
        Assert.DoesNotContain(profile!.Timeline, t => t.Type == "journey.skipped");
        Assert.Equal("cart", Assert.IsType<EmailMessage>(Assert.Single(recorder.Messages)).Subject);
    }
}
