using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Measurement;

/// <summary>
/// Measurement inside the profile's unit of work: records touches on the profile, attributes conversions to them, and
/// collects the aggregate deltas the commit writes with the profile. Pure apart from the profile it is given.
/// </summary>
internal static partial class MeasurementRecorder
{
    /// <summary>The <c>global:assigned</c> metric: people assigned to a global group (variant <c>control</c> or <c>treatment</c>).</summary>
    internal const string GlobalAssigned = "global:assigned";

    /// <summary>People of a global group who converted under a definition (count) and their revenue (sum).</summary>
    internal const string GlobalConverted = "global:converted:";

    /// <summary>The sum over people of a global group of their revenue squared.</summary>
    internal const string GlobalRevenueSquares = "global:revenue_sq:";

    /// <summary>The journey id under which global-group rows are kept.</summary>
    internal const string GlobalJourney = "$global";

    private static readonly string[] OutcomeTypes =
    [
        EventTypes.MessageSent, EventTypes.MessageDelivered, EventTypes.MessageOpened, EventTypes.MessageClicked,
        EventTypes.MessageUnsubscribed, EventTypes.MessageBounced, EventTypes.MessageFailed,
    ];

    /// <summary>
    /// Applies an event's measurement: an outcome updates its message's touch (and the event gains the touch's
    /// <c>journey_id</c>, <c>step_id</c>, <c>variant</c> and <c>template_id</c> when it did not carry them); a conversion
    /// is attributed under every model. Returns the event to apply (enriched, or the same).
    /// </summary>
    /// <param name="p">The profile.</param>
    /// <param name="e">The event.</param>
    /// <param name="now">The engine's clock.</param>
    /// <param name="options">Measurement settings.</param>
    /// <param name="shopCurrency">The shop's currency (<see cref="OmnichannelOptions.Currency"/>): revenue in another is not added.</param>
    /// <param name="reachHash">The engine's keyed hash of a channel and an address, when soft bounces are counted: a trimmed
    /// touch's newest reach is kept as its address's mark (<see cref="ProfileCore.KeepReach"/>); null keeps none.</param>
    public static CustomerEvent OnEvent(CustomerProfile p, CustomerEvent e, DateTimeOffset now, MeasurementOptions options, string? shopCurrency = null, Func<string, string, string>? reachHash = null)
    {
        EnsureGroup(p, now, options);
        if (Array.IndexOf(OutcomeTypes, e.Type) >= 0)
        {
            // Audit U82: a machine's open or click (an image proxy, a link scanner) is no outcome of hers: it counts nothing,
            // makes no click-through touch for attribution, and only gains its touch's attribution data for the timeline.
            e = MachineEngagement.Is(e) ? OfMachine(p, e) : OnOutcome(p, e, options);
        }

        // An order the profile already knows (its order_id sent again: an update, a client's retry with a new event id)
        // converted when it first came; counting it again would double its conversion and revenue. Its newest total
        // replaces the revenue its rows count instead, and a return takes its value off them.
        var orderKey = p.OrderConversionsIfAny is { Count: > 0 } || e.Type == EventTypes.OrderReturned ? OrderKey(p, e) : null;
        var known = orderKey is not null ? p.OrderConversionsIfAny?.GetValueOrDefault(orderKey) : null;
        if (orderKey is not null && e.Type == EventTypes.OrderReturned)
        {
            OnReturn(p, orderKey, e, shopCurrency);
        }
        else if (known is { Gross: not null })
        {
            if (e.Type == EventTypes.OrderPlaced && Stamp.Newer(known.At, known.EventId, e.Timestamp, e.Id))
            {
                known = Redate(p, orderKey!, known, e, options); // its original came after a later event of it
            }

            OnOrderUpdate(p, orderKey!, known, e, options, shopCurrency);
            ConvertOnUpdate(p, orderKey!, e, now, options, shopCurrency);
        }
        else
        {
            // Returns that came before their order: it converts net of them.
            var factor = known?.Returned is { } early ? NetFactor(early, known.ReturnedIn, CurrencyOf(e), Revenue(e, TotalProperty, shopCurrency)) : 1;
            bool? repeatOrder = null;
            var missed = false;
            List<ConversionDelta>? added = null;
            var conversions = options.Conversions;
            for (var i = 0; i < conversions.Count; i++) // by index: a foreach boxes the IList's enumerator
            {
                var c = conversions[i];
                if (!Matches(c, e, now))
                {
                    missed |= c.EventType == EventTypes.OrderPlaced;
                }
                else if (!(repeatOrder ??= IsKnownOrder(p, e)))
                {
                    OnConversion(p, c, e, options, shopCurrency, factor, added ??= []);
                }
            }

            // An order a narrowed conversion did not take yet (placed unpaid, paid by its update) is kept too, so its
            // update converts it then — once; a known order past the retention is not (it converted when it came). One
            // dated before the retention is not made at all: Trim, below, would take it out again at once (an import).
            if ((added is { Count: > 0 } || (missed && !(repeatOrder ??= IsKnownOrder(p, e))))
                && e.Type == EventTypes.OrderPlaced && e.Timestamp >= now - OrderConversionRetention && (orderKey ?? OrderKey(p, e)) is { } key)
            {
                p.OrderConversions[key] = new OrderConversion(e.Timestamp, e.Id, added is null ? [] : [.. added])
                {
                    Day = options.DayOf(e.Timestamp),
                    Gross = GrossOf(e, options, shopCurrency), GrossCurrency = CurrencyOf(e), GrossAt = e.Timestamp, GrossEventId = e.Id,
                    Returned = known?.Returned, ReturnedIn = known?.ReturnedIn,
                };
            }
        }

        Trim(p, now, options, reachHash);
        return e;
    }

    /// <summary>A message was queued for the person: its touch starts (outcomes follow as events).</summary>
    /// <param name="p">The profile.</param>
    /// <param name="request">The message.</param>
    /// <param name="channel">The channel it was planned on.</param>
    /// <param name="now">The engine's clock.</param>
    /// <param name="options">Measurement settings.</param>
    /// <param name="reachHash">As for <see cref="OnEvent"/>.</param>
    public static void Queued(CustomerProfile p, MessageRequest request, string channel, DateTimeOffset now, MeasurementOptions options, Func<string, string, string>? reachHash = null)
    {
        var (journey, step, variant) = Origin(request);
        if (Touch.IndexOf(p.Touches, request.Key) is var known and >= 0)
        {
            if (reachHash is not null)
            {
                ProfileCore.KeepReach(p, p.Touches[known], reachHash);
            }

            p.Touches.RemoveAt(known);
        }

        p.Touches.Add(new Touch { Key = request.Key, Channel = channel, JourneyId = journey, StepId = step, Variant = variant, TemplateId = request.TemplateId, QueuedAt = now });
        Trim(p, now, options, reachHash);
    }

    /// <summary>
    /// Whether a message is withheld because the person is in the global control group (marketing only); counts it as
    /// <see cref="MeasurementMetrics.HeldOut"/>.
    /// </summary>
    public static bool HoldsOut(CustomerProfile p, MessageRequest request, string channel, DateTimeOffset now, MeasurementOptions options)
    {
        if (request.Class != MessageClass.Marketing || options.GlobalControlShare <= 0)
        {
            return false;
        }

        EnsureGroup(p, now, options);
        if (p.MeasurementGroup != "control")
        {
            return false;
        }

        var (journey, step, variant) = Origin(request);
        p.PendingMeasurements.Add(MeasurementKey.Of(journey, step, variant, channel, request.TemplateId, now, MeasurementMetrics.HeldOut, options), 1);
        return true;
    }

    /// <summary>A journey counter changed (mirrors the profile's own journey counters into the aggregates).</summary>
    public static void Journey(CustomerProfile p, string journeyId, string counter, long by, DateTimeOffset now, MeasurementOptions? options) =>
        p.PendingMeasurements.Add(MeasurementKey.Of(journeyId, null, null, null, null, now, MeasurementMetrics.JourneyPrefix + counter, options), by);

    /// <summary>
    /// A journey instance converted: the revenue of the goal event (the first conversion definition of its type with a
    /// revenue property, else <c>total</c>) goes to the journey (<c>journey:revenue</c>) and to its variant, with its
    /// square (for Welch's test on revenue per recipient).
    /// </summary>
    public static void JourneyRevenue(CustomerProfile p, string journeyId, string? variant, CustomerEvent e, DateTimeOffset now, MeasurementOptions options, string? shopCurrency = null)
    {
        var property = options.Conversions.FirstOrDefault(c => c.EventType == e.Type && c.RevenueProperty is not null)?.RevenueProperty ?? TotalProperty;
        var revenue = Revenue(e, property, shopCurrency);

        // An order's journey revenue follows the order's updates and returns like its conversion rows (kept with them).
        List<ConversionDelta>? rows = null;
        OrderConversion? order = null;
        string? orderKey = null;
        if (e.Type == EventTypes.OrderPlaced && OrderKey(p, e) is { } key)
        {
            orderKey = key;
            order = p.OrderConversions.GetValueOrDefault(key);
            if (order is not { Gross: not null })
            {
                order = (order ?? new OrderConversion(e.Timestamp, e.Id, [])) with { Gross = GrossOf(e, options, shopCurrency), GrossCurrency = CurrencyOf(e), GrossAt = e.Timestamp, GrossEventId = e.Id };
            }

            order = order.Gross!.Value.Has(property) ? order : order with { Gross = order.Gross.Value.With(property, revenue) };
            revenue = Base(order, property);
            rows = order.JourneyRows is null ? [] : [.. order.JourneyRows];
        }

        void Add(string metric, double sum, bool squared = false)
        {
            var key = MeasurementKey.Of(journeyId, null, null, null, null, now, MeasurementMetrics.JourneyPrefix + metric, options);
            p.PendingMeasurements.Add(key, 1, sum);
            rows?.Add(new ConversionDelta(key, 1, sum, property, 1, squared));
        }

        Add("revenue", revenue);
        if (variant is not null)
        {
            Add($"variant:{variant}:revenue", revenue);
            Add($"variant:{variant}:revenue_sq", revenue * revenue, squared: true);
        }

        if (orderKey is not null)
        {
            // Stored once its rows are complete: a stored conversion never changes (its written JSON is kept, WrittenJson).
            p.OrderConversions[orderKey] = order! with { JourneyRows = rows };
        }
    }

    /// <summary>The global group of a profile id: a stable hash into [0, 1) below the share is control.</summary>
    internal static bool InGlobalControl(string profileId, double share)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("global-control\n" + profileId), digest);
        return (BitConverter.ToUInt64(digest) >> 11) * (1.0 / (1UL << 53)) < share;
    }

    private static void EnsureGroup(CustomerProfile p, DateTimeOffset now, MeasurementOptions options)
    {
        if (options.GlobalControlShare <= 0 || p.MeasurementGroup is not null)
        {
            return;
        }

        p.MeasurementGroup = InGlobalControl(p.Id, options.GlobalControlShare) ? "control" : "treatment";
        p.MeasurementGroupAt = now;
        p.MeasurementGroupShare = options.GlobalControlShare;

        // Assignments are counted on one fixed day: the group sizes are read as a whole, not per day. Audit U86: under
        // the share in force at the assignment (the row's step), so the sample-ratio check reads each period against its
        // own share when GlobalControlShare is changed during the test.
        p.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, ShareStep(p.MeasurementGroupShare), p.MeasurementGroup, null, null, DateTimeOffset.FromUnixTimeSeconds(0), GlobalAssigned), 1);
    }

    /// <summary>Audit U86: the step id of a global assignment row, the control share then in force (null: a row from before it was kept).</summary>
    internal static string? ShareStep(double? share) =>
        share is { } s ? SharePrefix + s.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : null;

    internal const string SharePrefix = "share:";

    /// <summary>Audit U86: people assigned to both global groups (two profiles of hers merged), counted under the kept group.</summary>
    internal const string GlobalInBoth = "global:both";

    /// <summary>
    /// Whether an outcome repeats one its message's touch already holds (a provider's webhook sent again, under a new event
    /// id, or the proxy's open then hers): it counts once and starts a journey once. A click repeats only a click on the
    /// same link (<c>url</c>), an unsubscribe only one from the same topic: another is a new action of hers. A bounce is
    /// not read here: a hard bounce after a soft one is news.
    /// </summary>
    internal static bool IsRepeatedOutcome(CustomerProfile p, CustomerEvent e)
    {
        if (p.TouchesIfAny is not { Count: > 0 } || e.Type is not (EventTypes.MessageSent or EventTypes.MessageDelivered or EventTypes.MessageOpened
                or EventTypes.MessageClicked or EventTypes.MessageUnsubscribed or EventTypes.MessageFailed)
            || e.Properties.ValueKind != JsonValueKind.Object || !e.Properties.TryGetProperty("message_id", out var key)
            || key.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
        {
            return RepeatsAWaitingReport(p, e); // review of U81: no message named yet, but the same report may wait already
        }

        // Compared in place, newest first (see Touch.IndexOf): this runs on every outcome of every message, the SDK's own
        // message.sent included.
        var number = key.ValueKind == JsonValueKind.Number ? NumericKey.Text(key) : null; // a numeric id, as String() reads it
        Touch? touch = null;
        for (var i = p.Touches.Count - 1; i >= 0; i--)
        {
            var t = p.Touches[i];
            if (number is null ? key.ValueEquals(t.Key) : number == t.Key)
            {
                touch = t;
                break;
            }
        }

        if (touch is null)
        {
            return false;
        }

        return e.Type switch
        {
            EventTypes.MessageSent => touch.SentAt is not null,
            EventTypes.MessageDelivered => touch.DeliveredAt is not null,
            EventTypes.MessageOpened => touch.OpenedAt is not null,
            // A click on another link, an unsubscribe from another topic: a new action of hers, not the report again.
            EventTypes.MessageClicked or EventTypes.MessageUnsubscribed => touch.HasReported(Touch.OutcomeDetail(e)!),
            _ => touch.FailureReportedAt is not null,
        };
    }

    // Whether the profile already holds this event's order ("order:" + order_id, ProfileCore's key), without allocating
    // for the usual id: the check runs on every order. Read before the event is applied: afterwards it always holds it.
    /// <summary>
    /// Audit U95: whether <paramref name="e"/> is a report of an order the profile knows that is older (by event time, ties
    /// by event id) than every report of it heard so far: the order's first report, arriving after a later one (its
    /// correction, a re-send). In event-time order it is the order placed, and the later reports are its updates.
    /// Read before the event is applied (the fact's first report is then still the one heard first).
    /// </summary>
    internal static bool IsFirstReportArrivingLate(CustomerProfile p, CustomerEvent e) =>
        e.Type == EventTypes.OrderPlaced && p.Orders.Count > 0 && e.Properties.ValueKind == JsonValueKind.Object
        && WellKnownProperties.OrderId(p, e.Properties) is { Length: > 0 } id && p.Orders.TryGetValue(WellKnownProperties.OrderKey(id), out var known)
        && Stamp.Newer(known.At, known.FirstEventId, e.Timestamp, e.Id);

    internal static bool IsKnownOrder(CustomerProfile p, CustomerEvent e)
    {
        if (e.Type != EventTypes.OrderPlaced || p.Orders.Count == 0 || e.Properties.ValueKind != JsonValueKind.Object
            || !e.Properties.TryGetProperty("order_id", out var id) || id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
        {
            return false;
        }

        if (id.ValueKind == JsonValueKind.Number)
        {
            // A numeric order_id (Shopify, WooCommerce) is keyed by its text, as ProfileCore keys it (audit U4).
            return WellKnownProperties.OrderId(p, e.Properties) is { } orderId && p.Orders.ContainsKey(WellKnownProperties.OrderKey(orderId));
        }

        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(id);
        if (raw.IndexOf((byte)'\\') >= 0 || raw.Length > 258)
        {
            return id.GetString() is { Length: > 0 } orderId && p.Orders.ContainsKey(WellKnownProperties.OrderKey(orderId));
        }

        Span<char> key = stackalloc char[6 + raw.Length];
        "order:".CopyTo(key);
        var length = 6 + System.Text.Encoding.UTF8.GetChars(raw[1..^1], key[6..]); // the raw value keeps its quotes
        return length > 6 && p.Orders.ContainsKey(key[..length]);
    }

    private static void Trim(CustomerProfile p, DateTimeOffset now, MeasurementOptions options, Func<string, string, string>? reachHash)
    {
        if (p.OrderConversionsIfAny is { Count: > 0 } conversions)
        {
            var keepConversionsFrom = now - OrderConversionRetention;
            foreach (var (key, c) in conversions)
            {
                if (c.At < keepConversionsFrom)
                {
                    conversions.Remove(key); // removing during enumeration is allowed for Dictionary in .NET Core 3+
                }
            }
        }

        if (p.TouchesIfAny is not { Count: > 0 })
        {
            return;
        }

        // Runs on every event: the touches are nearly always in order already and none has expired, so both are checked
        // in one pass before anything is sorted or removed.
        // Kept as long as a conversion uploaded late may still need them (the grace journeys give a late goal event), so
        // whether a late order is attributed does not depend on whether some other event trimmed them meanwhile.
        var keepFrom = now - options.Windows.Longest - Journeys.JourneyRunner.LateEventGrace;
        var touches = p.Touches;
        // LastAt is never before QueuedAt, so only a touch queued before keepFrom can have expired (read first: cheaper).
        // Touch.Compare's order, each touch read once: her touches (up to MaxTouchesPerProfile) are walked on every event.
        var previous = touches[0];
        var previousTicks = previous.QueuedAt.UtcTicks;
        var keepFromTicks = keepFrom.UtcTicks;
        bool sorted = true, expired = previousTicks < keepFromTicks && previous.LastAt < keepFrom;
        for (var i = 1; i < touches.Count; i++)
        {
            var touch = touches[i];
            var ticks = touch.QueuedAt.UtcTicks;
            sorted &= previousTicks < ticks || (previousTicks == ticks && string.CompareOrdinal(previous.Key, touch.Key) <= 0);
            expired |= ticks < keepFromTicks && touch.LastAt < keepFrom;
            (previous, previousTicks) = (touch, ticks);
        }

        if (!sorted)
        {
            touches.Sort(Touch.Compare);
        }

        if (expired)
        {
            if (reachHash is not null)
            {
                foreach (var t in touches)
                {
                    if (t.LastAt < keepFrom)
                    {
                        ProfileCore.KeepReach(p, t, reachHash);
                    }
                }
            }

            RemoveExpired(touches, keepFrom);
        }

        if (p.Touches.Count > options.MaxTouchesPerProfile)
        {
            var over = p.Touches.Count - options.MaxTouchesPerProfile;
            for (var i = 0; reachHash is not null && i < over; i++)
            {
                ProfileCore.KeepReach(p, p.Touches[i], reachHash);
            }

            p.Touches.RemoveRange(0, over);
        }
    }

    // Apart from Trim, whose every call would otherwise allocate the lambda's closure.
    private static void RemoveExpired(List<Touch> touches, DateTimeOffset keepFrom) => touches.RemoveAll(t => t.LastAt < keepFrom);
}
