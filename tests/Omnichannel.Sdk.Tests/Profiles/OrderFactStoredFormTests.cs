using System.Text;
using System.Text.Json;
using FsCheck.Xunit;
using Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// The stored form of order facts (orders, returns, tallies): written by <see cref="OrderFactConverter"/>, which leaves
/// out <c>updatedAt</c> and <c>firstEventId</c> when a reader gets them back anyway. Every fact reads back as it was, and
/// documents written before (every member present) read the same.
/// </summary>
public sealed class OrderFactStoredFormTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Any facts, in every one of the three kept dictionaries, read back member for member.</summary>
    [Property(MaxTest = 300)]
    public void AnyFact_ReadsBackAsItWas(int[] seeds, int[] cents)
    {
        var facts = seeds.Zip(cents.Length == 0 ? [0] : cents.Concat(seeds).ToArray(), OrderFactCases.Fact).Take(30).ToArray();
        var p = new CustomerProfile("p1", Start);
        for (var i = 0; i < facts.Length; i++)
        {
            var target = (i % 3) switch { 0 => p.Orders, 1 => p.Returns, _ => p.Tallies };
            target[$"k{i}"] = facts[i];
        }

        var read = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), 1);
        for (var i = 0; i < facts.Length; i++)
        {
            var source = (i % 3) switch { 0 => read.Orders, 1 => read.Returns, _ => read.Tallies };
            AssertSame(facts[i], source[$"k{i}"]);
        }

        // And written again, the same bytes (nothing drifts over reloads).
        Assert.Equal(ProfileSerializer.Serialize(p), ProfileSerializer.Serialize(read));
    }

    [Fact]
    public void AFactOfOneReport_LeavesOutWhatItsReaderGetsBack()
    {
        var p = new CustomerProfile("p1", Start);
        ProfileFacts.PutOrder(p, "order:o1", 12.50m, "EUR", Start, "e1");
        var json = Encoding.UTF8.GetString(ProfileSerializer.Serialize(p));
        Assert.Contains("\"order:o1\":{\"total\":12.50,\"currency\":\"EUR\",\"at\":\"2026-03-01T09:00:00+00:00\",\"eventId\":\"e1\"}", json, StringComparison.Ordinal);

        // Corrected later: both times and both events are kept.
        ProfileFacts.PutOrder(p, "order:o1", 10m, "EUR", Start.AddHours(1), "e2");
        json = Encoding.UTF8.GetString(ProfileSerializer.Serialize(p));
        Assert.Contains("\"updatedAt\":\"2026-03-01T10:00:00+00:00\"", json, StringComparison.Ordinal);
        Assert.Contains("\"firstEventId\":\"e1\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void ADocumentWrittenBefore_WithEveryMember_ReadsTheSame()
    {
        var p = new CustomerProfile("p1", Start);
        ProfileFacts.PutOrder(p, "order:o1", 0.00m, null, Start, "e1", new Dictionary<string, OrderLine> { ["sku-1"] = new(2, 4.5m, "S1") });
        var written = Encoding.UTF8.GetString(ProfileSerializer.Serialize(p));
        var old = written.Replace(
            "\"at\":\"2026-03-01T09:00:00+00:00\",\"eventId\":\"e1\"",
            "\"at\":\"2026-03-01T09:00:00+00:00\",\"updatedAt\":\"2026-03-01T09:00:00+00:00\",\"eventId\":\"e1\",\"firstEventId\":\"e1\"",
            StringComparison.Ordinal);
        Assert.NotEqual(written, old);
        var read = ProfileSerializer.Deserialize(Encoding.UTF8.GetBytes(old), 1);
        AssertSame(p.Orders["order:o1"], read.Orders["order:o1"]);
        Assert.Equal(2, read.Orders["order:o1"].Total.Scale);
    }

    [Fact]
    public void AFactThatIsNotAnObject_IsRejectedWithWhatItIs()
    {
        var error = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<OrderFact>("[1]", ProfileSerializer.Options));
        Assert.Contains("StartArray", error.Message, StringComparison.Ordinal);
    }

    private static void AssertSame(OrderFact expected, OrderFact actual)
    {
        Assert.Equal(expected.Total, actual.Total);
        Assert.Equal(expected.Total.Scale, actual.Total.Scale);
        Assert.Equal(expected.Currency, actual.Currency);
        Assert.Equal(expected.At, actual.At);
        Assert.Equal(expected.At.Offset, actual.At.Offset);
        Assert.Equal(expected.UpdatedAt, actual.UpdatedAt);
        Assert.Equal(expected.UpdatedAt.Offset, actual.UpdatedAt.Offset);
        Assert.Equal(expected.EventId, actual.EventId);
        Assert.Equal(expected.FirstEventId, actual.FirstEventId);
        Assert.Equal(expected.Order, actual.Order);
        Assert.Equal(
            expected.Lines is { Count: > 0 } e ? e.OrderBy(x => x.Key, StringComparer.Ordinal).ToList() : null,
            actual.Lines?.OrderBy(x => x.Key, StringComparer.Ordinal).ToList());
    }
}

/// <summary>Order facts with the cases that matter: equal or different times, offsets and events, zeros with decimals.</summary>
internal static class OrderFactCases
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    // One seed picks every choice, spread by a fixed multiplicative hash (FsCheck's small ints would otherwise pick the
    // same few cases).
    public static OrderFact Fact(int seed, int cents)
    {
        var h = (uint)seed * 2654435761u;
        int Pick(int bits, int modulo) => (int)((h >> bits) % (uint)modulo);
        var scale = (byte)Pick(0, 4);
        var magnitude = (uint)Math.Abs((long)cents);
        var total = Pick(2, 5) == 0 ? new decimal(0, 0, 0, false, scale) : new decimal((int)magnitude, 0, 0, cents < 0, scale);
        TimeSpan[] offsets = [TimeSpan.Zero, TimeSpan.FromHours(2), TimeSpan.FromMinutes(-330)];
        var at = (Start + TimeSpan.FromMinutes(Pick(5, 500))).ToOffset(offsets[Pick(8, 3)]);
        var updated = Pick(10, 3) switch
        {
            0 => at,
            1 => at.ToOffset(offsets[Pick(12, 3)]), // the same instant, maybe another offset
            _ => at + TimeSpan.FromSeconds(1 + Pick(14, 1000)),
        };
        var eventId = "e" + Pick(16, 50);
        var firstEventId = Pick(19, 2) == 0 ? eventId : "e" + Pick(21, 50);
        Dictionary<string, OrderLine>? lines = Pick(24, 4) switch
        {
            0 => null,
            1 => [],
            _ => new() { ["sku-" + Pick(26, 3)] = new(1 + Pick(28, 3), Pick(29, 2) == 0 ? null : 2.50m, Pick(30, 2) == 0 ? null : "S") },
        };
        return new OrderFact(total, Pick(3, 3) == 0 ? null : "EUR", at, updated, eventId, firstEventId, Pick(6, 2) == 0 ? null : "order:o1", lines);
    }
}
