using System.Globalization;
using System.Numerics;
using System.Text.Json;
using FsCheck.Xunit;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Left alone by the thirty-fourth session, taken up in the thirty-fifth: one id sent as <c>42</c> and as <c>42.0</c> named
/// two orders and two carts.
/// </summary>
public sealed class LeftAlone34Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly DateTimeOffset Afternoon = new(2026, 1, 5, 14, 0, 0, TimeSpan.Zero);

    // A shop whose order export passes ids through floating point (a pandas column of ids with a gap is floats; PHP and
    // Python write a float's ".0") re-sends order 1001 as 1001.0: that is the same order, updated, not a second one.
    [Theory]
    [InlineData("1001.0")]
    [InlineData("1.001e3")]
    [InlineData("1001.000")]
    [InlineData("\"1001\"")]
    public async Task AnOrderIdSentAsAnotherFormOfTheSameNumber_IsTheSameOrder(string sameId)
    {
        await using var host = OmnichannelTestHost.Create(start: Afternoon);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("""{"order_id": 1001, "total": 20, "currency": "GBP"}"""));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("{\"order_id\": " + sameId + ", \"total\": 25, \"currency\": \"GBP\"}"));

        var statistics = (await host.ProfileAsync(Ann)).Statistics;
        Assert.Equal(1, statistics.OrderCount);
        Assert.Equal(25m, statistics.TotalSpent);
    }

    // Numbers that are not the same stay two orders, however close their texts; one beyond decimal's range keeps its text.
    [Theory]
    [InlineData("1001", "10010")]
    [InlineData("1001", "1001.5")]
    [InlineData("1e40", "1e41")]
    [InlineData("0", "1e-40")]
    [InlineData("12345678901234567890123456789.1", "12345678901234567890123456789.2")] // decimal would round both to one
    [InlineData("1.00000000000000000000000000001", "1")]
    public async Task DifferentNumbers_AreDifferentOrders(string first, string second)
    {
        await using var host = OmnichannelTestHost.Create(start: Afternoon);
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("{\"order_id\": " + first + ", \"total\": 20, \"currency\": \"GBP\"}"));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("{\"order_id\": " + second + ", \"total\": 25, \"currency\": \"GBP\"}"));

        Assert.Equal(2, (await host.ProfileAsync(Ann)).Statistics.OrderCount);
    }

    // A journey correlated by cart_id: the cart was added as 42 and the order names it as 42.0. Before, that order was for
    // "another cart": the running entry was not stopped by its goal (her reminder went out after she had paid), and the
    // ended entry was not converted.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ACartIdSentAsAnotherFormOfTheSameNumber_IsTheSameCart_ForTheJourneysGoal(bool afterTheReminder)
    {
        await using var rig = JourneyRig.Create([LeftAlone33Tests.CartJourney()], start: Afternoon);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], JsonData.Parse("""{"cart_id": 42, "product_id": "p1", "quantity": 1}"""));
        if (afterTheReminder)
        {
            await rig.AdvanceAsync(TimeSpan.FromHours(2));
        }

        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], JsonData.Parse("""{"order_id": "o1", "cart_id": 42.0, "total": 20}"""));
        await rig.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Equal(afterTheReminder ? ["email:cart"] : [], rig.Sent());
        Assert.Equal(1, (await rig.Engine.GetJourneyStatisticsAsync("cart")).Converted);
    }

    // Kept as it was (left alone last session as a possible defect, decided here): her guest profile and her account
    // entered one segment at the same tick, and the merge keeps one "entered" entry at that tick, not two. The transition
    // is hers: had she logged in first, one profile would have entered once at that tick, and a merged timeline must not
    // depend on the order her events arrived in (naming the entry by profile made AuditBOBatchOrderProperties fail).
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SegmentEntriesOfBothProfilesAtOneTick_AreOneEntryAfterLogin_AsIfSheHadBeenOneProfile(bool loggedInFirst)
    {
        await using var host = OmnichannelTestHost.Create(
            o => o.Segments.Add(Segment.Define("viewers", "Viewers").Where(r => r.Event(EventTypes.ProductViewed).Count(c => c.Gte(1))).Build()),
            start: Afternoon);
        if (loggedInFirst)
        {
            await host.TrackAsync("user.logged_in", [Ann, Cookie], at: Afternoon.AddMinutes(-1));
        }

        await host.TrackAsync(EventTypes.ProductViewed, [Cookie], new { product_id = "p1" }, at: Afternoon);
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p2" }, at: Afternoon);
        if (!loggedInFirst)
        {
            await host.TrackAsync("user.logged_in", [Ann, Cookie]);
        }

        var profile = await host.ProfileAsync(Ann);
        Assert.Equal((await host.ProfileAsync(Cookie)).Id, profile.Id);
        Assert.Equal(Afternoon, Assert.Single(profile.Timeline, t => t.Type == EventTypes.SegmentEntered).Timestamp);
        Assert.Equal(2, profile.Timeline.Count(t => t.Type == EventTypes.ProductViewed));
    }

    // Any number, written as a plain decimal with trailing zeros or as digits and an exponent: the two forms are one id
    // when decimal holds the number exactly, and two different numbers are never one id (decimal's rounding would make
    // 29-digit ids collide, so those keep their text).
    [Property(MaxTest = 500)]
    public void NumericIdText_IsOnePerNumber_AndNeverOneForTwoNumbers(long mantissa, byte scaleSeed, byte zerosSeed, long otherMantissa, byte otherScaleSeed)
    {
        int scale = scaleSeed % 34, zeros = zerosSeed % 4, otherScale = otherScaleSeed % 34;
        string Plain(long m, int sc, int z)
        {
            var digits = BigInteger.Abs(m).ToString(CultureInfo.InvariantCulture).PadLeft(sc + 1, '0');
            var text = sc == 0 ? digits : digits[..^sc] + "." + digits[^sc..];
            return (m < 0 ? "-" : "") + text + (z > 0 ? (sc == 0 ? "." : "") + new string('0', z) : "");
        }

        string Exponent(long m, int sc) => m.ToString(CultureInfo.InvariantCulture) + "e-" + sc.ToString(CultureInfo.InvariantCulture);
        string Key(string json) => NumericKey.Text(JsonDocument.Parse(json).RootElement);

        var exact = scale <= 28 && BigInteger.Abs(mantissa).ToString(CultureInfo.InvariantCulture).TrimEnd('0').Length <= 28;
        if (exact)
        {
            Assert.Equal(Key(Plain(mantissa, scale, 0)), Key(Plain(mantissa, scale, zeros)));
            Assert.Equal(Key(Plain(mantissa, scale, 0)), Key(Exponent(mantissa, scale)));
        }

        // Equal as numbers: m1 / 10^s1 == m2 / 10^s2.
        var same = new BigInteger(mantissa) * BigInteger.Pow(10, otherScale) == new BigInteger(otherMantissa) * BigInteger.Pow(10, scale);
        if (same && exact)
        {
            Assert.Equal(Key(Plain(mantissa, scale, zeros)), Key(Exponent(otherMantissa, otherScale)));
        }
        else if (!same)
        {
            Assert.NotEqual(Key(Plain(mantissa, scale, zeros)), Key(Plain(otherMantissa, otherScale, 0)));
            Assert.NotEqual(Key(Exponent(mantissa, scale)), Key(Exponent(otherMantissa, otherScale)));
        }
    }
}
