using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated step of audit MR.</summary>
/// <param name="Kind">0 time passes, 1 sent, 2 delivered, 3 opened, 4 clicked, 5 bounced, 6 order placed (or updated), 7 order returned, 8 order cancelled.</param>
/// <param name="Person">Which person (0 to 2).</param>
/// <param name="Message">Which of her messages (0 to 3), or which return id.</param>
/// <param name="Order">Which order id (0 to 2; shared by the people, each her own order).</param>
/// <param name="Amount">The order's or return's amount.</param>
/// <param name="Minutes">How far time moves (kind 0).</param>
/// <param name="Currency">0 none, 1 GBP, 2 gbp, 3 JPY (the shop's is GBP).</param>
/// <param name="Back">How many minutes before the clock the event is stamped (a late webhook, a back-filled order).</param>
public sealed record MRStep(int Kind, int Person, int Message, int Order, int Amount, int Minutes, int Currency, int Back = 0);

/// <summary>FsCheck generators for audit MR.</summary>
public static class MRStepArbitrary
{
    /// <summary>Runs of up to 24 steps; time moves in whole minutes, often by exactly a window.</summary>
    public static Arbitrary<MRStep[]> Runs() =>
        Gen.ListOf(
                from kind in Gen.Frequency(
                    (5, Gen.Constant(0)),
                    (3, Gen.Constant(1)),
                    (2, Gen.Constant(2)),
                    (2, Gen.Constant(3)),
                    (2, Gen.Constant(4)),
                    (1, Gen.Constant(5)),
                    (4, Gen.Constant(6)),
                    (1, Gen.Constant(7)),
                    (1, Gen.Constant(8)))
                from person in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 2)))
                from message in Gen.Choose(0, 3)
                from order in Gen.Choose(0, 2)
                from amount in Gen.Choose(1, 40)
                from minutes in Gen.Frequency(
                    (2, Gen.Constant(0)),
                    (4, Gen.Elements(60, 90, 120, 180, 240, 360)),
                    (4, Gen.Choose(1, 400)))
                from currency in Gen.Frequency((4, Gen.Constant(0)), (2, Gen.Constant(1)), (1, Gen.Constant(2)), (1, Gen.Constant(3)))
                from back in Gen.Frequency((6, Gen.Constant(0)), (1, Gen.Elements(1, 30, 60, 120, 180)), (1, Gen.Choose(1, 300)))
                select new MRStep(kind, person, message, order, amount, minutes, currency, back))
            .Select(s => s.Take(24).ToArray())
            .ToArbitrary();
}

/// <summary>
/// Audit MR: the measurement rows (outcome counts, conversions, credit and revenue per touch under every model) equal
/// those of an independent reference written from the documented rules (<see cref="AttributionModel"/>,
/// <see cref="AttributionWindows"/>, <see cref="MeasurementMetrics"/>, the README's "Measurement" and the design notes'
/// measurement audits) — not from <see cref="Attribution.Credit"/>.
/// </summary>
public sealed class AuditMeasurementReferenceProperties
{
    internal static readonly TimeSpan SentWindow = TimeSpan.FromHours(2);
    internal static readonly TimeSpan DeliveredWindow = TimeSpan.FromHours(3);
    internal static readonly TimeSpan OpenedWindow = TimeSpan.FromHours(4);
    internal static readonly TimeSpan ClickedWindow = TimeSpan.FromHours(6);
    internal static readonly TimeSpan HalfLife = TimeSpan.FromMinutes(90);

    private static readonly string[] Models = ["last_touch", "first_touch", "linear", "time_decay"];

    internal static OmnichannelTestHost Host() => OmnichannelTestHost.Create(o =>
    {
        o.Currency = "GBP";
        o.Measurement.Windows.Sent = SentWindow;
        o.Measurement.Windows.Delivered = DeliveredWindow;
        o.Measurement.Windows.Opened = OpenedWindow;
        o.Measurement.Windows.Clicked = ClickedWindow;
        o.Measurement.TimeDecayHalfLife = HalfLife;
    });

    [Property(Arbitrary = [typeof(MRStepArbitrary)], MaxTest = 300)]
    public void MeasurementRows_EqualTheReferenceModel(MRStep[] steps) => RunAsync(steps).GetAwaiter().GetResult();

    internal static async Task RunAsync(MRStep[] steps)
    {
        await using var host = Host();
        var reference = new Reference();
        foreach (var s in steps)
        {
            if (s.Kind == 0)
            {
                await host.AdvanceAsync(TimeSpan.FromMinutes(s.Minutes));
                continue;
            }

            var e = Build(host, s) with { Timestamp = host.Time.GetUtcNow().AddMinutes(-s.Back) };
            await host.TrackAsync(e);
            reference.Apply(s, e.Timestamp, e.Id);
        }

        var expected = reference.Rows();
        var actual = await ActualRows(host);
        var diff = Diff(expected, actual);
        if (diff.Count > 0)
        {
            throw new Xunit.Sdk.XunitException("rows differ from the reference:\n" + string.Join("\n", diff)
                + "\nsteps:\n" + string.Join("\n", steps.Select(x => x.ToString())));
        }

        // Invariants, per model: the credit of each conversion sums to 1 when a touch qualifies (0 otherwise), and the
        // revenue shares sum to the order's revenue.
        foreach (var model in Models)
        {
            var credit = actual.Where(kv => kv.Key.EndsWith("/credit:order:" + model, StringComparison.Ordinal)).Sum(kv => kv.Value.Sum);
            var revenue = actual.Where(kv => kv.Key.EndsWith("/revenue:order:" + model, StringComparison.Ordinal)).Sum(kv => kv.Value.Sum);
            Assert.Equal(reference.AttributedConversions, credit, 6);
            Assert.Equal(reference.AttributedRevenue, revenue, 6);
        }
    }

    internal static (string Channel, string? Journey, string? Step, string? Variant, string Template) Dims(int message) => message switch
    {
        0 or 3 => ("email", "j1", "s0", null, "t0"), // two messages with the same dimensions: one row
        1 => ("sms", "j1", "s1", "a", "t1"),
        _ => ("email", "j2", "s2", "b", "t2"),
    };

    internal static readonly string?[] Currencies = [null, "GBP", "gbp", "JPY"];

    internal static Identifier Person(int i) => Identifier.CustomerId($"mr-{i}");

    private static CustomerEvent Build(OmnichannelTestHost host, MRStep s)
    {
        var who = Person(s.Person);
        if (s.Kind <= 5)
        {
            var (channel, journey, step, variant, template) = Dims(s.Message);
            var props = new Dictionary<string, object?>
            {
                ["message_id"] = $"m-{s.Person}-{s.Message}",
                ["channel"] = channel,
                ["template_id"] = template,
            };
            if (journey is not null) props["journey_id"] = journey;
            if (step is not null) props["step_id"] = step;
            if (variant is not null) props["variant"] = variant;
            var type = s.Kind switch
            {
                1 => EventTypes.MessageSent,
                2 => EventTypes.MessageDelivered,
                3 => EventTypes.MessageOpened,
                4 => EventTypes.MessageClicked,
                _ => EventTypes.MessageBounced,
            };
            return host.Event(type, [who], props);
        }

        if (s.Kind == 6)
        {
            var props = new Dictionary<string, object?> { ["order_id"] = $"o-{s.Order}", ["total"] = s.Amount * 5 };
            if (Currencies[s.Currency] is { } c) props["currency"] = c;
            return host.Event(EventTypes.OrderPlaced, [who], props);
        }

        if (s.Kind == 7)
        {
            var (amount, currency) = ReturnOf(s);
            var props = new Dictionary<string, object?> { ["order_id"] = $"o-{s.Order}", ["return_id"] = $"r-{s.Order}-{s.Message}", ["total"] = amount };
            if (currency is not null) props["currency"] = currency;
            return host.Event(EventTypes.OrderReturned, [who], props);
        }

        return host.Event(EventTypes.OrderCancelled, [who], new { order_id = $"o-{s.Order}" });
    }

    // A return's value and currency follow from its id, so a copy sent again is the same return.
    internal static (int Amount, string? Currency) ReturnOf(MRStep s) => (10 + (15 * s.Message) + (7 * s.Order), Currencies[(s.Message + s.Order) % 4]);

    private static async Task<Dictionary<string, (long Count, double Sum)>> ActualRows(OmnichannelTestHost host)
    {
        var rows = new Dictionary<string, (long Count, double Sum)>(StringComparer.Ordinal);
        foreach (var r in await host.Engine.GetMeasurementsAsync(new MeasurementQuery()))
        {
            var m = r.Key.Metric;
            if (m is "sent" or "delivered" or "opened" or "clicked" or "bounced" || m.StartsWith("conversion:", StringComparison.Ordinal)
                || m.StartsWith("credit:", StringComparison.Ordinal) || m.StartsWith("revenue:", StringComparison.Ordinal))
            {
                if (r.Count != 0 || Math.Abs(r.Sum) > 1e-9)
                {
                    var key = Key(r.Key.JourneyId, r.Key.StepId, r.Key.Variant, r.Key.Channel, r.Key.TemplateId, r.Key.Day, m);
                    rows[key] = rows.TryGetValue(key, out var x) ? (x.Count + r.Count, x.Sum + r.Sum) : (r.Count, r.Sum);
                }
            }
        }

        return rows;
    }

    internal static string Key(string? journey, string? step, string? variant, string? channel, string? template, DateOnly day, string metric) =>
        string.Create(CultureInfo.InvariantCulture, $"{journey}/{step}/{variant}/{channel}/{template}/{day:yyyy-MM-dd}/{metric}");

    private static List<string> Diff(Dictionary<string, (long Count, double Sum)> expected, Dictionary<string, (long Count, double Sum)> actual)
    {
        var diff = new List<string>();
        foreach (var key in expected.Keys.Union(actual.Keys).Order(StringComparer.Ordinal))
        {
            var e = expected.GetValueOrDefault(key);
            var a = actual.GetValueOrDefault(key);
            if (e.Count != a.Count || Math.Abs(e.Sum - a.Sum) > 1e-6 * Math.Max(1, Math.Abs(e.Sum)))
            {
                diff.Add(FormattableString.Invariant($"{key}: expected {e.Count}:{e.Sum:R}, actual {a.Count}:{a.Sum:R}"));
            }
        }

        return diff;
    }

    /// <summary>The reference: the documented rules, written out for the generated events (tracked in time order).</summary>
    internal sealed class Reference
    {
        private sealed class Message
        {
            public required int Index { get; init; }
            public required string Key { get; init; }
            public DateTimeOffset? Sent, Delivered, Opened, Clicked, Bounced, LatestFailure;
        }

        private sealed class Order
        {
            public DateTimeOffset ConvertedAt;
            public double Gross;
            public DateTimeOffset GrossAt;
            public string GrossId = "";
        }

        private readonly Dictionary<(int Person, int Message), Message> _messages = [];
        private readonly Dictionary<(int Person, int Order), Order> _orders = [];
        private readonly Dictionary<(int Person, int Order), Dictionary<string, double>> _returns = [];
        private readonly Dictionary<string, (long Count, double Sum)> _rows = new(StringComparer.Ordinal);

        public double AttributedConversions { get; private set; }

        public double AttributedRevenue { get; private set; }

        /// <summary>An outcome counts on the day of its earliest instant, also when a copy of it arrived first.</summary>
        private const bool CountAtEarliest = true;

        /// <summary>An order converts at its earliest event's instant, also when an update of it arrived first.</summary>
        private const bool ConvertAtEarliest = true;

        public void Apply(MRStep s, DateTimeOffset at, string id)
        {
            if (s.Kind <= 5)
            {
                if (!_messages.TryGetValue((s.Person, s.Message), out var m))
                {
                    _messages[(s.Person, s.Message)] = m = new Message { Index = s.Message, Key = $"m-{s.Person}-{s.Message}" };
                }

                // Each outcome counts once per message; its earliest instant stands (whatever the arrival order), the
                // latest bounce for what it hides.
                ref DateTimeOffset? slot = ref m.Sent;
                string metric;
                switch (s.Kind)
                {
                    case 1: slot = ref m.Sent; metric = MeasurementMetrics.Sent; break;
                    case 2: slot = ref m.Delivered; metric = MeasurementMetrics.Delivered; break;
                    case 3: slot = ref m.Opened; metric = MeasurementMetrics.Opened; break;
                    case 4: slot = ref m.Clicked; metric = MeasurementMetrics.Clicked; break;
                    default: slot = ref m.Bounced; metric = MeasurementMetrics.Bounced; m.LatestFailure = m.LatestFailure is { } f && f >= at ? f : at; break;
                }

                var (channel, journey, step, variant, template) = Dims(s.Message);
                if (slot is null)
                {
                    slot = at;
                    Add(Key(journey, step, variant, channel, template, Day(at), metric), 1, 0);
                }
                else if (at < slot)
                {
                    if (CountAtEarliest && Day(at) != Day(slot.Value))
                    {
                        Add(Key(journey, step, variant, channel, template, Day(slot.Value), metric), -1, 0);
                        Add(Key(journey, step, variant, channel, template, Day(at), metric), 1, 0);
                    }

                    slot = at;
                }

                return;
            }

            if (s.Kind == 6)
            {
                // The newest event of an order gives its revenue; revenue in another currency than the shop's is none.
                var currency = Currencies[s.Currency];
                var gross = currency is null || string.Equals(currency, "GBP", StringComparison.OrdinalIgnoreCase) ? s.Amount * 5.0 : 0;
                if (!_orders.TryGetValue((s.Person, s.Order), out var o))
                {
                    _orders[(s.Person, s.Order)] = o = new Order { ConvertedAt = at, GrossAt = at, GrossId = id, Gross = gross };
                }

                if (at < o.ConvertedAt && ConvertAtEarliest)
                {
                    o.ConvertedAt = at;
                }

                if (at > o.GrossAt || (at == o.GrossAt && string.CompareOrdinal(id, o.GrossId) > 0))
                {
                    (o.Gross, o.GrossAt, o.GrossId) = (gross, at, id);
                }

                return;
            }

            if (s.Kind == 7)
            {
                var (amount, currency) = ReturnOf(s);
                var value = currency is null || string.Equals(currency, "GBP", StringComparison.OrdinalIgnoreCase) ? amount : 0.0;
                if (!_returns.TryGetValue((s.Person, s.Order), out var r))
                {
                    _returns[(s.Person, s.Order)] = r = new(StringComparer.Ordinal);
                }

                r[$"r-{s.Order}-{s.Message}"] = value; // a return id once
            }

            // Cancellations reverse nothing (audit T, decided).
        }

        public Dictionary<string, (long Count, double Sum)> Rows()
        {
            var rows = new Dictionary<string, (long Count, double Sum)>(_rows, StringComparer.Ordinal);
            foreach (var ((person, orderIndex), o) in _orders)
            {
                var returned = _returns.GetValueOrDefault((person, orderIndex))?.Values.Sum() ?? 0;
                var revenue = returned <= 0 ? o.Gross : o.Gross <= 0 ? 0 : o.Gross * Math.Max(0, 1 - (returned / o.Gross));
                var day = Day(o.ConvertedAt);
                AddTo(rows, Key(null, null, null, null, null, day, MeasurementMetrics.Conversion("order")), 1, revenue);

                var eligible = Eligible(person, o.ConvertedAt);
                if (eligible.Count == 0)
                {
                    continue;
                }

                AttributedConversions += 1;
                AttributedRevenue += revenue;
                foreach (var model in Models)
                {
                    double[] shares = model switch
                    {
                        "last_touch" => [.. eligible.Select((_, i) => i == eligible.Count - 1 ? 1.0 : 0)],
                        "first_touch" => [.. eligible.Select((_, i) => i == 0 ? 1.0 : 0)],
                        "linear" => [.. eligible.Select(_ => 1.0 / eligible.Count)],
                        _ => Normalised([.. eligible.Select(t => Math.Pow(2, -(o.ConvertedAt - t.At).TotalMinutes / HalfLife.TotalMinutes))]),
                    };
                    Assert.Equal(1, shares.Sum(), 9);
                    for (var i = 0; i < eligible.Count; i++)
                    {
                        if (shares[i] == 0)
                        {
                            continue;
                        }

                        var (channel, journey, step, variant, template) = Dims(eligible[i].Message.Index);
                        AddTo(rows, Key(journey, step, variant, channel, template, day, $"credit:order:{model}"), 1, shares[i]);
                        AddTo(rows, Key(journey, step, variant, channel, template, day, $"revenue:order:{model}"), 1, shares[i] * revenue);
                    }
                }
            }

            return rows;

            static double[] Normalised(double[] w) => [.. w.Select(x => x / w.Sum())];
        }

        // The documented rules: a message's outcome is a touch point at its instant; a send or delivery at or before the
        // message's latest bounce is none (audit L); a point counts for a conversion at or after it and no more than its
        // kind's window before it (both ends inclusive, audit E2); the strongest qualifying point stands for the message;
        // in time order, then message key (ordinal).
        private List<(Message Message, DateTimeOffset At)> Eligible(int person, DateTimeOffset conversionAt)
        {
            var eligible = new List<(Message Message, DateTimeOffset At)>();
            foreach (var ((p, _), m) in _messages)
            {
                if (p != person)
                {
                    continue;
                }

                (DateTimeOffset? At, TimeSpan Window)[] points =
                [
                    (m.Clicked, ClickedWindow),
                    (m.Opened, OpenedWindow),
                    (m.Delivered is { } d && !(m.LatestFailure >= d) ? d : null, DeliveredWindow),
                    (m.Sent is { } s && !(m.LatestFailure >= s) ? s : null, SentWindow),
                ];
                foreach (var (pointAt, window) in points)
                {
                    if (pointAt is { } t && t <= conversionAt && conversionAt - t <= window)
                    {
                        eligible.Add((m, t));
                        break; // strongest first
                    }
                }
            }

            return [.. eligible.OrderBy(x => x.At).ThenBy(x => x.Message.Key, StringComparer.Ordinal)];
        }

        private void Add(string key, long count, double sum) => AddTo(_rows, key, count, sum);

        private static void AddTo(Dictionary<string, (long Count, double Sum)> rows, string key, long count, double sum) =>
            rows[key] = rows.TryGetValue(key, out var x) ? (x.Count + count, x.Sum + sum) : (count, sum);

        private static DateOnly Day(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime);
    }
}
