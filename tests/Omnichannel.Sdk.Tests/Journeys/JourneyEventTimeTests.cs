using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>A cart add or an order of one person, on her known id or her cookie, uploaded late.</summary>
/// <param name="IsOrder">An order (the inactivity journey's noEvent) rather than a cart add (its afterEvent).</param>
/// <param name="MinutesAgo">How long before it arrives it happened (under the journey's hour, so no clock is due yet).</param>
/// <param name="OnCookie">Carries only the cookie (merged into the known profile by a login somewhere in the stream).</param>
/// <param name="ArrivalKey">Sorts the events into their arrival order.</param>
public sealed record CartEvent(bool IsOrder, int MinutesAgo, bool OnCookie, int ArrivalKey);

/// <summary>FsCheck generators: up to 12 late cart events and where the login falls among them.</summary>
public static class CartEventArbitrary
{
    public static Arbitrary<(CartEvent[] Events, int LinkAt)> Streams() =>
        (from events in Gen.ListOf(
                 from order in Gen.Elements(true, false)
                 from minutes in Gen.Choose(0, 50)
                 from cookie in Gen.Elements(true, false)
                 from arrival in Gen.Choose(0, 1_000_000)
                 select new CartEvent(order, minutes, cookie, arrival))
             .Select(l => l.Take(12).ToArray())
         from linkAt in Gen.Choose(0, 12)
         select (events, linkAt))
        .ToArbitrary();

    /// <summary>
    /// The stream as <paramref name="host"/>'s events in arrival order: carts and orders (total 5) on
    /// <paramref name="known"/> or <paramref name="cookie"/>, timed back from now, with a login carrying both at
    /// <paramref name="linkAt"/>.
    /// </summary>
    public static List<CustomerEvent> InArrivalOrder(OmnichannelTestHost host, CartEvent[] events, int linkAt, Identifier known, Identifier cookie)
    {
        var now = host.Time.GetUtcNow();
        var built = events.Select((c, i) => (c, e: c.IsOrder
                ? host.Event(EventTypes.OrderPlaced, [c.OnCookie ? cookie : known], new { order_id = $"o{i}", total = 5 }, at: now - TimeSpan.FromMinutes(c.MinutesAgo))
                : host.Event(EventTypes.CartItemAdded, [c.OnCookie ? cookie : known], new { product_id = $"p{i}" }, at: now - TimeSpan.FromMinutes(c.MinutesAgo))))
            .OrderBy(x => x.c.ArrivalKey)
            .Select(x => x.e)
            .ToList();
        built.Insert(Math.Min(linkAt, built.Count), host.Event("user.logged_in", [known, cookie]));
        return built;
    }
}

/// <summary>
/// Journeys judge by event time, not arrival: inactivity clocks (restarted by the newest afterEvent, cancelled by a
/// noEvent inside the window, folded on a merge as if the identifiers had been linked from the start) and goals and
/// exits (an event from before the start neither converts nor exits; a late one from inside the goal window converts).
/// </summary>
public sealed class JourneyEventTimeTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");

    private const string Inactivity = """
        {"id": "abandon", "version": 1, "name": "Abandoned",
         "trigger": {"type": "inactivity", "afterEvent": "cart.item_added", "noEvent": ["order.placed"], "within": "PT1H"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "abandon", "class": "transactional"}]}
        """;

    private const string AbandonedCart = """
        {"id": "cart", "version": 1, "name": "Abandoned cart",
         "trigger": {"type": "event", "event": "cart.item_added"},
         "exit": [{"event": "order.placed"}],
         "goal": {"event": "order.placed", "within": "P7D"},
         "steps": [
           {"id": "wait", "type": "delay", "duration": "PT1H"},
           {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """;

    private static (OmnichannelTestHost Host, RecordingTransport Email) JourneyHost(string journeyJson)
    {
        var parsed = JourneyJson.Parse(journeyJson);
        var journey = parsed.Value ?? throw new InvalidOperationException(string.Join("; ", parsed.Errors));
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Journeys.Add(journey);
            },
            delivery: new DeliverySetup { Renderer = new SubjectRenderer() }.AddTransport("email", email));
        return (host, email);
    }

    // ---------- Inactivity ----------

    [Fact]
    public async Task Inactivity_AfterAMerge_CountsFromThePersonsLastAdd()
    {
        var (host, email) = JourneyHost(Inactivity);
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(40));
        await host.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "p2" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync("user.logged_in", [Known, Cookie]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(25)); // 70 min after the first add, 30 after her last one
        await host.Engine.RunDispatchAsync();
        var early = email.Messages.Count;
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.Engine.RunDispatchAsync();
        Assert.Equal((0, 1), (early, email.Messages.Count));
    }

    [Fact]
    public async Task Inactivity_AnOrderOnTheOtherProfileBeforeTheMerge_Cancels()
    {
        var (host, email) = JourneyHost(Inactivity);
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.CartItemAdded, [Cookie], new { product_id = "p2" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 5 }); // she did order, 10 min after the add
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync("user.logged_in", [Known, Cookie]);
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task Inactivity_AnOlderOrderArrivingLate_DoesNotCancelANewerCart()
    {
        var (host, email) = JourneyHost(Inactivity);
        await using var _ = host;
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o0", total = 10 }, at: t0)); // placed before the cart, uploaded late
        await host.AdvanceAsync(TimeSpan.FromHours(3));
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);
    }

    [Fact]
    public async Task Inactivity_AnOlderAddArrivingLate_DoesNotFireEarly()
    {
        var (host, email) = JourneyHost(Inactivity);
        await using var _ = host;
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(40));
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p2" });                            // t0+40m
        await host.TrackAsync(host.Event(EventTypes.CartItemAdded, [Known], new { product_id = "p1" }, at: t0));       // late, t0
        await host.AdvanceAsync(TimeSpan.FromMinutes(30)); // t0+70m: only 30 min after her last add
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task Inactivity_AnOrderArrivingBeforeAnOlderAdd_StillCancelsIt()
    {
        var (host, email) = JourneyHost(Inactivity);
        await using var _ = host;
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.AdvanceAsync(TimeSpan.FromMinutes(20));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 5 });                    // t0+20m
        await host.TrackAsync(host.Event(EventTypes.CartItemAdded, [Known], new { product_id = "p1" }, at: t0));       // late, t0
        await host.AdvanceAsync(TimeSpan.FromHours(3));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task Inactivity_AnOrderAfterTheWindow_DoesNotCancelIt()
    {
        var (host, email) = JourneyHost(Inactivity);
        await using var _ = host;
        var t0 = host.Time.GetUtcNow();
        await host.AdvanceAsync(TimeSpan.FromHours(3));
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 5 }, at: t0 + TimeSpan.FromHours(2)));
        await host.TrackAsync(host.Event(EventTypes.CartItemAdded, [Known], new { product_id = "p1" }, at: t0)); // an hour went by without an order
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);
    }

    [Fact]
    public async Task Inactivity_AnOlderAddArrivingAfterItFired_DoesNotFireAgain()
    {
        var (host, email) = JourneyHost(Inactivity);
        await using var _ = host;
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.TrackAsync(host.Event(EventTypes.CartItemAdded, [Known], new { product_id = "p2" }, at: t0 + TimeSpan.FromMinutes(30))); // before it fired
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p3" }); // after it fired: a new clock
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(2, email.Messages.Count);
    }

    [Fact]
    public async Task Inactivity_ClockRoundTripsThroughTheStoredDocument_AndADocumentWithoutItsStampsStillLoads()
    {
        var (host, _) = JourneyHost(Inactivity);
        await using var __ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 5 });
        var profile = await host.ProfileAsync(Known);
        var document = ProfileSerializer.Serialize(profile);
        var clock = ProfileSerializer.Deserialize(document, profile.Version).JourneyData!.Scheduled["abandon"];
        // The order is read from the profile's orders (audit U24), so the clock notes no time for it.
        Assert.Equal((host.Time.GetUtcNow() - TimeSpan.FromMinutes(10), (DateTimeOffset?)null, 0, DateTimeOffset.MaxValue), (clock.AfterAt, clock.NoEventAt, clock.NoEvents?.Count ?? 0, clock.DueAt));

        // As written before the stamps: an armed clock with only its due time.
        var node = JsonNode.Parse(document)!;
        node["journeyData"]!["scheduled"]!["abandon"] = new JsonObject { ["dueAt"] = "2026-01-05T10:00:00+00:00", ["basis"] = "e1" };
        var legacy = ProfileSerializer.Deserialize(Encoding.UTF8.GetBytes(node.ToJsonString()), profile.Version).JourneyData!.Scheduled["abandon"];
        Assert.Equal((false, new DateTimeOffset(2026, 1, 5, 10, 0, 0, TimeSpan.Zero)), (legacy.IsClock, legacy.DueAt));
    }

    /// <summary>
    /// The same late events, in any arrival order, on two profiles merged at any point, give the answer of event time:
    /// the email goes out if and only if no order came at or after her latest cart add.
    /// </summary>
    [Property(Arbitrary = [typeof(CartEventArbitrary)], MaxTest = 50)]
    public void Inactivity_AnyArrivalOrder_GivesTheEventTimeAnswer((CartEvent[] Events, int LinkAt) stream) =>
        RunArrivalOrder(stream.Events, stream.LinkAt).GetAwaiter().GetResult();

    private static async Task RunArrivalOrder(CartEvent[] events, int linkAt)
    {
        var (host, email) = JourneyHost(Inactivity);
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        var built = CartEventArbitrary.InArrivalOrder(host, events, linkAt, Known, Cookie);
        foreach (var e in built)
        {
            await host.TrackAsync(e); // all at one instant: nothing falls due while they arrive
        }

        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.Engine.RunDispatchAsync();
        var adds = events.Where(c => !c.IsOrder).ToList();
        var expected = adds.Count > 0 && !events.Any(o => o.IsOrder && o.MinutesAgo <= adds.Min(a => a.MinutesAgo));
        Assert.Equal(expected ? 1 : 0, email.Messages.Count);
    }

    // ---------- Goals and exits ----------

    [Fact]
    public async Task Goal_AnOrderFromBeforeTheCart_ArrivingLate_NeitherEndsNorConvertsTheJourney()
    {
        var (host, email) = JourneyHost(AbandonedCart);
        await using var _ = host;
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("user.signed_up", [Known, Ann], at: t0 - TimeSpan.FromDays(3)));
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "pos-1", total = 10 }, at: t0 - TimeSpan.FromDays(2)));
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(0L, (await host.Client.GetJourneyStatisticsAsync("cart")).Converted);
        Assert.Single(email.Messages);
    }

    [Fact]
    public async Task Goal_AnOrderInsideTheWindow_ArrivingLate_IsAConversion()
    {
        var (host, email) = JourneyHost(AbandonedCart);
        await using var _ = host;
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("user.signed_up", [Known, Ann], at: t0 - TimeSpan.FromDays(3)));
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);
        await host.AdvanceAsync(TimeSpan.FromDays(8));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "new", total = 10 }, at: t0 + TimeSpan.FromDays(6)));
        Assert.Equal(1L, (await host.Client.GetJourneyStatisticsAsync("cart")).Converted);
    }

    [Fact]
    public async Task Goal_AnOrderAfterTheWindow_IsNotAConversion_AndAnOrderFromBeforeTheStartDoesNotConvertAnEndedInstance()
    {
        var (host, email) = JourneyHost(AbandonedCart);
        await using var _ = host;
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("user.signed_up", [Known, Ann], at: t0 - TimeSpan.FromDays(3)));
        await host.TrackAsync(EventTypes.CartItemAdded, [Known], new { product_id = "p1" });
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "old", total = 10 }, at: t0 - TimeSpan.FromDays(1)));
        await host.AdvanceAsync(TimeSpan.FromDays(8));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "late", total = 10 });
        Assert.Equal(0L, (await host.Client.GetJourneyStatisticsAsync("cart")).Converted);
    }

    /// <summary>Renders the template id as the subject.</summary>
    private sealed class SubjectRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }
}
