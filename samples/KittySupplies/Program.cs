// Kitty Supplies: one customer's story across channels, told through Omnichannel.Sdk.
// Clara clicks an ad, fills a cart on her laptop, comes back on her phone, logs in (and finds her cart),
// asks a question in the chat, buys, and returns an item in the store with her loyalty card.
// Everything is kept in an embedded SQLite file (the default durable store); segments follow her live.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Templates;

var database = Path.Combine(Path.GetTempPath(), "kitty-supplies.db");
foreach (var file in new[] { database, database + "-wal", database + "-shm" })
{
    File.Delete(file); // a fresh shop on every run, so the story reads the same
}

var outbox = Path.Combine(Path.GetTempPath(), "kitty-supplies-mail");
Directory.CreateDirectory(outbox);
foreach (var old in Directory.GetFiles(outbox, "*.eml"))
{
    File.Delete(old);
}
var templates = new InMemoryTemplateSource(
    new TemplateDocument("welcome", [TemplateVariant.Email("Welcome to Kitty Supplies, {{ profile.first_name }}!",
        "<p>Hi {{ profile.first_name }}, here is 10% off your first order: <b>MOCHI10</b></p>", "Hi {{ profile.first_name }}, 10% off: MOCHI10")]),
    new TemplateDocument("order-confirmation", [
        TemplateVariant.Email("Order {{ journey.order_id }} confirmed", "<p>Thank you! We are packing {{ journey.items }} item(s).</p>"),
        TemplateVariant.Sms("Kitty Supplies: order {{ journey.order_id }} confirmed.")]),
    new TemplateDocument("shipped", [TemplateVariant.Sms("Your order {{ journey.order_id }} is on its way with {{ journey.carrier }}.")]),
    new TemplateDocument("treats-promo", [TemplateVariant.Push("Treat time", "Salmon treats are 2 for 1 today{% if device == 'mobile' %} - tap to add{% else %} - click to add{% endif %}")]));
var console = new StringWriter();

var services = new ServiceCollection();
services.AddLogging(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddOmnichannel(options =>
    {
        options.Identity.DefaultPhoneCountryCode = "44";
        options.Delivery.EmailFrom = "Kitty Supplies <hello@kitty.example>";
    })
    .UseSqliteStore(database)
    .UseTemplates(templates)
    .AddTransport("files", Channels.Email, _ => new FileTransport(Channels.Email, outbox))
    .AddTransport("console", Channels.Sms, _ => new ConsoleTransport(Channels.Sms, console))
    .AddTransport("console", Channels.Push, _ => new ConsoleTransport(Channels.Push, console))
    .AddSegment(Segment.Define("cart-builders", "Has something in the cart").Where(r => r.Stat(ProfileStatisticNames.CartLineCount).Gte(1)))
    .AddSegment(Segment.Define("email-reachable", "Can be emailed").Where(r => r.Reachable(Channels.Email)))
    .AddSegment(Segment.Define("recent-buyers", "Ordered in the last 30 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P30D")))
    .AddSegmentsFromJson("""
        { "id": "returners", "name": "Returned something this year",
          "rule": { "event": "order.returned", "within": "P365D" } }
        """);
await using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IOmnichannelClient>();
var engine = provider.GetRequiredService<OmnichannelEngine>();
var sends = new List<SendResult>();
async Task Send(Identifier who, string key, string template, string[] channels, MessageClass kind = MessageClass.Marketing, string? topic = null, object? data = null) =>
    sends.Add(await client.SendAsync(who, new MessageRequest
    {
        Key = key,
        Channels = channels,
        TemplateId = template,
        Class = kind,
        Topic = topic,
        Data = data is null ? null : System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(data))!.AsObject(),
    }));

var clock = TimeProvider.System.GetUtcNow().AddDays(-10);
var sequence = 0;
async Task Track(string type, Identifier[] identifiers, object? properties = null, string channel = Channels.Web,
    EventContext? context = null, object? traits = null, TimeSpan? after = null)
{
    clock += after ?? TimeSpan.FromMinutes(2);
    var result = await client.TrackAsync(new CustomerEvent
    {
        Id = $"kitty-{++sequence:D3}",
        Type = type,
        Timestamp = clock,
        Identifiers = identifiers,
        Channel = channel,
        Context = context,
        Properties = properties is null ? default : JsonData.From(properties),
        Traits = traits is null ? default : JsonData.From(traits),
    });
    var segments = string.Concat(result.SegmentChanges.Select(c => $" {(c.Entered ? "+" : "-")}{c.SegmentId}"));
    Console.WriteLine($"  {clock:ddd HH:mm}  {channel,-6} {type,-24} -> {result.Status} (profile …{result.ProfileId?[^6..]}){segments}");
}

var laptop = Identifier.AnonymousId("cookie-7f3a");
var phone = Identifier.AnonymousId("cookie-c21d");
var email = Identifier.Email("Clara.Martin@Example.com");
var desktop = new EventContext { DeviceType = "desktop", Os = "Windows 11", Locale = "en-GB", TimeZone = "Europe/London" };
var mobile = new EventContext { DeviceType = "mobile", Os = "iOS 18", Locale = "en-GB", TimeZone = "Europe/London" };

Console.WriteLine("Clara's week at Kitty Supplies:");
await Track("ad.clicked", [laptop], new { campaign = "spring-scratchers" }, Channels.Social,
    desktop with { Campaign = "spring-scratchers", UtmSource = "instagram", UtmMedium = "paid_social" });
await Track(EventTypes.ProductViewed, [laptop], new { product_id = "tower-xl", name = "Cat tower XL", price = 89.90 }, context: desktop);
await Track(EventTypes.CartItemAdded, [laptop], new { product_id = "tower-xl", name = "Cat tower XL", quantity = 1, price = 89.90, currency = "GBP" }, context: desktop);
await Track(EventTypes.CartItemAdded, [phone], new { product_id = "salmon-treats", name = "Salmon treats", quantity = 3, price = 3.20, currency = "GBP" },
    Channels.App, mobile, after: TimeSpan.FromHours(20));
await Track("user.logged_in", [phone, email], channel: Channels.App, context: mobile,
    traits: new { first_name = "Clara", last_name = "Martin", cat = new { name = "Mochi", breed = "Maine Coon" } });
await Track("user.logged_in", [laptop, email, Identifier.CustomerId("KS-1042")], context: desktop, after: TimeSpan.FromHours(1));
var afterLogin = (await client.GetProfileAsync(laptop))!;
Console.WriteLine($"  -> logged in on the laptop, her cart is there from both devices: {string.Join(", ", afterLogin.Cart.Select(l => $"{l.Quantity} x {l.Name}"))}");
await Track(EventTypes.ConsentChanged, [email], new { channel = "email", granted = true, source = "account-settings" });
await Track(EventTypes.ConsentChanged, [email], new { channel = "sms", granted = true, source = "account-settings" });
await Send(email, "welcome-clara", "welcome", [Channels.Email], topic: "newsletter");
await Send(email, "treats-promo-1", "treats-promo", [Channels.Push], topic: "offers");   // no push token, no push consent: skipped
await Track(EventTypes.SupportTicketOpened, [email], new { ticket_id = "T-311", subject = "Will the XL tower fit a Maine Coon?" }, Channels.Chat);
await Track(EventTypes.SupportTicketResolved, [email], new { ticket_id = "T-311" }, Channels.Chat, after: TimeSpan.FromMinutes(9));
await Track(EventTypes.OrderPlaced, [Identifier.CustomerId("KS-1042"), Identifier.Phone("07700 900461")],
    new { order_id = "KS-50017", total = 99.50, currency = "GBP", items = 2, fulfillment = "delivery" }, context: desktop);
await Send(Identifier.CustomerId("KS-1042"), "confirm-KS-50017", "order-confirmation", [Channels.Email], MessageClass.Transactional, data: new { order_id = "KS-50017", items = 2 });
await Track(EventTypes.OrderShipped, [Identifier.CustomerId("KS-1042")], new { order_id = "KS-50017", carrier = "Royal Mail" }, Channels.Web, after: TimeSpan.FromDays(1));
await Track(EventTypes.OrderReturned, [Identifier.LoyaltyCard("LOYAL-88120"), Identifier.Phone("+44 7700 900461")],
    new { order_id = "KS-50017", total = 9.60, currency = "GBP", items = 1 }, Channels.Store, after: TimeSpan.FromDays(4));
await Track(EventTypes.LoyaltyPointsEarned, [Identifier.LoyaltyCard("LOYAL-88120")], new { points = 90 }, Channels.Store);

await Send(Identifier.CustomerId("KS-1042"), "shipped-KS-50017", "shipped", [Channels.Sms], MessageClass.Transactional, data: new { order_id = "KS-50017", carrier = "Royal Mail" });
await engine.RunDispatchAsync();

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
Console.WriteLine($"  Segments    : {string.Join(", ", clara.Segments.Select(m => $"{m.SegmentId} (since {m.EnteredAt:ddd HH:mm})"))}");
Console.WriteLine($"  Stored in   : {database}");
Console.WriteLine();
Console.WriteLine("Timeline:");
foreach (var t in clara.Timeline)
{
    Console.WriteLine($"  {t.Timestamp:ddd HH:mm}  {t.Channel,-6} {t.Type,-24} {t.Summary}");
}

Console.WriteLine();
Console.WriteLine("Messages:");
foreach (var r in sends)
{
    Console.WriteLine($"  {r.Key,-18} {r.Status,-8} {r.Channel ?? "-",-6} {r.Reason}");
}

Console.WriteLine($"  email -> {outbox}: {string.Join(", ", Directory.GetFiles(outbox, "*.eml").Select(Path.GetFileName).Order())}");
Console.Write(console.ToString());
