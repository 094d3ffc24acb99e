using System.Text.Json;

namespace Omnichannel.Sdk.Tests.Engine;

public sealed class ValidationTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@x.io");

    [Fact]
    public async Task Track_ReportsEveryProblemWithItsField()
    {
        await using var host = OmnichannelTestHost.Create();
        var e = new CustomerEvent
        {
            Id = "",
            Type = "Order Placed!",
            Timestamp = host.Time.GetUtcNow().AddHours(1),
            Identifiers = [Identifier.Email("not-an-email"), new Identifier("passport", "X1"), Identifier.Phone("call me")],
            Channel = "Web Site",
            Properties = JsonData.Parse("[1,2]"),
            Traits = JsonData.Parse("\"x\""),
        };

        var result = await host.Client.TrackAsync(e);

        Assert.Equal(TrackStatus.Rejected, result.Status);
        Assert.Equal(
            ["channel", "id", "identifiers[0].value", "identifiers[1].type", "identifiers[2].value", "properties", "timestamp", "traits", "type"],
            result.Errors.Select(x => x.Field).Order(StringComparer.Ordinal));
        Assert.Contains("passport", result.Errors.Single(x => x.Field == "identifiers[1].type").Message);
        Assert.Contains("3600 s in the future", result.Errors.Single(x => x.Field == "timestamp").Message);
    }

    [Fact]
    public async Task Track_AllowsConfiguredClockSkew()
    {
        await using var host = OmnichannelTestHost.Create(o => o.MaxClockSkew = TimeSpan.FromMinutes(2));
        var ok = await host.Client.TrackAsync(host.Event("x.a", [Ann], at: host.Time.GetUtcNow().AddMinutes(2)));
        var late = await host.Client.TrackAsync(host.Event("x.a", [Ann], at: host.Time.GetUtcNow().AddMinutes(2).AddSeconds(1)));
        Assert.Equal(TrackStatus.Accepted, ok.Status);
        Assert.Equal("timestamp", Assert.Single(late.Errors).Field);
    }

    [Fact]
    public async Task Track_RejectsOversizedProperties()
    {
        await using var host = OmnichannelTestHost.Create(o => o.MaxPropertiesBytes = 100);
        var result = await host.Client.TrackAsync(host.Event("x.a", [Ann], new { blob = new string('x', 200) }));
        var error = Assert.Single(result.Errors);
        Assert.Equal("properties", error.Field);
        Assert.Contains("at most 100", error.Message);
    }

    [Fact]
    public async Task Track_ChecksWellKnownProperties()
    {
        await using var host = OmnichannelTestHost.Create();
        var cart = await host.Client.TrackAsync(host.Event(EventTypes.CartItemAdded, [Ann], new { quantity = -1, price = "cheap" }));
        var order = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { total = "lots" }));
        var consent = await host.Client.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = "yes" }));
        var points = await host.Client.TrackAsync(host.Event(EventTypes.LoyaltyPointsEarned, [Ann], new { }));

        Assert.Equal(["properties.price", "properties.product_id", "properties.quantity"], cart.Errors.Select(e => e.Field).Order(StringComparer.Ordinal));
        Assert.Equal("properties.total", Assert.Single(order.Errors).Field);
        Assert.Equal("properties.granted", Assert.Single(consent.Errors).Field);
        Assert.Equal("properties.points", Assert.Single(points.Errors).Field);
    }

    [Fact]
    public async Task Track_RejectsMissingIdentifiersAndTimestamp()
    {
        await using var host = OmnichannelTestHost.Create();
        var result = await host.Client.TrackAsync(new CustomerEvent { Id = "e1", Type = "x.a", Timestamp = default, Identifiers = [] });
        Assert.Equal(["identifiers", "timestamp"], result.Errors.Select(e => e.Field).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("order.placed", true)]
    [InlineData("custom.thing_happened", true)]
    [InlineData("a", true)]
    [InlineData("a1.b2.c3", true)]
    [InlineData("Order.Placed", false)]
    [InlineData("order..placed", false)]
    [InlineData(".order", false)]
    [InlineData("order.", false)]
    [InlineData("1order", false)]
    [InlineData("order-placed", false)]
    public async Task Track_ChecksTypeSyntax(string type, bool valid)
    {
        await using var host = OmnichannelTestHost.Create();
        var result = await host.Client.TrackAsync(host.Event(type, [Ann]));
        Assert.Equal(valid, result.Status == TrackStatus.Accepted);
    }

    [Fact]
    public async Task TrackBatch_OneBadEventNeverStopsTheOthers()
    {
        await using var host = OmnichannelTestHost.Create();
        var events = new[]
        {
            host.Event(EventTypes.OrderPlaced, [Ann], new { total = 10 }),
            host.Event("BAD", [Ann]),
            host.Event(EventTypes.OrderPlaced, [Identifier.Email("broken")], new { total = 10 }),
            host.Event(EventTypes.OrderPlaced, [Ann], new { total = 5 }),
        };

        var results = await host.Client.TrackBatchAsync(events);

        Assert.Equal([TrackStatus.Accepted, TrackStatus.Rejected, TrackStatus.Rejected, TrackStatus.Accepted], results.Select(r => r.Status));
        Assert.Equal(events.Select(e => e.Id), results.Select(r => r.EventId));
        Assert.Equal(15m, (await host.ProfileAsync(Ann)).Statistics.TotalSpent);
    }

    [Fact]
    public async Task Track_AcceptsEventDeserializedFromJson()
    {
        await using var host = OmnichannelTestHost.Create();
        var json = $$"""
            {"id":"web-1","type":"cart.item_added","timestamp":"{{host.Time.GetUtcNow():O}}",
             "identifiers":[{"type":"anonymous_id","value":"c-1"}],"channel":"web",
             "context":{"deviceType":"mobile","locale":"fr-FR"},
             "properties":{"product_id":"sku-9","quantity":2} }
            """;
        var e = JsonSerializer.Deserialize<CustomerEvent>(json)!;
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
        var p = await host.ProfileAsync(Identifier.AnonymousId("c-1"));
        Assert.Equal(2, Assert.Single(p.Cart).Quantity);
        Assert.Equal("fr-FR", p.Locale);
    }
}
