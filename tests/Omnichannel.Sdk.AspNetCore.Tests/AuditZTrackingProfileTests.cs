using System.Globalization;
using System.Net;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// Audit Z: bug classes from public reports of tracking clients and CDPs (Segment, RudderStack, PostHog, Mixpanel),
/// replayed through the tracking endpoint: what ends up on the profile and in segments.
/// </summary>
public sealed class AuditZTrackingProfileTests(TrackingServer server) : IClassFixture<TrackingServer>
{
    private static string Id(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    // segmentio/analytics-events recognises each e-commerce event in Spec v1 word order ("Completed Order"), in snake
    // case ("order_completed", RudderStack's and PostHog's naming) and without separators; shops still send all three.
    [Theory]
    [InlineData("order_completed")]
    [InlineData("Completed Order")]
    [InlineData("OrderCompleted")]
    [InlineData("  order  completed ")]
    [InlineData("ORDER-COMPLETED")]
    public async Task AnOrderCompletedNamedTheOtherWaysClientsSendIt_IsAnOrder(string name)
    {
        var user = Id("user");
        var response = await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"{{name}}","properties":{"order_id":"{{Id("o")}}","total":30,"currency":"EUR"},"messageId":"{{Id("m")}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(30m, p.Statistics.TotalSpent);
        Assert.True(p.IsInSegment("customers"));
    }

    [Theory]
    [InlineData("product_added", EventTypes.CartItemAdded)]
    [InlineData("Added Product", EventTypes.CartItemAdded)]
    [InlineData("Viewed Product", EventTypes.ProductViewed)]
    [InlineData("Removed Product", EventTypes.CartItemRemoved)]
    [InlineData("Started Checkout", EventTypes.CheckoutStarted)]
    [InlineData("Refunded Order", EventTypes.OrderReturned)]
    [InlineData("Cancelled Order", EventTypes.OrderCancelled)]
    public async Task ECommerceNamesInV1OrderOrSnakeCase_MapToTheirTypes(string name, string type)
    {
        var user = Id("user");
        var response = await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"{{name}}","properties":{"product_id":"p1","order_id":"{{Id("o")}}","total":5,"currency":"EUR"},"messageId":"{{Id("m")}}"}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Contains(p.Timeline, t => t.Type == type);
    }

    // A custom name that only looks like a Spec name after folding is still the host's own event.
    [Fact]
    public async Task ACustomNameNotInTheTable_StaysCustom()
    {
        var user = Id("user");
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed Survey","messageId":"{{Id("m")}}"}""");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(0, p.Statistics.OrderCount);
        Assert.Contains(p.Timeline, t => t.Type == "order_completed_survey");
    }

    // segmentio/facade#92: revenue 0 (a marketplace's commission) was read as absent and total taken instead. The mirror
    // here: total 0 (a free order) must not be replaced by revenue or value.
    [Fact]
    public async Task AZeroTotal_IsNotReplacedByRevenueOrValue()
    {
        var user = Id("user");
        await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"{{Id("o")}}","total":0,"revenue":50,"value":60,"currency":"EUR"},"messageId":"{{Id("m")}}"}
            """);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(0m, p.Statistics.TotalSpent);
    }

    // Without total, revenue wins over value (Spec order); a null total is a missing one.
    [Fact]
    public async Task ANullTotal_FallsBackToRevenue_BeforeValue()
    {
        var user = Id("user");
        await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"{{Id("o")}}","total":null,"revenue":50,"value":60,"currency":"EUR"},"messageId":"{{Id("m")}}"}
            """);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(50m, p.Statistics.TotalSpent);
    }

    // JavaScript's JSON.parse rounds integers beyond 2^53 (cloudevents/sdk-javascript#489, getsentry/sentry#6593,
    // kurrent-io/KurrentDB#1541): a numeric id or amount must keep every digit on the profile and as an identifier.
    [Fact]
    public async Task IntegersBeyond2Pow53_AndLongDecimals_KeepEveryDigit()
    {
        var n = 9_007_199_254_740_993L + (Random.Shared.NextInt64(1, 1_000_000) * 2);
        var response = await server.PostAsync("identify", $$"""
            {"userId":{{n}},"messageId":"{{Id("m")}}","traits":{"account_id":12345678901234567891,"ltv":0.1000000000000000055511151231257827,"score":19.99} }
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(n.ToString(CultureInfo.InvariantCulture)));
        Assert.True(p.TryGetTrait("account_id", out var id));
        Assert.Equal("12345678901234567891", id.GetRawText());
        Assert.True(p.TryGetTrait("ltv", out var ltv));
        Assert.Equal(0.1000000000000000055511151231257827m, ltv.GetDecimal());
        Assert.Equal("19.99", p.Traits["score"]!.ToJsonString());
        Assert.Null(await server.Client.GetProfileAsync(Identifier.CustomerId((n - 1).ToString(CultureInfo.InvariantCulture))));
    }

    // PostHog $set on a list property replaces the list; an identify's array trait sent again shorter must not keep
    // the old tail (a per-index merge would).
    [Fact]
    public async Task AnArrayTraitSentAgainShorter_ReplacesTheOldArray()
    {
        var user = Id("user");
        await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","timestamp":"2024-01-01T00:00:00Z","traits":{"tags":["a","b","c"],"address":{"city":"Paris","zip":"75001"} } }""");
        await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","timestamp":"2024-01-02T00:00:00Z","traits":{"tags":["x"]} }""");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal("[\"x\"]", p.Traits["tags"]!.ToJsonString());
        Assert.Equal("Paris", p.Traits["address"]!["city"]!.GetValue<string>());
    }

    // Segment's group call carries the company's traits (an `email` among them, billing@company): they are the group's,
    // not the user's. Read as her email, every employee of one company would become one person.
    [Fact]
    public async Task AGroupCallsCompanyEmail_IsNotLinkedToItsMembers()
    {
        var company = $"billing-{Guid.NewGuid():N}@company.example";
        var group = Id("g");
        var ann = Id("ann");
        var bob = Id("bob");
        foreach (var user in new[] { ann, bob })
        {
            var r = await server.PostAsync("group", $$"""
                {"userId":"{{user}}","groupId":"{{group}}","traits":{"name":"Acme","email":"{{company}}","plan":"enterprise"},"messageId":"{{Id("m")}}"}
                """);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        var a = await server.ProfileAsync(Identifier.CustomerId(ann));
        var b = await server.ProfileAsync(Identifier.CustomerId(bob));
        Assert.NotEqual(a.Id, b.Id);
        Assert.False(a.Has(Identifier.Email(company)));
        Assert.Null(await server.Client.GetProfileAsync(Identifier.Email(company)));
        Assert.False(a.TryGetTrait("plan", out _));
    }

    // analytics-android/-ios copy the traits they stored at the last identify onto every later event's context.traits;
    // a stale copy riding on a track must not undo a newer identify (only an identify sets traits).
    [Fact]
    public async Task StaleContextTraitsOnATrack_DoNotOverwriteTheProfile()
    {
        var user = Id("user");
        await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","timestamp":"2024-02-01T00:00:00Z","traits":{"plan":"pro"} }""");
        var r = await server.PostAsync("track", $$"""
            {"userId":"{{user}}","event":"Video Played","messageId":"{{Id("m")}}","timestamp":"2024-02-02T00:00:00Z","context":{"traits":{"plan":"free","first_name":"Old"} } }
            """);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal("pro", p.Traits["plan"]!.GetValue<string>());
        Assert.False(p.TryGetTrait("first_name", out _));
    }

    // segmentio/analytics-java#351: a trait sent as null is removed; over the endpoint the null must reach the profile.
    [Fact]
    public async Task ANullTraitInAnIdentify_RemovesIt_AndAMissingOneKeepsIt()
    {
        var user = Id("user");
        await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","timestamp":"2024-03-01T00:00:00Z","traits":{"coupon":"WELCOME","plan":"pro"} }""");
        await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","timestamp":"2024-03-02T00:00:00Z","traits":{"coupon":null} }""");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.False(p.TryGetTrait("coupon", out _));
        Assert.Equal("pro", p.Traits["plan"]!.GetValue<string>());
    }

    // A sign-up form left blank sends "email": "" (analytics.js forwards the field as typed): no identifier, no refusal.
    [Fact]
    public async Task ABlankEmailTrait_IsNoIdentifier_AndDoesNotRefuseTheIdentify()
    {
        var user = Id("user");
        var r = await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","traits":{"email":"  ","first_name":"Ann"} }""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Empty(p.IdentifierValues(IdentifierTypes.Email));
        Assert.Equal("Ann", p.Traits["first_name"]!.GetValue<string>());
    }

    // A currency in lower case or padded (PHP and hand-written server calls) is one currency, not two.
    [Fact]
    public async Task ACurrencyInLowerCaseOrPadded_IsOneCurrency()
    {
        var user = Id("user");
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"{{Id("o")}}","total":10,"currency":"eur"},"messageId":"{{Id("m")}}"}""");
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"{{Id("o")}}","total":5,"currency":" EUR "},"messageId":"{{Id("m")}}"}""");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(2, p.Statistics.OrderCount);
        Assert.Equal(15m, Assert.Single(p.Statistics.SpentByCurrency).Value);
    }

    // A numeric order_id (Shopify's) and the same id as text in the refund from another source are one order.
    [Fact]
    public async Task ANumericOrderId_AndTheSameIdAsText_AreOneOrder()
    {
        var user = Id("user");
        var order = Random.Shared.NextInt64(1_000_000, 9_999_999);
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","properties":{"order_id":{{order}},"total":10,"currency":"EUR"},"messageId":"{{Id("m")}}"}""");
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Updated","properties":{"order_id":"{{order}}","total":12,"currency":"EUR"},"messageId":"{{Id("m")}}"}""", TrackingServer.BackendKey);
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.Equal(12m, p.Statistics.TotalSpent);
    }
    // segmentio/facade#4: Segment reads traits.email whatever the key's case; forms and CRMs send "Email" and "PHONE".
    // Read only as "email", the sign-up linked nothing and her web and app profiles stayed apart.
    [Fact]
    public async Task AnEmailTraitKeyInAnotherCase_IsStillHerEmail()
    {
        var email = $"{Guid.NewGuid():N}@example.com";
        var user = Id("user");
        var anon = Id("anon");
        var r1 = await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","traits":{"Email":"{{email}}","First Name":"Ann"} }""");
        var r2 = await server.PostAsync("track", $$"""
            {"anonymousId":"{{anon}}","event":"Product Viewed","properties":{"product_id":"p1"},"messageId":"{{Id("m")}}","context":{"traits":{"EMAIL":"{{email}}"} } }
            """);
        Assert.All([r1, r2], r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.True(p.Has(Identifier.Email(email)));
        Assert.Equal(p.Id, (await server.ProfileAsync(Identifier.AnonymousId(anon))).Id);
    }

    // An exact key wins over one that differs only in case.
    [Fact]
    public async Task AnExactEmailKey_WinsOverOneInAnotherCase()
    {
        var email = $"{Guid.NewGuid():N}@example.com";
        var other = $"{Guid.NewGuid():N}@example.com";
        var user = Id("user");
        await server.PostAsync("identify", $$"""{"userId":"{{user}}","messageId":"{{Id("m")}}","traits":{"Email":"{{other}}","email":"{{email}}"} }""");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal([email], p.IdentifierValues(IdentifierTypes.Email));
    }

    // Mixpanel and Amplitude take a refund as negative revenue, and shops send "Order Refunded" so: a partial refund of
    // -30 is one return of 30 (not -30, which would read as money gained), and the order stays counted gross.
    [Fact]
    public async Task ARefundSentAsNegativeRevenue_IsAReturnOfItsAmount()
    {
        var user = Id("user");
        var order = Id("o");
        await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Completed","properties":{"order_id":"{{order}}","total":100,"currency":"EUR"},"messageId":"{{Id("m")}}"}""");
        var r = await server.PostAsync("track", $$"""{"userId":"{{user}}","event":"Order Refunded","properties":{"order_id":"{{order}}","revenue":-30,"currency":"EUR"},"messageId":"{{Id("m")}}"}""");
        var p = await server.ProfileAsync(Identifier.CustomerId(user));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(1, p.Statistics.ReturnCount);
        Assert.Equal(30m, p.Statistics.ReturnValue);
        Assert.Equal(100m, p.Statistics.TotalSpent);
    }
}
