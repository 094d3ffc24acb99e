using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Measurement;

// A conversion attributed to her touches under every model, and what a conversion definition matches and counts.
internal static partial class MeasurementRecorder
{
    private static readonly AttributionModel[] Models = Enum.GetValues<AttributionModel>();

    private static void OnConversion(CustomerProfile p, ConversionDefinition c, CustomerEvent e, MeasurementOptions options, string? shopCurrency, double factor, List<ConversionDelta> added)
    {
        var at = e.Timestamp;
        var property = c.RevenueProperty;
        var revenue = property is not null ? Revenue(e, property, shopCurrency) * factor : 0;
        var group = options.GlobalControlShare > 0 ? p.MeasurementGroup : null;
        void Add(MeasurementKey key, long count, double sum, string? revenueProperty = null, double share = 0)
        {
            p.PendingMeasurements.Add(key, count, sum);
            added.Add(new ConversionDelta(key, count, sum, revenueProperty, share));
        }

        Add(MeasurementKey.Of(group is null ? null : GlobalJourney, null, group, null, null, at, MeasurementMetrics.Conversion(c.Id), options), 1, revenue, property, 1);
        if (group is not null)
        {
            // Per person, for the global group's verdict: converters once, revenue and the change of its square.
            var known = p.GroupConversions.TryGetValue(c.Id, out var before);
            var after = before + revenue;
            p.GroupConversions[c.Id] = after;
            var epoch = DateTimeOffset.FromUnixTimeSeconds(0);
            p.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, group, null, null, epoch, GlobalConverted + c.Id), known ? 0 : 1, revenue);
            p.PendingMeasurements.Add(MeasurementKey.Of(GlobalJourney, null, group, null, null, epoch, GlobalRevenueSquares + c.Id), 0, (after * after) - (before * before));
        }
        if (p.TouchesIfAny is not { Count: > 0 })
        {
            return; // nothing to credit (most orders: no message in any window)
        }

        var points = p.Touches.SelectMany(t => t.Points()).ToList();
        foreach (var model in Models)
        {
            foreach (var credit in Attribution.Credit(points, at, options.Windows, model, options.TimeDecayHalfLife))
            {
                var t = credit.Touch;
                Add(MeasurementKey.Of(t.JourneyId, t.StepId, t.Variant, t.Channel, t.TemplateId, at, MeasurementMetrics.Credit(c.Id, model), options), 1, credit.Credit);
                Add(MeasurementKey.Of(t.JourneyId, t.StepId, t.Variant, t.Channel, t.TemplateId, at, MeasurementMetrics.Revenue(c.Id, model), options), 1, credit.Credit * revenue, property, credit.Credit);
            }
        }
    }

    internal static bool Matches(ConversionDefinition c, CustomerEvent e, DateTimeOffset now)
    {
        // Audit U82: a machine's click (a link scanner's) converts nothing unless the definition's `where` names `machine`.
        if (e.Type != c.EventType || MachineEngagement.HiddenFrom(c.Where, e))
        {
            return false;
        }

        foreach (var w in c.Where)
        {
            var value = RuleHistory.ReadPath(e.Properties, w.Property);
            if (!ConditionMatcher.Matches(MachineEngagement.ConditionOn(e.Type, w), value, now)) // `machine eq false` is her report (review U82)
            {
                return false;
            }
        }

        return true;
    }

    // A number, or a numeric string ("19.99": the events' validation accepts it and the profile counts it, so revenue does too).
    // Money is never added across currencies: with the shop's currency set, an event in another currency (its `currency`
    // property, any case) converts but adds no revenue — the aggregates' sums are in the shop's currency only.
    internal static double Revenue(CustomerEvent e, string property, string? shopCurrency = null) =>
        e.Properties.ValueKind == JsonValueKind.Object && RuleHistory.TryGetPath(e.Properties, property, out var v)
        && (shopCurrency is null || WellKnownProperties.String(e.Properties, "currency") is not { } currency || string.Equals(currency, shopCurrency, StringComparison.OrdinalIgnoreCase))
        && (v.ValueKind == JsonValueKind.Number ? v.TryGetDouble(out var d)
            : v.ValueKind == JsonValueKind.String && NumberText.TryParseDouble(v.GetString(), out d))
        && double.IsFinite(d)
            ? d
            : 0;

    private static (string? Journey, string? Step, string? Variant) Origin(MessageRequest request)
    {
        // Journeys put their id, step and variant into the request's data; a host's own request may do the same.
        var d = request.Data;
        return (Str(d, "journeyId"), Str(d, "step"), Str(d, "variant"));
    }

    private static string? Str(JsonObject? o, string name) =>
        o is not null && o.TryGetPropertyValue(name, out var n) && n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
