// Kitty Supplies: one customer's story across channels, told through Omnichannel.Sdk.
// Clara clicks an ad, fills a cart on her laptop, comes back on her phone, logs in (and finds her cart),
// asks a question in the chat, buys, and returns an item in the store with her loyalty card.
// Everything is kept in an embedded SQLite file (the default durable store); segments follow her live.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Segments;

var database = Path.Combine(Path.GetTempPath(), "kitty-supplies.db");
foreach (var file in new[] { database, database + "-wal", database + "-shm" })
{
    File.Delete(file); // a fresh shop on every run, so the story reads the same
}

var services = new ServiceCollection();
services.AddLogging(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddOmnichannel(options => options.Identity.DefaultPhoneCountryCode = "44")
    .UseSqliteStore(database)
    .AddSegment(Segment.Define("cart-builders", "Has something in the cart").Where(r => r.Stat(ProfileStatisticNames.CartLineCount).Gte(1)))
    .AddSegment(Segment.Define("email-reachable", "Can be emailed").Where(r => r.Reachable(Channels.Email)))
    .AddSegment(Segment.Define("recent-buyers", "Ordered in the last 30 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P30D")))
    .AddSegmentsFromJson("""
        { "id": "returners", "name": "Returned something this year",
          "rule": { "event": "order.returned", "within": "P365D" } }
        """);
await using var provider = services.BuildServiceProvider();
var client = provider.GetRequiredService<IOmnichannelClient>();

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
await Track(EventTypes.SupportTicketOpened, [email], new { ticket_id = "T-311", subject = "Will the XL tower fit a Maine Coon?" }, Channels.Chat);
await Track(EventTypes.SupportTicketResolved, [email], new { ticket_id = "T-311" }, Channels.Chat, after: TimeSpan.FromMinutes(9));
await Track(EventTypes.OrderPlaced, [Identifier.CustomerId("KS-1042"), Identifier.Phone("07700 900461")],
    new { order_id = "KS-50017", total = 99.50, currency = "GBP", items = 2, fulfillment = "delivery" }, context: desktop);
await Track(EventTypes.OrderShipped, [Identifier.CustomerId("KS-1042")], new { order_id = "KS-50017", carrier = "Royal Mail" }, Channels.Web, after: TimeSpan.FromDays(1));
await Track(EventTypes.OrderReturned, [Identifier.LoyaltyCard("LOYAL-88120"), Identifier.Phone("+44 7700 900461")],
    new { order_id = "KS-50017", total = 9.60, currency = "GBP", items = 1 }, Channels.Store, after: TimeSpan.FromDays(4));
await Track(EventTypes.LoyaltyPointsEarned, [Identifier.LoyaltyCard("LOYAL-88120")], new { points = 90 }, Channels.Store);

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
