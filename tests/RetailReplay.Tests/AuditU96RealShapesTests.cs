using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Xunit.Abstractions;

namespace RetailReplay.Tests;

/// <summary>
/// Audit U96: the real shop's data as it really is. Customers chosen for each real-world shape of the UCI Online Retail
/// file (credit notes, a huge order cancelled at once, zero-total invoices, zero-price lines, non-product stock codes,
/// duplicate identical lines, an invoice over a minute boundary, a total of three decimals, free-text countries, the two
/// customers with over 200 orders, guests) go through the sample's mapping into an engine; their profile figures and
/// segment answers are checked against sums made here from the CSV rows (this file's own reader, not the sample's).
/// Public reports of the class: refunds counted as revenue, duplicate orders from retries, negative totals breaking
/// "spent over" segments, zero-price lines as orders, rounding drift over many lines, lifetime value from the last N
/// kept orders only.
/// </summary>
public sealed class AuditU96RealShapesTests(U96Shapes data, ITestOutputHelper output) : IClassFixture<U96Shapes>
{
    [RetailDataFact]
    public void EveryRealWorldShape_HasACustomerInTheSample()
    {
        data.RequireData();
        foreach (var (shape, people) in data.Shapes)
        {
            output.WriteLine($"{shape}: {string.Join(", ", people)}");
            Assert.True(people.Count > 0, $"no customer of the shape '{shape}' in the data");
        }
    }

    // "Zero-price lines as orders": 2,102 invoices charge nothing (2,098 of guests: stock written off as "damaged",
    // "check", "thrown away", at negative quantities and zero prices; 4 of customers: goods given away). Mapped to orders,
    // each write-off was a guest who "ordered": 657 of the 3,864 people the sample printed as Active on 2011-12-10, and
    // each of them got a win-back 90 days on.
    [RetailDataFact]
    public void TheSamplesMapping_MakesNoOrderOfAnInvoiceThatChargesNothing()
    {
        data.RequireData();
        var chargesNothing = data.Invoices.Where(i => !i.IsReturn && !i.IsAdjustment && i.Total <= 0).Select(i => i.No).ToHashSet(StringComparer.Ordinal);
        Assert.InRange(chargesNothing.Count, 2_000, 2_200);

        var sample = data.SampleInvoices.Where(i => chargesNothing.Contains(i.InvoiceNo)).ToList();

        Assert.Equal(chargesNothing.Count, sample.Count);
        Assert.All(sample, i => Assert.Null(OnlineRetail.ToEvent(i)));
        Assert.All(data.SampleInvoices.Where(i => !chargesNothing.Contains(i.InvoiceNo) && !i.IsAdjustment), i => Assert.NotNull(OnlineRetail.ToEvent(i)));
    }

    [RetailDataFact]
    public async Task ProfileFigures_OfEveryShape_EqualSumsOverTheCsvRows()
    {
        data.RequireData();
        await using var run = await U96Run.StartAsync(data, data.SampleEvents());

        await AssertFiguresAsync(run);
    }

    [RetailDataFact]
    public async Task EveryEventTrackedTwice_OrRetriedWithANewEventId_CountsEachInvoiceOnce()
    {
        data.RequireData();
        var events = data.SampleEvents();
        var twice = events.Concat(events).ToList(); // the same events again (a redelivered batch)
        var retried = events.Concat(events.Select(e => e with { Id = e.Id + "-retry" })).ToList(); // a client's retry with a new id
        var later = events.Concat(events.Select(e => e with { Id = e.Id + "-later", Timestamp = e.Timestamp.AddMinutes(1) })).ToList(); // ...a minute later

        foreach (var (name, variant) in new[] { ("twice", twice), ("retried", retried), ("retried a minute later", later) })
        {
            output.WriteLine(name);
            await using var run = await U96Run.StartAsync(data, variant);
            await AssertFiguresAsync(run);
        }
    }

    [RetailDataFact]
    public async Task AnInvoiceWhoseLinesArriveAsSeveralEvents_RunningTotals_IsOneOrderOfItsFullTotal()
    {
        data.RequireData();

        // Each invoice as up to three events of its lines in file order (its first line, the rest split at the middle),
        // each carrying the invoice's running total and its last line's time (an "order updated" per part; an invoice
        // over a minute boundary has parts a minute apart): the same order id, so one order whose total is the last
        // part's, placed at its first line.
        var events = new List<CustomerEvent>();
        foreach (var invoice in data.Invoices.Where(i => data.Sample.Contains(i.Person) && (i.IsReturn || i.Total > 0)))
        {
            decimal running = 0;
            var n = invoice.Lines.Count;
            int[] ends = [.. new[] { 1, (n + 1) / 2, n }.Distinct()];
            for (var k = 0; k < n; k++)
            {
                running += invoice.Lines[k].Amount;
                if (Array.IndexOf(ends, k + 1) < 0)
                {
                    continue;
                }

                events.Add(new CustomerEvent
                {
                    Id = $"invoice-{invoice.No}-line-{k:D4}", // padded: at one instant the greater event id is the newer
                    Type = invoice.IsReturn ? EventTypes.OrderReturned : EventTypes.OrderPlaced,
                    Timestamp = invoice.Lines[k].Time,
                    Channel = ChannelNames.Web,
                    Identifiers = [U96Shapes.IdentifierOf(invoice.Person)],
                    Properties = JsonSerializer.SerializeToElement(new
                    {
                        order_id = invoice.No,
                        total = invoice.IsReturn ? Math.Abs(U96Shapes.Money(running)) : U96Shapes.Money(running),
                        currency = "GBP",
                        return_id = invoice.IsReturn ? invoice.No : null,
                    }),
                });
            }
        }

        await using var run = await U96Run.StartAsync(data, events);

        await AssertFiguresAsync(run);
    }

    // "Negative totals breaking 'spent over' segments": many shops send a refund as an order of negative total. Then
    // "spent at least X" (ever, and in 90 days, where a credit note leaving the window raises the sum by time alone) is
    // the net sum, and the figures and measured revenue are net too.
    [RetailDataFact]
    public async Task CreditNotesMappedAsOrdersOfNegativeTotals_SpendAndItsSegmentsAreNet()
    {
        data.RequireData();
        var events = data.SampleEvents()
            .Select(e => e.Type != EventTypes.OrderReturned ? e : e with
            {
                Type = EventTypes.OrderPlaced,
                Properties = JsonSerializer.SerializeToElement(new
                {
                    order_id = e.Properties.GetProperty("order_id").GetString(),
                    total = -e.Properties.GetProperty("total").GetDecimal(),
                    currency = "GBP",
                }),
            })
            .ToList();

        await using var run = await U96Run.StartAsync(data, events, creditNotesAsOrders: true);

        await AssertFiguresAsync(run, creditNotesAsOrders: true);
    }

    private async Task AssertFiguresAsync(U96Run run, bool creditNotesAsOrders = false)
    {
        var failures = new List<string>();
        foreach (var person in data.Sample.Order(StringComparer.Ordinal))
        {
            var expected = data.Expected(person, creditNotesAsOrders);
            var profile = await run.Engine.GetProfileAsync(U96Shapes.IdentifierOf(person));
            if (expected is { Orders: 0, Returns: 0 })
            {
                Assert.True(profile is null, $"{person} bought nothing and returned nothing, yet has a profile");
                continue;
            }

            Assert.NotNull(profile);
            var s = profile.Statistics;
            var actual = new U96Figures(s.OrderCount, s.TotalSpent, s.ReturnCount, s.ReturnValue, s.FirstOrderAt, s.LastOrderAt);
            if (actual != expected)
            {
                failures.Add($"{person}: expected {expected}, profile {actual}");
            }

            foreach (var (segment, should) in data.Memberships(person, creditNotesAsOrders))
            {
                if (profile.IsInSegment(segment) != should)
                {
                    failures.Add($"{person}: {segment} should be {should}, the profile says {!should}");
                }
            }
        }

        // Measurement: the order conversion's revenue is the sum of the orders (gross), each invoice once.
        var rows = await run.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = MeasurementMetrics.Conversion("order") });
        var conversions = rows.Where(r => r.Key.Metric == MeasurementMetrics.Conversion("order")).ToList();
        var expectedOrders = data.Sample.Sum(p => data.Expected(p, creditNotesAsOrders).Orders);
        var expectedRevenue = data.Sample.Sum(p => data.Expected(p, creditNotesAsOrders).Spent);
        var (count, revenue) = (conversions.Sum(r => r.Count), conversions.Sum(r => r.Sum));
        if (count != expectedOrders || Math.Round((decimal)revenue, 2) != expectedRevenue)
        {
            failures.Add($"conversion:order: expected {expectedOrders} orders, {expectedRevenue} revenue; measured {count}, {revenue}");
        }

        foreach (var f in failures)
        {
            output.WriteLine(f);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }
}

/// <summary>A customer's figures: orders, money spent on them, returns and their value, first and last order.</summary>
internal sealed record U96Figures(int Orders, decimal Spent, int Returns, decimal Returned, DateTimeOffset? FirstOrder, DateTimeOffset? LastOrder);

/// <summary>One CSV line as this test reads it.</summary>
internal sealed record U96Line(string No, string StockCode, decimal Quantity, decimal Price, DateTimeOffset Time, string Country)
{
    public decimal Amount => Quantity * Price;
}

/// <summary>One invoice: its lines in file order.</summary>
internal sealed record U96Invoice(string No, string Person, List<U96Line> Lines)
{
    public bool IsReturn => No.StartsWith('C');

    public bool IsAdjustment => No.StartsWith('A');

    public DateTimeOffset Time => Lines.Min(l => l.Time);

    public decimal Total => U96Shapes.Money(Lines.Sum(l => l.Amount));
}

/// <summary>The CSV read here, the sample of customers by shape, and the reference figures.</summary>
public sealed class U96Shapes : IAsyncLifetime
{
    /// <summary>The end of the shop's year: the last invoice is on 2011-12-09.</summary>
    public static readonly DateTimeOffset End = new(2011, 12, 10, 0, 0, 0, TimeSpan.Zero);

    private Dictionary<string, List<U96Invoice>> _byPerson = [];

    public string? Problem { get; private set; }

    public string DataPath { get; private set; } = "";

    internal List<U96Invoice> Invoices { get; private set; } = [];

    internal Dictionary<string, List<string>> Shapes { get; } = new(StringComparer.Ordinal);

    internal HashSet<string> Sample { get; } = new(StringComparer.Ordinal);

    /// <summary>Money as the shop charges it: two decimals, half away from zero.</summary>
    internal static decimal Money(decimal d) => Math.Round(d, 2, MidpointRounding.AwayFromZero);

    internal static Identifier IdentifierOf(string person) =>
        person.StartsWith("guest-", StringComparison.Ordinal) ? Identifier.AnonymousId(person) : Identifier.CustomerId(person);

    public Task InitializeAsync()
    {
        if (ReplayRun.FindData() is not { } path)
        {
            Problem = "The Online Retail data set was not found (see ReplayRun); this check must not be skipped.";
            return Task.CompletedTask;
        }

        DataPath = path;
        Load(path);
        Choose();
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void RequireData()
    {
        if (Problem is not null)
        {
            Assert.Fail(Problem);
        }
    }

    /// <summary>The sample's own reading of the file (what the replay maps).</summary>
    internal IReadOnlyList<Invoice> SampleInvoices => _sampleInvoices ??= OnlineRetail.ReadInvoices(DataPath);

    private IReadOnlyList<Invoice>? _sampleInvoices;

    /// <summary>
    /// The reference: every invoice once, orders and credit notes apart, each at its shop-rounded total; an invoice that
    /// charges nothing (a stock write-off, goods given away) is no order.
    /// </summary>
    /// <param name="person">The person.</param>
    /// <param name="creditNotesAsOrders">Credit notes mapped as orders of negative totals (a common mapping of refunds).</param>
    internal U96Figures Expected(string person, bool creditNotesAsOrders = false)
    {
        var invoices = _byPerson[person].Where(i => !i.IsAdjustment).ToList();
        var orders = invoices.Where(i => (!i.IsReturn && i.Total > 0) || (creditNotesAsOrders && i.IsReturn)).ToList();
        var returns = invoices.Where(i => i.IsReturn && !creditNotesAsOrders).ToList();
        return new U96Figures(
            orders.Count,
            orders.Sum(i => i.Total),
            returns.Count,
            returns.Sum(i => Math.Abs(i.Total)),
            orders.Count == 0 ? null : orders.Min(i => i.Time),
            orders.Count == 0 ? null : orders.Max(i => i.Time));
    }

    /// <summary>The sample's own mapping of the sample customers' invoices (what the replay tracks).</summary>
    internal List<CustomerEvent> SampleEvents() =>
        [.. SampleInvoices
            .Where(i => Sample.Contains(i.CustomerId ?? "guest-" + i.InvoiceNo))
            .Select(OnlineRetail.ToEvent)
            .OfType<CustomerEvent>()];

    /// <summary>
    /// Per person, segments around the reference figures (each exactly at them, and just past them), and whether she is
    /// in each at <see cref="End"/>: at a figure she is in (a sum of 0 or less is tested at 0.01, which she is under), past
    /// it she is not.
    /// </summary>
    internal IEnumerable<(string Id, bool Member)> Memberships(string person, bool creditNotesAsOrders = false)
    {
        var f = Expected(person, creditNotesAsOrders);
        var recent = RecentSpent(person, creditNotesAsOrders);
        var k = Key(person);
        yield return ($"{k}-orders-at-least", f.Orders > 0);
        yield return ($"{k}-orders-more", false);
        yield return ($"{k}-spent-at-least", f.Spent > 0);
        yield return ($"{k}-spent-more", false);
        yield return ($"{k}-spent90-at-least", recent > 0);
        yield return ($"{k}-spent90-more", false);
        yield return ($"{k}-returns-at-least", f.Returns > 0);
    }

    // Sums at or above 0.01 ("spent over 0" is no test of a zero or negative sum); a floor under which nobody falls.
    private static decimal Floor(decimal sum) => Math.Max(sum, 0.01m);

    // What she ordered in the 90 days up to End: t − 90 days < time ≤ t.
    private decimal RecentSpent(string person, bool creditNotesAsOrders) =>
        _byPerson[person].Where(i => !i.IsAdjustment && ((!i.IsReturn && i.Total > 0) || (creditNotesAsOrders && i.IsReturn)) && i.Time > End.AddDays(-90) && i.Time <= End).Sum(i => i.Total);

    internal static string Key(string person) => "p" + person.Replace("guest-", "g", StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>The segment definitions of <see cref="Memberships"/> as JSON rules.</summary>
    internal IEnumerable<SegmentDefinition> Segments(bool creditNotesAsOrders = false)
    {
        var json = new List<string>();
        foreach (var person in Sample.Order(StringComparer.Ordinal))
        {
            var f = Expected(person, creditNotesAsOrders);
            var recent = RecentSpent(person, creditNotesAsOrders);
            string N(decimal d) => d.ToString(CultureInfo.InvariantCulture);
            var k = Key(person);
            json.Add($$$"""{"id":"{{{k}}}-orders-at-least","name":"x","rule":{"event":"order.placed","count":{"op":"gte","value":{{{Math.Max(1, f.Orders)}}} }} }""");
            json.Add($$$"""{"id":"{{{k}}}-orders-more","name":"x","rule":{"event":"order.placed","count":{"op":"gte","value":{{{f.Orders + 1}}} }} }""");
            json.Add($$$"""{"id":"{{{k}}}-spent-at-least","name":"x","rule":{"aggregate":"sum","event":"order.placed","property":"total","op":"gte","value":{{{N(Floor(f.Spent))}}} }}""");
            json.Add($$$"""{"id":"{{{k}}}-spent-more","name":"x","rule":{"aggregate":"sum","event":"order.placed","property":"total","op":"gt","value":{{{N(Floor(f.Spent))}}} }}""");
            json.Add($$$"""{"id":"{{{k}}}-spent90-at-least","name":"x","rule":{"aggregate":"sum","event":"order.placed","property":"total","within":"P90D","op":"gte","value":{{{N(Floor(recent))}}} }}""");
            json.Add($$$"""{"id":"{{{k}}}-spent90-more","name":"x","rule":{"aggregate":"sum","event":"order.placed","property":"total","within":"P90D","op":"gt","value":{{{N(Floor(recent))}}} }}""");
            json.Add($$$"""{"id":"{{{k}}}-returns-at-least","name":"x","rule":{"event":"order.returned","count":{"op":"gte","value":1} } }""");
        }

        var parsed = SegmentJson.ParseMany("[" + string.Join(",", json) + "]");
        return parsed.Value ?? throw new InvalidOperationException(string.Join("; ", parsed.Errors));
    }

    private void Load(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var text = new StreamReader(gzip);
        using var records = Csv.ReadRecords(text).GetEnumerator();
        records.MoveNext();
        var h = records.Current;
        int C(string name) => Array.IndexOf(h, name);
        int no = C("InvoiceNo"), code = C("StockCode"), qty = C("Quantity"), date = C("InvoiceDate"), price = C("UnitPrice"), cust = C("CustomerID"), country = C("Country");
        var byNo = new Dictionary<string, U96Invoice>(StringComparer.Ordinal);
        while (records.MoveNext())
        {
            var f = records.Current;
            if (f.Length < 8)
            {
                continue;
            }

            var line = new U96Line(
                f[no], f[code],
                decimal.Parse(f[qty], CultureInfo.InvariantCulture),
                decimal.Parse(f[price], CultureInfo.InvariantCulture),
                DateTimeOffset.ParseExact(f[date], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                f[country]);
            if (!byNo.TryGetValue(f[no], out var invoice))
            {
                var id = f[cust].Trim();
                id = id.Length == 0 ? "guest-" + f[no] : decimal.Parse(id, CultureInfo.InvariantCulture).ToString("0", CultureInfo.InvariantCulture);
                byNo[f[no]] = invoice = new U96Invoice(f[no], id, []);
                Invoices.Add(invoice);
            }

            invoice.Lines.Add(line);
        }

        _byPerson = Invoices.GroupBy(i => i.Person, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
    }

    private void Choose()
    {
        var known = Invoices.Where(i => !i.Person.StartsWith("guest-", StringComparison.Ordinal)).ToList();
        void Shape(string name, IEnumerable<string> people, int take = 2)
        {
            var chosen = people.Distinct(StringComparer.Ordinal).Take(take).ToList();
            Shapes[name] = chosen;
            Sample.UnionWith(chosen);
        }

        Shape("credit notes", known.Where(i => i.IsReturn).Select(i => i.Person), 3);
        Shape("credit note before any order", _byPerson.Where(kv => !kv.Key.StartsWith("guest-", StringComparison.Ordinal) && kv.Value.First(i => !i.IsAdjustment).IsReturn).Select(kv => kv.Key));
        Shape("credit notes only", _byPerson.Where(kv => !kv.Key.StartsWith("guest-", StringComparison.Ordinal) && kv.Value.All(i => i.IsReturn)).Select(kv => kv.Key));
        Shape("huge quantity cancelled", known.Where(i => i.Lines.Any(l => Math.Abs(l.Quantity) >= 10_000)).Select(i => i.Person), 3);
        Shape("zero-total order", known.Where(i => !i.IsReturn && i.Total == 0).Select(i => i.Person), 4);
        Shape("zero-price line in an order", known.Where(i => !i.IsReturn && i.Total != 0 && i.Lines.Any(l => l.Price == 0)).Select(i => i.Person));
        foreach (var code in new[] { "POST", "M", "D", "DOT", "BANK CHARGES", "AMAZONFEE", "C2", "CRUK" })
        {
            Shape("stock code " + code, Invoices.Where(i => i.Lines.Any(l => l.StockCode == code)).Select(i => i.Person), 1);
        }

        Shape("duplicate identical lines", known.Where(i => i.Lines.GroupBy(l => l).Any(g => g.Count() > 1)).Select(i => i.Person));
        Shape("invoice over a minute boundary", known.Where(i => i.Lines.Select(l => l.Time).Distinct().Count() > 1).Select(i => i.Person), 3);
        Shape("total of more than two decimals", known.Where(i => i.Lines.Sum(l => l.Amount) != i.Total).Select(i => i.Person), 4);
        foreach (var country in new[] { "EIRE", "Unspecified", "European Community", "RSA" })
        {
            Shape("country " + country, known.Where(i => i.Lines[0].Country == country).Select(i => i.Person), 1);
        }

        Shape("over 200 orders", _byPerson.Where(kv => !kv.Key.StartsWith("guest-", StringComparison.Ordinal) && kv.Value.Count(i => !i.IsReturn) > 200).Select(kv => kv.Key));
        Shape("guest order", Invoices.Where(i => i.Person.StartsWith("guest-", StringComparison.Ordinal) && !i.IsReturn && !i.IsAdjustment && i.Total > 0).Select(i => i.Person));
        Shape("guest stock write-off", Invoices.Where(i => i.Person.StartsWith("guest-", StringComparison.Ordinal) && !i.IsReturn && i.Lines.All(l => l.Quantity < 0)).Select(i => i.Person));
        Shape("guest credit note", Invoices.Where(i => i.Person.StartsWith("guest-", StringComparison.Ordinal) && i.IsReturn).Select(i => i.Person), 1);
    }
}

/// <summary>An engine with the per-person segments, every event of the sample tracked, the clock at the year's end.</summary>
internal sealed class U96Run : IAsyncDisposable
{
    private U96Run(OmnichannelEngine engine) => Engine = engine;

    public OmnichannelEngine Engine { get; }

    public static async Task<U96Run> StartAsync(U96Shapes data, IReadOnlyList<CustomerEvent> events, bool creditNotesAsOrders = false)
    {
        var clock = new FakeTimeProvider(events.Min(e => e.Timestamp));
        var options = new OmnichannelOptions { DeduplicationRetention = TimeSpan.FromDays(400), StorePollInterval = null };
        options.Privacy.HashKey = "audit-u96-real-shapes-key-not-a-secret-000001";
        foreach (var s in data.Segments(creditNotesAsOrders))
        {
            options.Segments.Add(s);
        }

        var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), clock);
        var run = new U96Run(engine);
        // As a live shop sends them: the events of one instant in one batch, the clock at that instant (an order's update
        // a month after its batch's clock would be past measurement's order retention, a documented bound).
        foreach (var chunk in events.GroupBy(e => e.Timestamp).OrderBy(g => g.Key))
        {
            if (chunk.Key > clock.GetUtcNow())
            {
                await engine.AdvanceVirtualClockAsync(chunk.Key, clock.SetUtcNow);
            }

            var results = await engine.TrackBatchAsync([.. chunk]);
            Assert.All(results, r => Assert.True(r.IsAcknowledged, $"{r.Status}: {string.Join("; ", r.Errors)}"));
        }

        await engine.AdvanceVirtualClockAsync(U96Shapes.End, clock.SetUtcNow);
        return run;
    }

    public ValueTask DisposeAsync() => Engine.DisposeAsync();
}
