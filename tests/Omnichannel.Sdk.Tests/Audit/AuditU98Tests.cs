using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U98: trust defects left alone earlier, round 12 (docs/design-notes.md). Public API, the test kit's fake clock,
/// in-memory store; the stored document through <see cref="ProfileSerializer"/>.
/// </summary>
public sealed class AuditU98Tests
{
    private static readonly DateTimeOffset Start = new(2026, 7, 1, 10, 0, 0, TimeSpan.Zero);

    // ---- 1. A bounce heard on a profile that did not hold the address, lifted, then the address linked there ----
    // Left alone by session 58 ("U87's property in CI"). Her cookie's profile reports a bounce of an address nobody holds
    // (a hard bounce, or a soft-bounce run); the host lifts the address (IsSuppressedAsync true before, false after); she
    // then signs up on that browser, which links the address to the cookie's profile. The profile refused her mail while
    // IsSuppressedAsync said no.
    [Theory]
    [InlineData(true, MessageClass.Transactional)]
    [InlineData(true, MessageClass.Marketing)]
    [InlineData(false, MessageClass.Transactional)]
    [InlineData(false, MessageClass.Marketing)]
    public async Task ABounceLiftedBeforeTheAddressIsLinkedToItsProfile_StaysLifted(bool hard, MessageClass kind)
    {
        var (host, email) = BounceHost();
        await using var _ = host;
        var (cookie, address) = (Identifier.AnonymousId("cookie-98"), Identifier.Email("ann-98@example.com"));
        await host.TrackAsync(EventTypes.ProductViewed, [cookie], new { product_id = "p1" });
        await ReportBouncesAsync(host, cookie, address, hard, 1);
        Assert.True(await host.Client.IsSuppressedAsync(address));

        Assert.True(await host.Client.LiftErasureAsync(address));
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync("user.signed_up", [cookie, address]);
        await host.TrackAsync(EventTypes.ConsentChanged, [cookie], new { channel = "email", granted = true });

        Assert.False(await host.Client.IsSuppressedAsync(address));
        var sent = await host.Client.SendAsync(cookie, new MessageRequest { Key = "k-98", Channels = [ChannelNames.Email], TemplateId = "hello", Class = kind });
        Assert.Equal(SendStatus.Queued, sent.Status);
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);
    }

    // The same when the address came to her through another profile: after the lift she signs up on her account (a new
    // profile holding the address), then logs in on the browser whose cookie reported the bounce; the merge, in either
    // direction, brought the cookie's suppression to the profile that holds the address (no lift mark was written there:
    // no profile held the address at the lift).
    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public async Task ABounceLiftedBeforeItsProfileMergesWithTheAddresss_StaysLifted(bool hard, bool accountAbsorbs)
    {
        var (host, email) = BounceHost();
        await using var _ = host;
        var (cookie, ann, address) = (Identifier.AnonymousId("cookie-98m"), Identifier.CustomerId("ann-98m"), Identifier.Email("ann-98m@example.com"));
        await host.TrackAsync(EventTypes.ProductViewed, [cookie], new { product_id = "p1" });
        await ReportBouncesAsync(host, cookie, address, hard, 1);
        Assert.True(await host.Client.LiftErasureAsync(address));
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await host.TrackAsync("user.signed_up", [ann, address]);
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true });
        await host.TrackAsync("user.logged_in", accountAbsorbs ? [ann, cookie] : [cookie, ann]);

        Assert.False(await host.Client.IsSuppressedAsync(address));
        var sent = await host.Client.SendAsync(ann, new MessageRequest { Key = "k-98m", Channels = [ChannelNames.Email], TemplateId = "hello", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, sent.Status);
        await host.Engine.RunDispatchAsync();
        Assert.Single(email.Messages);
    }

    // The other side: a bounce heard after the lift (on that profile, or on another) is a new fact, and the link keeps it.
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task ABounceHeardAfterTheLift_StillSuppressesWhenTheAddressIsLinked(bool hard, bool onAnotherProfile)
    {
        var (host, email) = BounceHost();
        await using var _ = host;
        var (cookie, other, address) = (Identifier.AnonymousId("cookie-98b"), Identifier.AnonymousId("other-98b"), Identifier.Email("ann-98b@example.com"));
        await host.TrackAsync(EventTypes.ProductViewed, [cookie], new { product_id = "p1" });
        await ReportBouncesAsync(host, cookie, address, hard, 1);
        Assert.True(await host.Client.LiftErasureAsync(address));
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        await ReportBouncesAsync(host, onAnotherProfile ? other : cookie, address, hard, 10);
        await host.TrackAsync("user.signed_up", [cookie, address]);
        await host.TrackAsync(EventTypes.ConsentChanged, [cookie], new { channel = "email", granted = true });

        Assert.True(await host.Client.IsSuppressedAsync(address));
        var sent = await host.Client.SendAsync(cookie, new MessageRequest { Key = "k-98b", Channels = [ChannelNames.Email], TemplateId = "hello", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Skipped, sent.Status);
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }

    // Session 58's CI seed of U87's property (a soft-bounce run heard under her customer id between her email's erasure and
    // its lift, then her sign-up linking the email there: "email: profile suppresses True, IsSuppressedAsync False"), with
    // the property no longer excluding bounces heard between an erasure and its lift.
    [Property(Arbitrary = [typeof(U87StepArbitrary)], MaxTest = 1, Replay = "(1579394500160618796,1071768331445392697,82)")]
    public void U87sSeed_ASoftRunHeardBetweenAnErasureAndItsLift_AgreesWithTheStoresList(U87Step[] steps) =>
        AuditU87Properties.RunAsync(steps).GetAwaiter().GetResult();

    // With no lift at all, a bounce the profile heard before the address was linked suppresses it there (as before U98).
    [Fact]
    public async Task ABounceNeverLifted_StillSuppressesWhenTheAddressIsLinked()
    {
        var (host, email) = BounceHost();
        await using var _ = host;
        var (cookie, address) = (Identifier.AnonymousId("cookie-98c"), Identifier.Email("ann-98c@example.com"));
        await ReportBouncesAsync(host, cookie, address, hard: true, 1);
        await host.TrackAsync("user.signed_up", [cookie, address]);
        await host.TrackAsync(EventTypes.ConsentChanged, [cookie], new { channel = "email", granted = true });
        var sent = await host.Client.SendAsync(cookie, new MessageRequest { Key = "k-98c", Channels = [ChannelNames.Email], TemplateId = "hello", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Skipped, sent.Status);
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }

    private static async Task ReportBouncesAsync(OmnichannelTestHost host, Identifier on, Identifier address, bool hard, int first)
    {
        for (var i = 0; i < (hard ? 1 : 3); i++)
        {
            await host.TrackAsync(EventTypes.MessageBounced, [on], new { channel = "email", address = address.Value, message_id = $"host-{first + i}", bounce_type = hard ? "hard" : "soft" });
            await host.AdvanceAsync(TimeSpan.FromHours(1));
        }
    }

    private static (OmnichannelTestHost Host, RecordingTransport Email) BounceHost()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            start: Start,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        return (host, email);
    }

    // ---- 2. A profile stored before U96 holding only returns in a currency read ReturnValue 0 ----
    // Left alone by U96 and review rv59: until her next return (or a merge) recomputed her returns; a new order naming no
    // currency (the O(1) path) did not. A return-only document as U96's code before wrote it: no returnHeadlineCurrency,
    // no headline currency, ReturnValue 0.
    [Fact]
    public void AReturnOnlyProfileStoredBeforeU96_ReadsItsReturnValue_AndKeepsItAfterAnOrderNamingNoCurrency()
    {
        var p = new CustomerProfile("p98", Start);
        ProfileFacts.ApplyReturn(p, "return:r1", 12.5m, "GBP", null, Start, "r1", null);
        ProfileFacts.ApplyReturn(p, "return:r2", 7.5m, "GBP", null, Start.AddMinutes(1), "r2", null);
        Assert.Equal(("GBP", 20m), (p.Statistics.Currency, p.Statistics.ReturnValue));

        var json = JsonNode.Parse(ProfileSerializer.Serialize(p))!.AsObject();
        var statistics = json["statistics"]!.AsObject();
        Assert.True(statistics.Remove("returnHeadlineCurrency"));
        statistics.Remove("currency");
        statistics["returnValue"] = 0;
        var old = ProfileSerializer.Deserialize(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString()), 3);
        Assert.Equal(("GBP", 20m), (old.Statistics.Currency, old.Statistics.ReturnValue));

        ProfileFacts.ApplyOrder(old, "order:o1", 40m, null, Start.AddMinutes(2), "o1", null);
        Assert.Equal(("GBP", 20m, 40m), (old.Statistics.Currency, old.Statistics.ReturnValue, old.Statistics.TotalSpent));
        Assert.Equal(ProfileSerializer.Serialize(old), ProfileSerializer.Serialize(ProfileSerializer.Deserialize(ProfileSerializer.Serialize(old), 4)));
    }

    // A document that is right already (an order names the currency, or returns name none) is read as it was written.
    [Fact]
    public void ProfilesStoredWithAHeadlineOrNoCurrency_AreReadAsWritten()
    {
        var withOrder = new CustomerProfile("p98o", Start);
        ProfileFacts.ApplyOrder(withOrder, "order:o1", 40m, "EUR", Start, "o1", null);
        ProfileFacts.ApplyReturn(withOrder, "return:r1", 5m, "GBP", null, Start.AddMinutes(1), "r1", null);
        var none = new CustomerProfile("p98n", Start);
        ProfileFacts.ApplyReturn(none, "return:r1", 5m, null, null, Start, "r1", null);
        foreach (var p in new[] { withOrder, none })
        {
            var bytes = ProfileSerializer.Serialize(p);
            Assert.Equal(bytes, ProfileSerializer.Serialize(ProfileSerializer.Deserialize(bytes, 1)));
        }
    }
    // ---- 3. An order's credited goal record evicted by the per-journey cap before its late first report ----
    // Left alone by review rv59. Two entries (08:00, 08:12) of a journey whose goal is any order within 15 minutes. o0 is
    // placed at 08:09 and corrected at 08:22; twenty other orders follow from 08:30 (past both windows). In time order the
    // 08:09 report converts the 08:00 entry and the rest convert nothing: one conversion. With the correction first it
    // converts the 08:12 entry (o0's goal record credited); the twenty orders' records then pushed o0's out (20 per
    // journey, the oldest first), and o0's first report, arriving last, converted the 08:00 entry too.
    private static readonly Identifier Who = Identifier.CustomerId("u98");
    private static readonly DateTimeOffset Eight = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1); // 08:00

    private static CustomerEvent Order(string id, int minute, object properties) => new()
    {
        Id = id,
        Type = EventTypes.OrderPlaced,
        Timestamp = Eight + TimeSpan.FromMinutes(minute),
        Identifiers = [Who],
        Channel = ChannelNames.Web,
        Properties = JsonData.From(properties),
    };

    [Theory]
    [InlineData(false, 20)]
    [InlineData(true, 20)]
    [InlineData(true, 25)]
    [InlineData(true, 3)]
    public async Task AnOrdersLateFirstReport_AfterTwentyOtherOrders_ConvertsNoSecondEntry(bool correctionFirst, int others)
    {
        var journey = JourneyRig.Parse(AuditU95Tests.TwoEntriesOneGoal);
        await using var rig = JourneyRig.Create([journey], start: Eight);
        await rig.TrackAsync("user.signed_up", [Who, Identifier.Email("u98@example.com")]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(12));
        await rig.TrackAsync(EventTypes.CartItemAdded, [Who], new { product_id = "p2" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(48)); // 09:00
        var first = Order("o0-first", 9, new { order_id = "o0", total = 150, currency = "EUR" });
        var fixedReport = Order("o0-fixed", 22, new { order_id = "o0", total = 50, currency = "EUR" });
        var rest = Enumerable.Range(1, others).Select(k => Order($"o{k}", 29 + k, new { order_id = $"o{k}", total = 20, currency = "EUR" }));
        CustomerEvent[] arrival = correctionFirst ? [fixedReport, .. rest, first] : [first, fixedReport, .. rest];
        foreach (var e in arrival)
        {
            Assert.True((await rig.Host.TrackAsync(e)).IsAcknowledged);
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(4));
        var s = await rig.Engine.GetJourneyStatisticsAsync("two");
        Assert.Equal((2L, 1L), (s.Entered, s.Converted));
    }
}
