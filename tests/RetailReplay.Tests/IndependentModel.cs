using System.Globalization;
using System.IO.Compression;

namespace RetailReplay.Tests;

/// <summary>One invoice as the mapping rules describe it, built without the sample's code.</summary>
/// <param name="FileOrder">Position of the invoice's first line in the file; the replay breaks time ties by it.</param>
/// <param name="Person">The customer id without <c>.0</c>, or <c>guest-&lt;InvoiceNo&gt;</c> for an anonymous person.</param>
internal sealed record ExpectedEvent(
    string InvoiceNo, int FileOrder, DateTimeOffset Time, bool IsReturn, string Person, decimal Total, int Items, string Country);

/// <summary>The data set read straight from the CSV, and each test segment's rule restated as plain LINQ.</summary>
internal sealed class IndependentModel
{
    private IndependentModel(IReadOnlyList<ExpectedEvent> events, int skipped)
    {
        Events = events;
        Skipped = skipped;
    }

    /// <summary>Every order and return (adjustments and invoices that charge nothing excluded).</summary>
    public IReadOnlyList<ExpectedEvent> Events { get; }

    /// <summary>
    /// Invoices the mapping skips: those starting with <c>A</c>, and those that are no return (no <c>C</c>) and whose
    /// lines add up to 0 or less (stock written off, goods given away: audit U96).
    /// </summary>
    public int Skipped { get; }

    public static IndependentModel Load(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var text = new StreamReader(gzip);
        using var records = Csv.ReadRecords(text).GetEnumerator();
        if (!records.MoveNext())
        {
            throw new InvalidDataException($"{path} is empty.");
        }

        var header = records.Current;
        int Column(string name) => Array.IndexOf(header, name) is >= 0 and var i ? i : throw new InvalidDataException($"{path}: no column {name}.");
        int invoiceNo = Column("InvoiceNo"), quantity = Column("Quantity"), date = Column("InvoiceDate"),
            price = Column("UnitPrice"), customer = Column("CustomerID"), country = Column("Country");

        var lines = new List<(string No, int Order, DateTimeOffset Time, decimal Amount, string Customer, string Country)>();
        while (records.MoveNext())
        {
            var f = records.Current;
            if (f.Length == 1 && f[0].Length == 0)
            {
                continue; // a trailing blank line
            }

            var time = DateTimeOffset.ParseExact(f[date], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            var amount = decimal.Parse(f[quantity], CultureInfo.InvariantCulture) * decimal.Parse(f[price], CultureInfo.InvariantCulture);
            lines.Add((f[invoiceNo], lines.Count, time, amount, f[customer].Trim(), f[country]));
        }

        var invoices = lines.GroupBy(l => l.No).ToList();
        bool Skip(IGrouping<string, (string No, int Order, DateTimeOffset Time, decimal Amount, string Customer, string Country)> g) =>
            g.Key.StartsWith('A') || (!g.Key.StartsWith('C') && g.Sum(l => l.Amount) <= 0);
        var events = invoices
            .Where(g => !Skip(g))
            .Select(g =>
            {
                var first = g.First();
                var isReturn = g.Key.StartsWith('C');
                var total = Math.Round(g.Sum(l => l.Amount), 2);
                var id = first.Customer.EndsWith(".0", StringComparison.Ordinal) ? first.Customer[..^2] : first.Customer;
                return new ExpectedEvent(
                    g.Key,
                    first.Order,
                    g.Min(l => l.Time),
                    isReturn,
                    id.Length > 0 ? id : "guest-" + g.Key,
                    isReturn ? Math.Abs(total) : total,
                    g.Count(),
                    first.Country);
            })
            .ToList();
        return new IndependentModel(events, invoices.Count(Skip));
    }

    /// <summary>The people in <paramref name="segmentId"/> at <paramref name="t"/>, from the events at or before it.</summary>
    public IReadOnlySet<string> Members(string segmentId, DateTimeOffset t)
    {
        var rule = Rules[segmentId];
        return Events
            .Where(e => e.Time <= t)
            .GroupBy(e => e.Person)
            .Where(g => rule(new PersonAt([.. g], t)))
            .Select(g => g.Key)
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The JSON definitions the replay runs; each id has a LINQ twin in <see cref="Rules"/>.</summary>
    public const string SegmentsJson = """
        [
          { "id": "active-90d", "name": "Active", "rule": { "event": "order.placed", "within": "P90D" } },
          { "id": "lapsed-180d", "name": "Lapsed", "rule": { "lastEvent": "order.placed", "op": "moreThanAgo", "value": "P180D" } },
          { "id": "repeat-buyers", "name": "Repeat buyers", "rule": { "stat": "lifecycleStage", "op": "eq", "value": "repeatCustomer" } },
          { "id": "frequent", "name": "Frequent", "rule": { "event": "order.placed", "count": { "op": "gte", "value": 5 }, "within": "P365D" } },
          { "id": "high-value", "name": "High value",
            "rule": { "aggregate": "sum", "event": "order.placed", "property": "total", "within": "P365D", "op": "gte", "value": 1000 } },
          { "id": "champions", "name": "Champions",
            "rule": { "all": [ { "segment": "active-90d" }, { "segment": "frequent" }, { "segment": "high-value" } ] } },
          { "id": "at-risk", "name": "At risk",
            "rule": { "all": [ { "segment": "repeat-buyers" }, { "lastEvent": "order.placed", "op": "moreThanAgo", "value": "P90D" } ] } },
          { "id": "returners", "name": "Returners", "rule": { "event": "order.returned", "within": "P365D" } },
          { "id": "international", "name": "International",
            "rule": { "all": [ { "trait": "country", "op": "exists" }, { "trait": "country", "op": "ne", "value": "United Kingdom" } ] } },
          { "id": "big-baskets", "name": "Big baskets",
            "rule": { "event": "order.placed", "where": [ { "property": "items", "op": "gte", "value": 20 } ], "within": "P30D" } },
          { "id": "loyal-never-returned", "name": "Loyal, never returned",
            "rule": { "all": [ { "event": "order.placed", "count": { "op": "gte", "value": 2 } }, { "not": { "event": "order.returned" } } ] } }
        ]
        """;

    /// <summary>The same rules in plain LINQ. Window: t − D &lt; time ≤ t; moreThanAgo: last time ≤ t − D.</summary>
    public static readonly IReadOnlyDictionary<string, Func<PersonAt, bool>> Rules = new Dictionary<string, Func<PersonAt, bool>>(StringComparer.Ordinal)
    {
        ["active-90d"] = p => p.Orders.Any(e => p.Within(e, 90)),
        ["lapsed-180d"] = p => p.Orders.Count > 0 && p.Orders.Max(e => e.Time) <= p.T.AddDays(-180),
        ["repeat-buyers"] = p => p.Orders.Count >= 2,
        ["frequent"] = p => p.Orders.Count(e => p.Within(e, 365)) >= 5,
        ["high-value"] = p => p.Orders.Where(e => p.Within(e, 365)).Sum(e => e.Total) >= 1000m,
        ["champions"] = p => Rules!["active-90d"](p) && Rules["frequent"](p) && Rules["high-value"](p),
        ["at-risk"] = p => p.Orders.Count >= 2 && p.Orders.Max(e => e.Time) <= p.T.AddDays(-90),
        ["returners"] = p => p.Returns.Any(e => p.Within(e, 365)),
        ["international"] = p => p.Country != "United Kingdom",
        ["big-baskets"] = p => p.Orders.Any(e => e.Items >= 20 && p.Within(e, 30)),
        ["loyal-never-returned"] = p => p.Orders.Count >= 2 && p.Returns.Count == 0,
    };
}

/// <summary>One person's events at or before <see cref="T"/>.</summary>
internal sealed record PersonAt(IReadOnlyList<ExpectedEvent> Events, DateTimeOffset T)
{
    public IReadOnlyList<ExpectedEvent> Orders { get; } = [.. Events.Where(e => !e.IsReturn)];

    public IReadOnlyList<ExpectedEvent> Returns { get; } = [.. Events.Where(e => e.IsReturn)];

    /// <summary>The country trait: the newest event's, a tie going to the one replayed last (later in the file).</summary>
    public string Country => Events.OrderBy(e => e.Time).ThenBy(e => e.FileOrder).Last().Country;

    public bool Within(ExpectedEvent e, int days) => e.Time > T.AddDays(-days) && e.Time <= T;
}
