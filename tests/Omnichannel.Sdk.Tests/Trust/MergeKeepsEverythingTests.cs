using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Issue "One person, one truth", section 1: everything of the person survives a merge, whichever side is kept.</summary>
public sealed class MergeKeepsEverythingTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private static (OmnichannelTestHost Host, RecordingTransport Email) Host(Action<OmnichannelOptions>? configure = null)
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(o =>
        {
            o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
            configure?.Invoke(o);
        }, delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        return (host, email);
    }

    private static MessageRequest Email(string key, MessageClass cls = MessageClass.Transactional, string? topic = null) =>
        new() { Key = key, Channels = [ChannelNames.Email], TemplateId = key, Class = cls, Topic = topic };

    [Fact]
    public async Task AHardBounce_OnTheAbsorbedProfile_StillSuppressesTheAddressAfterLogin()
    {
        var (host, email) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known]);
        host.Time.Advance(TimeSpan.FromHours(1));
        await host.TrackAsync("newsletter.viewed", [Ann]);
        await host.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", address = "ANN@Example.com", bounce_type = "hard", message_id = "m0" });

        await host.TrackAsync("user.logged_in", [Known, Ann]);
        var merged = await host.ProfileAsync(Known);
        Assert.True(merged.Has(Ann));

        var r = await host.Client.SendAsync(Known, Email("receipt"));
        Assert.Equal((SendStatus.Skipped, "email: the address is suppressed"), (r.Status, r.Reason));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }

    [Fact]
    public async Task TheMergedProfile_IsAsOldAsTheOlderOfBoth()
    {
        var (host, _) = Host();
        await using var _ = host;
        var cookie = Identifier.AnonymousId("cookie-1");
        var firstVisit = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.ProductViewed, [cookie], new { product_id = "p1" });
        host.Time.Advance(TimeSpan.FromDays(3));
        await host.TrackAsync("user.signed_up", [Known]);

        await host.TrackAsync("user.logged_in", [Known, cookie]);

        var merged = await host.ProfileAsync(Known);
        Assert.True(merged.Has(cookie));
        Assert.Equal(firstVisit, merged.CreatedAt);
    }

    [Fact]
    public async Task AFrequencyCap_CountsTheMessagesOfBothProfiles()
    {
        var (host, email) = Host(o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(2, TimeSpan.FromDays(7), ChannelNames.Email)));
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known]);
        host.Time.Advance(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Email("m1", MessageClass.Marketing))).Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Email("m2", MessageClass.Marketing))).Status);
        await host.Engine.RunDispatchAsync();

        await host.TrackAsync("user.logged_in", [Known, Ann]);
        var third = await host.Client.SendAsync(Known, Email("m3", MessageClass.Marketing));
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, third.Status);
        Assert.Contains("frequency cap of 2", third.Reason, StringComparison.Ordinal);
        Assert.Equal(2, email.Messages.Count);

        // The keys of messages already accepted are the person's too: a retry of m1 is a duplicate.
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(Known, Email("m1", MessageClass.Marketing))).Status);
    }

    [Fact]
    public async Task TwoWelcomeInstances_MergeIntoOne_AndTheSecondEmailGoesOutOnce()
    {
        var welcome = JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "entry": {"reEntry": "never"},
             "steps": [{"id": "w1", "type": "send", "channels": ["email"], "template": "welcome-1", "class": "transactional"},
                       {"id": "wait", "type": "delay", "duration": "P2D"},
                       {"id": "w2", "type": "send", "channels": ["email"], "template": "welcome-2", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([welcome]);
        await rig.TrackAsync("user.signed_up", [Known, Identifier.Email("ann@old.example")]);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        await rig.TrackAsync("user.signed_up", [Ann]);

        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        var p = await rig.Host.ProfileAsync(Known);
        var running = Assert.Single(p.Journeys);
        Assert.Equal("welcome#1", running.InstanceId);
        Assert.Contains(p.Timeline, t => t.Type == "journey.merged");

        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        Assert.Equal(1, rig.Sent().Count(s => s == "email:welcome-2"));
        Assert.Equal(2, rig.Sent().Count(s => s == "email:welcome-1"));
        Assert.Empty(rig.Recorder.DuplicateMessageIds);
    }

    [Fact]
    public async Task MergedInstanceIds_StayUnique_WhenBothSidesMayGoOn()
    {
        var journey = JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"reEntry": "afterCooldown", "cooldown": "PT1H", "maxConcurrent": 5},
             "steps": [{"id": "wait", "type": "delay", "duration": "P2D"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync(EventTypes.ProductViewed, [Known, Identifier.Email("ann@old.example")], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        await rig.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p2" });

        await rig.TrackAsync("user.logged_in", [Known, Ann]);
        var p = await rig.Host.ProfileAsync(Known);

        Assert.Equal(2, p.Journeys.Count);
        Assert.Equal(2, p.Journeys.Select(j => j.InstanceId).Distinct().Count());
    }

    [Fact]
    public async Task AnIdHerOwnEndedInstanceHad_IsNotGivenToTheMergedSidesInstance()
    {
        // Her account's instance welcome#1 ends (its last step); her guest profile's own welcome#1 is still waiting when
        // she logs in: the id must not name two runs of her history (CI's definition-change property found it after a
        // removal ended the first).
        var welcome = JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT2H"},
                       {"id": "w", "type": "send", "channels": ["email"], "template": "welcome-1", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([welcome]);
        await rig.TrackAsync("user.signed_up", [Known, Identifier.Email("ann@old.example")]);
        var first = Assert.Single((await rig.Host.ProfileAsync(Known)).Journeys).InstanceId;
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Empty((await rig.Host.ProfileAsync(Known)).Journeys);
        await rig.TrackAsync("user.signed_up", [Ann]);
        Assert.Equal(first, Assert.Single((await rig.Host.ProfileAsync(Ann)).Journeys).InstanceId);

        await rig.TrackAsync("user.logged_in", [Known, Ann]);

        var running = Assert.Single((await rig.Host.ProfileAsync(Known)).Journeys);
        Assert.NotEqual(first, running.InstanceId);
        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        Assert.Equal(2, rig.Sent().Count(s => s == "email:welcome-1"));
        Assert.Empty(rig.Recorder.DuplicateMessageIds);
    }

    [Fact]
    public async Task AnExperimentAssignment_BelongsToThePerson_AndSurvivesLogin()
    {
        var split = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "page.viewed"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "A", "weight": 50, "next": "end-a"}, {"name": "B", "weight": 50, "next": "end-b"}]},
                       {"id": "end-a", "type": "exit"},
                       {"id": "end-b", "type": "exit"}]}
            """);
        await using var rig = JourneyRig.Create([split]);
        var changed = 0;
        for (var i = 0; i < 200; i++)
        {
            var known = Identifier.CustomerId($"k{i}");
            var cookie = Identifier.AnonymousId($"cookie-{i}");
            await rig.TrackAsync("user.signed_up", [known]);
            await rig.TrackAsync("page.viewed", [cookie]);
            await rig.TrackAsync("user.logged_in", [known, cookie]);
            await rig.TrackAsync("page.viewed", [known]);

            var variants = (await rig.Host.ProfileAsync(known)).Timeline
                .Where(t => t.Type == "journey.split")
                .Select(t => t.Summary!.Split("variant ")[1])
                .ToList();
            Assert.Equal(2, variants.Count);
            changed += variants.Distinct().Count() - 1;
            Assert.Equal(variants[0], Assert.Single((await rig.Host.ProfileAsync(known)).Experiments).Variant);
        }

        Assert.Equal(0, changed);
    }

    [Fact]
    public async Task Money_IsNeverAddedAcrossCurrencies_OnMerge()
    {
        var (host, _) = Host();
        await using var _h = host;
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 30, currency = "GBP" }, at: t0 - TimeSpan.FromDays(3)));
        var cookie = Identifier.AnonymousId("cookie-1");
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [cookie], new { order_id = "o2", total = 20, currency = "EUR" }, at: t0 - TimeSpan.FromDays(2)));
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [cookie], new { order_id = "o3", total = 10, currency = "gbp" }, at: t0 - TimeSpan.FromDays(1)));

        await host.TrackAsync("user.logged_in", [Known, cookie]);
        var s = (await host.ProfileAsync(Known)).Statistics;

        Assert.Equal(("GBP", 40m, 2, 20m), (s.Currency, s.TotalSpent, s.OrdersInCurrency, s.AverageOrderValue));
        Assert.Equal(3, s.OrderCount);
        Assert.Equal(40m, s.SpentByCurrency["GBP"]);
        Assert.Equal(20m, s.SpentByCurrency["EUR"]);
        Assert.Equal(1, s.OrdersByCurrency["EUR"]);
    }

    [Fact]
    public async Task TheShopCurrency_IsTheHeadline_WhenConfigured()
    {
        var (host, _) = Host(o => o.Currency = "EUR");
        await using var _h = host;
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 30, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o2", total = 20, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderReturned, [Known], new { order_id = "o2", total = 5, currency = "EUR" });
        await host.TrackAsync(EventTypes.OrderReturned, [Known], new { order_id = "o1", total = 7, currency = "GBP" });

        var s = (await host.ProfileAsync(Known)).Statistics;
        Assert.Equal(("EUR", 20m, 1, 5m), (s.Currency, s.TotalSpent, s.OrdersInCurrency, s.ReturnValue));
        Assert.Equal(7m, s.ReturnValueByCurrency["GBP"]);
    }

    [Fact]
    public async Task AnOrderIdTheProfileKnows_IsAnUpdate_EvenAfterTheEventIdRetention()
    {
        var (host, _) = Host();
        await using var _h = host;
        var placedAt = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 30, currency = "GBP" });
        host.Time.Advance(TimeSpan.FromMinutes(5));
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 35, currency = "GBP" });
        host.Time.Advance(TimeSpan.FromDays(40));
        await host.Engine.PurgeProcessedEventsAsync();

        // A back-fill re-sends the order with a new event id, timestamped when it was placed.
        await host.TrackAsync(host.Event(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 30, currency = "GBP" }, at: placedAt));

        var s = (await host.ProfileAsync(Known)).Statistics;
        Assert.Equal((1, 35m, placedAt), (s.OrderCount, s.TotalSpent, s.FirstOrderAt));
    }

    [Fact]
    public async Task CancellationsAndReturns_ReSentByABackfill_AreCountedOnce()
    {
        var (host, _) = Host();
        await using var _h = host;
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o1", total = 30, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderPlaced, [Known], new { order_id = "o2", total = 20, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderCancelled, [Known], new { order_id = "o2" });
        await host.TrackAsync(EventTypes.OrderReturned, [Known], new { order_id = "o1", total = 10, currency = "GBP" });

        // The same facts again under new event ids, on another of her identifiers, merged in later.
        var cookie = Identifier.AnonymousId("cookie-9");
        await host.TrackAsync(EventTypes.OrderCancelled, [cookie], new { order_id = "o2" });
        await host.TrackAsync(EventTypes.OrderReturned, [cookie], new { order_id = "o1", total = 10, currency = "GBP" });
        await host.TrackAsync(EventTypes.OrderReturned, [Known], new { order_id = "o1", total = 10, currency = "GBP" });
        await host.TrackAsync("user.logged_in", [Known, cookie]);

        var s = (await host.ProfileAsync(Known)).Statistics;
        Assert.Equal((2, 1, 1, 10m), (s.OrderCount, s.CancelledOrderCount, s.ReturnCount, s.ReturnValue));
    }
}
