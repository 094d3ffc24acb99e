using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// An order sent again (the same order id: a shop's webhook on each change) moves the order statistics in place when its
/// time, first event and currency stay, instead of walking every order she has. The statistics must stay byte for byte
/// what a walk of her orders gives, decimals' scale included (10.50 is written "10.50", not "10.5").
/// </summary>
public sealed class OrderUpdatesInPlaceProperties
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    // Scales from 0 to 10 (past the in-place bound of 8), negatives, and totals too large for an exact sum of three.
    private static readonly decimal[] Totals =
    [
        0m, 1m, 10.5m, 10.50m, 10.505m, 3.00000001m, 7.0000000001m, -2.5m, 99.99m, 20.05m, 1_000_000_000_000_000_000m,
        123456789012345678.12345678m, 0.1m, 5.000m,
    ];

    private static readonly string?[] Currencies = ["GBP", "EUR", null];

    private static string Statistics(ProfileStatistics s) => JsonSerializer.Serialize(s);

    // The statistics a walk of her orders gives: her orders copied in their order onto a fresh profile, then recomputed.
    private static string Walked(CustomerProfile p, string? shopCurrency)
    {
        var copy = new CustomerProfile("copy", Start);
        foreach (var (key, order) in p.Orders)
        {
            copy.Orders[key] = order;
        }

        ProfileFacts.RecomputeOrders(copy, shopCurrency);
        return Statistics(copy.Statistics);
    }

    [Property(MaxTest = 500)]
    public void OrdersPlacedAndSentAgain_GiveTheStatisticsAWalkOfHerOrdersGives(NonNegativeInt[] steps, bool shopCurrency)
    {
        var shop = shopCurrency ? "GBP" : null;
        var p = new CustomerProfile("p", Start);
        var n = 0;
        foreach (var step in steps)
        {
            n++;
            var h = unchecked((uint)((step.Get * 2654435761L) + (n * 40503L))); // the step's bits spread over each choice

            // Mostly one of a few orders again (an update), sometimes a new one; its time before, at or after the known
            // one's; its currency mostly the order's own (one per key), now and then another or none.
            var k = h % 7;
            var key = $"order:{k}";
            var total = Totals[(h >> 3) % Totals.Length];
            var currency = (h >> 8) % 5 == 0 ? Currencies[(h >> 11) % 3] : Currencies[k % 3];
            var at = Start.AddMinutes((h >> 14) % 6 * 10);
            ProfileFacts.ApplyOrder(p, key, total, currency, at, $"e{n:D4}", shop);
            Assert.Equal(Walked(p, shop), Statistics(p.Statistics));
        }
    }

    [Fact]
    public void AnUpdateKeepingItsTimeAndCurrency_MovesTheStatisticsWithoutAWalk()
    {
        var p = new CustomerProfile("p", Start);
        for (var i = 0; i < 500; i++)
        {
            ProfileFacts.ApplyOrder(p, $"order:{i}", 20 + i, "GBP", Start.AddMinutes(i), $"o{i:D4}", null);
        }

        // A mark a walk would put right: an update moved in place leaves it (the only way to see that no walk ran).
        var walked = p.Statistics.FirstOrderAt;
        p.Statistics.FirstOrderAt = Start.AddYears(-1);
        ProfileFacts.ApplyOrder(p, "order:250", 19.99m, "GBP", Start.AddDays(1), "u1", null);
        Assert.Equal(Start.AddYears(-1), p.Statistics.FirstOrderAt);
        Assert.Equal((Enumerable.Range(0, 500).Sum(i => 20m + i)) - 270m + 19.99m, p.Statistics.SpentByCurrency["GBP"]);
        Assert.Equal(500, p.Statistics.OrderCount);

        // Its time moved earlier (an earlier event about it came late): the first order may change, so her orders are walked.
        ProfileFacts.ApplyOrder(p, "order:250", 19.99m, "GBP", Start.AddMinutes(-5), "u0", null);
        Assert.Equal(Start.AddMinutes(-5), p.Statistics.FirstOrderAt);
        Assert.NotEqual(walked, p.Statistics.FirstOrderAt);
    }

    [Theory]
    [InlineData("10.505", "10.5")] // the old total had more decimals: "x.xx0" would stay in the sum
    [InlineData("10.5", "11")]
    [InlineData("3", "1000000000000000000")] // too large for an exact sum
    public void AnUpdateTheSumCouldNotTakeExactly_IsWalked_AndWrittenAsAWalkWrites(string before, string after)
    {
        var p = new CustomerProfile("p", Start);
        ProfileFacts.ApplyOrder(p, "order:a", 2.25m, "GBP", Start, "a", null);
        ProfileFacts.ApplyOrder(p, "order:b", decimal.Parse(before, System.Globalization.CultureInfo.InvariantCulture), "GBP", Start.AddMinutes(1), "b", null);
        ProfileFacts.ApplyOrder(p, "order:b", decimal.Parse(after, System.Globalization.CultureInfo.InvariantCulture), "GBP", Start.AddMinutes(2), "b2", null);
        Assert.Equal(Walked(p, null), Statistics(p.Statistics));
        Assert.Equal(2.25m + decimal.Parse(after, System.Globalization.CultureInfo.InvariantCulture), p.Statistics.SpentByCurrency["GBP"]);
    }

    [Fact]
    public void AnEventBetweenAnOrdersFirstAndNewest_ChangesNothing_NorIsWrittenAgain()
    {
        var p = new CustomerProfile("p", Start);
        ProfileFacts.ApplyOrder(p, "order:a", 10m, "GBP", Start, "a1", null);
        ProfileFacts.ApplyOrder(p, "order:a", 12m, "GBP", Start.AddHours(2), "a3", null);
        var version = p.Orders.Version;
        var order = p.Orders["order:a"];

        ProfileFacts.ApplyOrder(p, "order:a", 11m, "GBP", Start.AddHours(1), "a2", null);

        Assert.Same(order, p.Orders["order:a"]);
        Assert.Equal(version, p.Orders.Version);
        Assert.Equal(12m, p.Statistics.TotalSpent);
    }
}
