using System.Text.Json;
using System.Text.Json.Serialization;

namespace Omnichannel.Sdk.CrashTests;

/// <summary>What one customer's events add up to, to compare with the profile after the crashes.</summary>
/// <param name="CustomerId">The shop's customer id.</param>
/// <param name="Email">The email address.</param>
/// <param name="AnonymousId">The anonymous id of the device the customer browsed on before logging in there.</param>
public sealed record ExpectedCustomer(string CustomerId, string Email, string AnonymousId)
{
    /// <summary>The ids of every event of this customer.</summary>
    public List<string> EventIds { get; } = [];

    /// <summary>The order events.</summary>
    public List<string> OrderEventIds { get; } = [];

    /// <summary>The sum of the order totals.</summary>
    public decimal TotalSpent { get; set; }

    /// <summary>The sum of the loyalty points earned.</summary>
    public decimal LoyaltyPoints { get; set; }
}

/// <summary>
/// A deterministic stream of events for many customers, each reused for many events: every customer signs up, browses
/// anonymously on a second device, logs in there (merging the anonymous profile into hers), then views, adds to
/// cart, orders and earns points in a seeded random mix.
/// </summary>
public sealed class CrashScenario
{
    private static readonly JsonSerializerOptions WriteOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault };

    private CrashScenario(IReadOnlyList<CustomerEvent> events, IReadOnlyList<ExpectedCustomer> customers)
    {
        Events = events;
        Customers = customers;
    }

    /// <summary>The events, in the order the worker tracks them.</summary>
    public IReadOnlyList<CustomerEvent> Events { get; }

    /// <summary>What each customer's events add up to.</summary>
    public IReadOnlyList<ExpectedCustomer> Customers { get; }

    /// <summary>The ids of the events that ask for a message (the orders).</summary>
    public IEnumerable<CustomerEvent> Orders => Events.Where(e => e.Type == EventTypes.OrderPlaced);

    /// <summary>Generates the stream.</summary>
    /// <param name="seed">The seed: the same seed gives the same events.</param>
    /// <param name="eventCount">How many events.</param>
    /// <param name="customerCount">How many customers.</param>
    public static CrashScenario Generate(int seed, int eventCount, int customerCount)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
        var customers = Enumerable.Range(0, customerCount)
            .Select(c => new ExpectedCustomer($"C-{c:000}", $"customer{c:000}@crash.example", $"anon-{c:000}"))
            .ToList();
        var steps = new int[customerCount];
        var events = new List<CustomerEvent>(eventCount);
        for (var i = 0; i < eventCount; i++)
        {
            // The first customerCount events introduce everyone, so each gets many events afterwards.
            var c = i < customerCount ? i : random.Next(customerCount);
            var customer = customers[c];
            var id = $"E{i:00000}";
            var at = start.AddSeconds(i * 7);
            var customerId = Identifier.CustomerId(customer.CustomerId);
            var anonymous = Identifier.AnonymousId(customer.AnonymousId);
            var e = steps[c]++ switch
            {
                0 => Event(id, "user.signed_up", at, [customerId, Identifier.Email(customer.Email)], new { plan = "basic" }),
                1 => Event(id, EventTypes.ProductViewed, at, [anonymous], new { product_id = "P-1", price = 12.5m }),
                2 => Event(id, EventTypes.CartItemAdded, at, [anonymous], new { product_id = "P-1", quantity = 1, price = 12.5m }),
                3 => Event(id, "user.logged_in", at, [anonymous, customerId], new { method = "password" }),
                _ => random.Next(10) switch
                {
                    < 3 => Event(id, EventTypes.ProductViewed, at, [customerId], new { product_id = $"P-{random.Next(40)}", price = 20m }),
                    < 5 => Event(id, EventTypes.CartItemAdded, at, [customerId], new { product_id = $"P-{random.Next(40)}", quantity = 1 + random.Next(3), price = 20m }),
                    < 7 => Order(id, at, customer, random.Next(500, 30_000) / 100m),
                    _ => Points(id, at, customer, random.Next(1, 200)),
                },
            };
            customer.EventIds.Add(id);
            events.Add(e);
        }

        return new CrashScenario(events, customers);
    }

    /// <summary>Writes the events as JSON lines.</summary>
    /// <param name="path">The file.</param>
    public void Write(string path) =>
        File.WriteAllLines(path, Events.Select(e => JsonSerializer.Serialize(e, WriteOptions)));

    private static CustomerEvent Order(string id, DateTimeOffset at, ExpectedCustomer customer, decimal total)
    {
        customer.OrderEventIds.Add(id);
        customer.TotalSpent += total;
        return Event(id, EventTypes.OrderPlaced, at, [Identifier.CustomerId(customer.CustomerId), Identifier.Email(customer.Email)],
            new { order_id = "O-" + id, total, currency = "USD", items = 1 });
    }

    private static CustomerEvent Points(string id, DateTimeOffset at, ExpectedCustomer customer, int points)
    {
        customer.LoyaltyPoints += points;
        return Event(id, EventTypes.LoyaltyPointsEarned, at, [Identifier.CustomerId(customer.CustomerId)], new { points });
    }

    private static CustomerEvent Event(string id, string type, DateTimeOffset at, IReadOnlyList<Identifier> identifiers, object properties) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = identifiers,
        Properties = JsonData.From(properties),
    };
}
