// Kitty Supplies: one customer's story across channels, told through Omnichannel.Sdk.
// Clara clicks an ad, subscribes, fills a cart on her laptop, comes back on her phone, logs in (and finds her cart),
// asks a question in the chat, buys, and returns an item in the store with her loyalty card.
// Everything is kept in an embedded SQLite file (the default durable store); segments follow her live, and journeys
// (welcome, abandoned cart, order updates, litter refill) message her on the right channel as her week unfolds.
// The week runs on a virtual clock, so the journeys' waits (an hour, a day, 09:00 her time) pass in a moment.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Templates;

// A folder of this run's own (two users, or two runs, on one machine never share a file): the SQLite store and the
// emails FileTransport writes.
var workDirectory = Directory.CreateTempSubdirectory("kitty-supplies-").FullName;
var database = Path.Combine(workDirectory, "kitty-supplies.db");
var outbox = Path.Combine(workDirectory, "mail");
Directory.CreateDirectory(outbox);

var templates = new InMemoryTemplateSource(
    new TemplateDocument("welcome", [TemplateVariant.Email("Welcome to Kitty Supplies!",
        "<p>Hi, here is 10% off your first order: <b>MOCHI10</b></p>", "Hi, 10% off your first order: MOCHI10")]),
    // `device.type` in a message is her most recently seen device (her laptop when the held push is rendered again at
    // 08:00 on Tuesday), not the phone the push goes to: a push text needs no device branch.
    new TemplateDocument("cart-reminder", [
        TemplateVariant.Push("Still thinking?", "Your cart is waiting - tap to finish"),
        TemplateVariant.Email("You left something behind", "<p>Your cart at Kitty Supplies is waiting for you.</p>")]),
    new TemplateDocument("cart-last-call", [TemplateVariant.Sms("Kitty Supplies: your cart is saved for one more day.")]),
    new TemplateDocument("order-confirmation", [TemplateVariant.Email("Order {{ journey.trigger.order_id }} confirmed",
        "<p>Thank you {{ profile.first_name }}! We are packing {{ journey.trigger.items }} item(s).</p>")]),
    new TemplateDocument("shipped", [TemplateVariant.Sms("Your order {{ journey.trigger.order_id }} is on its way with {{ journey.context.event.carrier }}.")]),
    new TemplateDocument("litter-refill", [TemplateVariant.Email("Time to restock litter for {{ profile.traits.cat.name }}?",
        "<p>Your last bag should run out on {{ profile.traits.litter_refill_due }}.</p>")]),
    new TemplateDocument("treats-promo", [TemplateVariant.Push("Treat time", "Salmon treats are 2 for 1 today - tap to add")]));

// The journeys, as a back office would store them (JSON, validated on load with every error's path).
const string journeys = """
    [
      {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "newsletter.subscribed"},
       "entry": {"reEntry": "never"},
       "steps": [{"id": "welcome-email", "type": "send", "channels": ["email"], "template": "welcome", "topic": "newsletter"}]},
      {"id": "abandoned-cart", "version": 1, "name": "Abandoned cart", "trigger": {"type": "event", "event": "cart.item_added"},
       "entry": {"correlationKey": "cart_id"}, "exit": [{"event": "order.placed"}], "goal": {"event": "order.placed", "within": "P7D"},
       "steps": [{"id": "wait-1h", "type": "delay", "duration": "PT1H"},
                 {"id": "reminder", "type": "send", "channels": ["push", "email"], "template": "cart-reminder", "topic": "cart"},
                 {"id": "wait-23h", "type": "delay", "duration": "PT23H"},
                 {"id": "last-call", "type": "send", "channels": ["sms"], "template": "cart-last-call", "topic": "cart"}]},
      {"id": "order-updates", "version": 1, "name": "Order updates", "trigger": {"type": "event", "event": "order.placed"},
       "entry": {"maxConcurrent": 10, "correlationKey": "order_id"},
       "steps": [{"id": "confirmation", "type": "send", "channels": ["email"], "template": "order-confirmation", "class": "transactional"},
                 {"id": "wait-shipped", "type": "waitForEvent", "timeout": "P14D", "branches": [{"event": "order.shipped", "next": "shipped"}]},
                 {"id": "shipped", "type": "send", "channels": ["sms", "email"], "template": "shipped", "class": "transactional"}]},
      {"id": "litter-refill", "version": 1, "name": "Litter refill",
       "trigger": {"type": "date", "trait": "litter_refill_due", "offset": "-P3D", "localTime": "09:00"},
       "steps": [{"id": "remind", "type": "send", "channels": ["push", "email"], "template": "litter-refill", "class": "transactional"}]}
    ]
    """;

var console = new StringWriter();
var clock = new VirtualClock(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero)); // a Monday morning in London
var services = new ServiceCollection();
services.AddSingleton<TimeProvider>(clock);
services.AddLogging(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddOmnichannel(options =>
    {
        options.Identity.DefaultPhoneCountryCode = "44";
        options.Delivery.EmailFrom = "Kitty Supplies <hello@kitty.example>";

        // The per-installation secret for keyed hashes (suppression list, erasure tombstones): from configuration in a
        // real shop, never in the database. A sample may use a fixed one.
        options.Privacy.HashKey = Environment.GetEnvironmentVariable("OMNICHANNEL_HASH_KEY") ?? "kitty-supplies-sample-key-not-a-secret-000001";
    })
    .UseSqliteStore(database)
    .UseTemplates(templates)
    .AddJourneysFromJson(journeys)
    .AddTransport("files", ChannelNames.Email, _ => new FileTransport(ChannelNames.Email, outbox))
    .AddTransport("console", ChannelNames.Sms, _ => new ConsoleTransport(ChannelNames.Sms, console))
    .AddTransport("console", ChannelNames.Push, _ => new ConsoleTransport(ChannelNames.Push, console))
    .AddSegment(Segment.Define("cart-builders", "Has something in the cart").Where(r => r.Stat(ProfileStatisticNames.CartLineCount).Gte(1)))
    .AddSegment(Segment.Define("email-reachable", "Can be emailed").Where(r => r.Reachable(ChannelNames.Email)))
    .AddSegment(Segment.Define("recent-buyers", "Ordered in the last 30 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P30D")))
    .AddSegmentsFromJson("""
        { "id": "returners", "name": "Returned something this year",
          "rule": { "event": "order.returned", "within": "P365D" } }
        """);
await using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IOmnichannelClient>();
// The week runs on a virtual clock: only a replay drives the engine's clock by hand (an application never does).
var engine = provider.GetRequiredService<OmnichannelEngine>();
var sends = new List<SendResult>();
async Task Send(Identifier who, string key, string template, string[] channels, MessageClass kind = MessageClass.Marketing, string? topic = null) =>
    sends.Add(await client.SendAsync(who, new MessageRequest { Key = key, Channels = channels, TemplateId = template, Class = kind, Topic = topic }));

// Moves the virtual clock, letting every journey wait that ends on the way run at its exact instant, then delivers.
async Task Pass(TimeSpan time)
{
    await engine.AdvanceVirtualClockAsync(clock.GetUtcNow() + time, clock.Set);
    await engine.RunDispatchAsync();
}

var sequence = 0;
async Task Track(string type, Identifier[] identifiers, object? properties = null, string channel = ChannelNames.Web,
    EventContext? context = null, object? traits = null, TimeSpan? after = null)
{
    await Pass(after ?? TimeSpan.FromMinutes(2));
    var result = await client.TrackAsync(new CustomerEvent
    {
        Id = $"kitty-{++sequence:D3}",
        Type = type,
        Timestamp = clock.GetUtcNow(),
        Identifiers = identifiers,
        Channel = channel,
        Context = context,
        Properties = properties is null ? default : JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
    });
    await engine.RunDispatchAsync();
    var segments = string.Concat(result.SegmentChanges.Select(c => $" {(c.Entered ? "+" : "-")}{c.SegmentId}"));
    Console.WriteLine($"  {clock.GetUtcNow():ddd dd HH:mm}  {channel,-6} {type,-24} -> {result.Status} (profile …{result.ProfileId?[^6..]}){segments}");
}

var laptop = Identifier.AnonymousId("cookie-7f3a");
var phone = Identifier.AnonymousId("cookie-c21d");
var email = Identifier.Email("Clara.Martin@Example.com");
var customer = Identifier.CustomerId("KS-1042");
var desktop = new EventContext { DeviceType = "desktop", Os = "Windows 11", Locale = "en-GB", TimeZone = "Europe/London" };
var mobile = new EventContext { DeviceType = "mobile", Os = "iOS 18", Locale = "en-GB", TimeZone = "Europe/London" };

Console.WriteLine("Clara's fortnight at Kitty Supplies (UTC):");
await Track("ad.clicked", [laptop], new { campaign = "spring-scratchers" }, ChannelNames.Social,
    desktop with { Campaign = "spring-scratchers", UtmSource = "instagram", UtmMedium = "paid_social" });
await Track(EventTypes.ProductViewed, [laptop], new { product_id = "tower-xl", name = "Cat tower XL", price = 89.90 }, context: desktop);
await Track(EventTypes.NewsletterSubscribed, [laptop, email], context: desktop);
await Track(EventTypes.CartItemAdded, [laptop], new { cart_id = "cart-laptop", product_id = "tower-xl", name = "Cat tower XL", quantity = 1, price = 89.90, currency = "GBP" }, context: desktop);
await Track(EventTypes.CartItemAdded, [phone], new { cart_id = "cart-phone", product_id = "salmon-treats", name = "Salmon treats", quantity = 3, price = 3.20, currency = "GBP" },
    ChannelNames.App, mobile, after: TimeSpan.FromHours(20));
await Track(EventTypes.ConsentChanged, [phone, Identifier.DeviceId("apns-clara-iphone")], new { channel = "push", granted = true }, ChannelNames.App, mobile);
await Track("user.logged_in", [phone, email], channel: ChannelNames.App, context: mobile,
    traits: new { first_name = "Clara", last_name = "Martin", cat = new { name = "Mochi", breed = "Maine Coon" } });
await Track("user.logged_in", [laptop, email, customer], context: desktop, after: TimeSpan.FromHours(1));
var afterLogin = (await client.GetProfileAsync(laptop))!;
Console.WriteLine($"  -> logged in on the laptop, her cart is there from both devices: {string.Join(", ", afterLogin.Cart.Select(l => $"{l.Quantity} x {l.Name}"))}");
await Track(EventTypes.ConsentChanged, [email], new { channel = "email", granted = true, source = "account-settings" });
await Send(email, "treats-promo-1", "treats-promo", [ChannelNames.Push], topic: "offers"); // 05:14 in London: held until the quiet hours end
await Send(email, "treats-promo-2", "treats-promo", [ChannelNames.Sms], topic: "offers"); // no phone number yet, no SMS consent: skipped
await Track(EventTypes.SupportTicketOpened, [email], new { ticket_id = "T-311", subject = "Will the XL tower fit a Maine Coon?" }, ChannelNames.Chat);
await Track(EventTypes.SupportTicketResolved, [email], new { ticket_id = "T-311" }, ChannelNames.Chat, after: TimeSpan.FromMinutes(9));
await Track(EventTypes.OrderPlaced, [customer, Identifier.Phone("07700 900461")],
    new { order_id = "KS-50017", total = 99.50, currency = "GBP", items = 2, fulfillment = "delivery" }, context: desktop, after: TimeSpan.FromHours(30),
    traits: new { litter_refill_due = "2026-03-20" });
await Track(EventTypes.OrderShipped, [customer], new { order_id = "KS-50017", carrier = "Royal Mail" }, ChannelNames.Web, after: TimeSpan.FromDays(1));
await Track(EventTypes.OrderReturned, [Identifier.LoyaltyCard("LOYAL-88120"), Identifier.Phone("+44 7700 900461")],
    new { order_id = "KS-50017", total = 9.60, currency = "GBP", items = 1 }, ChannelNames.Store, after: TimeSpan.FromDays(4));
await Track(EventTypes.LoyaltyPointsEarned, [Identifier.LoyaltyCard("LOYAL-88120")], new { points = 90 }, ChannelNames.Store);
await Pass(TimeSpan.FromDays(14)); // the litter reminder falls due on the 17th at 09:00 her time

var clara = (await client.GetProfileAsync(Identifier.AnonymousId("cookie-c21d")))!;
var s = clara.Statistics;
Console.WriteLine();
Console.WriteLine($"Unified profile {clara.Id} (found by her phone's cookie)");
Console.WriteLine($"  Identifiers : {string.Join(", ", clara.Identifiers.Select(i => $"{i.Type}={i.Value}"))}");
Console.WriteLine($"  Traits      : {clara.Traits.ToJsonString()}");
Console.WriteLine($"  Stage       : {clara.LifecycleStage}; {s.OrderCount} order(s), spent {s.TotalSpent} {s.Currency}, returned {s.ReturnValue}, loyalty {s.LoyaltyPoints} pts");
Console.WriteLine($"  Channels    : {string.Join(", ", s.ChannelsUsed.Order())}; devices: {string.Join(", ", s.Devices.Select(d => $"{d.DeviceType}/{d.Os}"))}");
Console.WriteLine($"  Consent     : {string.Join(", ", clara.Consents.Select(c => $"{c.Channel}/{c.Topic}={(c.Granted ? "yes" : "no")}"))}");
Console.WriteLine($"  Time zone   : {clara.TimeZone}, locale {clara.Locale}");
Console.WriteLine($"  Cart        : {(clara.Cart.Count == 0 ? "(empty: the order emptied it)" : string.Join(", ", clara.Cart.Select(l => $"{l.Quantity} x {l.Name}")))}");
Console.WriteLine($"  Merges      : {string.Join("; ", clara.Merges.Select(m => $"…{m.AbsorbedProfileId[^6..]} ({m.Reason})"))}");
Console.WriteLine($"  Segments    : {string.Join(", ", clara.Segments.Select(m => $"{m.SegmentId} (since {m.EnteredAt:ddd dd HH:mm})"))}");
Console.WriteLine($"  Journeys    : {(clara.Journeys.Count == 0 ? "none running" : string.Join(", ", clara.Journeys.Select(j => $"{j.JourneyId} at {j.StepId}")))}");
Console.WriteLine($"  Stored in   : {database}");
Console.WriteLine();
Console.WriteLine("Timeline:");
foreach (var t in clara.Timeline)
{
    Console.WriteLine($"  {t.Timestamp:ddd dd HH:mm}  {t.Channel,-7} {t.Type,-24} {t.Summary}");
}

Console.WriteLine();
Console.WriteLine("Journeys:");
foreach (var j in client.Journeys)
{
    var st = await client.GetJourneyStatisticsAsync(j.Id);
    Console.WriteLine($"  {j.Name,-15} entered {st.Entered}, completed {st.Completed}, exited {st.Exited}, converted {st.Converted}" +
        string.Concat(st.Steps.Where(x => x.Value.Sent + x.Value.Skipped > 0).OrderBy(x => x.Key, StringComparer.Ordinal)
            .Select(x => $"; {x.Key}: {x.Value.Sent} sent, {x.Value.Skipped} skipped")));
}

foreach (var skipped in clara.Timeline.Where(t => t.Type == "journey.skipped"))
{
    Console.WriteLine($"  skipped at {skipped.Timestamp:ddd dd HH:mm}: {skipped.Summary}");
}

Console.WriteLine();
Console.WriteLine("One-off messages (as SendAsync answered; a Queued one is sent when due, see below):");
foreach (var r in sends)
{
    Console.WriteLine($"  {r.Key,-18} {r.Status,-8} {r.Channel ?? "-",-6} {r.Reason}");
}

Console.WriteLine();
Console.WriteLine("What each channel received:");
foreach (var file in Directory.GetFiles(outbox, "*.eml").Order())
{
    var subject = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("Subject:", StringComparison.Ordinal)) ?? "Subject: ?";
    Console.WriteLine($"  email  {subject}  ({file})");
}

Console.Write(console.ToString());

// The week's measurement: journey funnels, channels per day, revenue by channel (last touch), experiments.
var reportFolder = Directory.CreateTempSubdirectory("kitty-supplies-report-").FullName;
var report = await Omnichannel.Sdk.Measurement.MeasurementReport.BuildAsync(engine, new Omnichannel.Sdk.Measurement.MeasurementReportOptions
{
    Title = "Kitty Supplies: Clara's week",
    From = DateOnly.FromDateTime(new DateTime(2026, 3, 2)),
    To = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime),
}, clock);
await File.WriteAllTextAsync(Path.Combine(reportFolder, "report.html"), Omnichannel.Sdk.Measurement.MeasurementReport.ToHtml(report));
await File.WriteAllTextAsync(Path.Combine(reportFolder, "report.json"), Omnichannel.Sdk.Measurement.MeasurementReport.ToJson(report));
Console.WriteLine();
Console.WriteLine($"Measurement: {report.Conversions} conversion(s), revenue {report.ConversionRevenue:0.00}; " +
    string.Join(", ", report.Channels.Select(c => $"{c.Key} {c.Value.Sent} sent")));
Console.WriteLine($"Report: {Path.Combine(reportFolder, "report.html")} (and report.json)");

/// <summary>The sample's clock: it moves only when the story says so.</summary>
internal sealed class VirtualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Set(DateTimeOffset instant) => _now = instant;
}
