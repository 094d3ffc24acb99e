using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>Touches carry journey, step, variant, channel and template; outcomes and conversions reach the aggregates in the same commit.</summary>
public sealed class TouchMeasurementTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static JourneyRig Welcome(Action<OmnichannelOptions>? configure = null) => JourneyRig.Create(
        [JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "goal": {"event": "order.placed", "within": "P30D"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "hello"}]},
                       {"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
            """)],
        configure: configure);

    private static async Task<IReadOnlyList<MeasurementRow>> Rows(JourneyRig rig, string? journey = null, string? metric = null) =>
        await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = journey, MetricPrefix = metric });

    [Fact]
    public async Task AJourneyMessage_ItsOutcomes_AndAnOrder_AreMeasuredWithEveryDimension()
    {
        await using var rig = Welcome();
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        var key = Assert.Single(rig.Recorder.Messages).MessageId!;
        var day = DateOnly.FromDateTime(rig.Host.Time.GetUtcNow().UtcDateTime);

        // The provider's webhooks: delivered, opened twice (a unique open counts once), clicked.
        await rig.TrackAsync(EventTypes.MessageDelivered, [Ann], new { channel = "email", message_id = key });
        await rig.TrackAsync(EventTypes.MessageOpened, [Ann], new { channel = "email", message_id = key });
        await rig.TrackAsync(EventTypes.MessageOpened, [Ann], new { channel = "email", message_id = key });
        await rig.AdvanceAsync(TimeSpan.FromDays(2));
        await rig.TrackAsync(EventTypes.MessageClicked, [Ann], new { channel = "email", message_id = key });
        await rig.AdvanceAsync(TimeSpan.FromDays(3));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40.5 });

        MeasurementKey K(string metric, int dayOffset) => new("welcome", "hello", "a", "email", "hello", day.AddDays(dayOffset), metric);
        var touchRows = (await Rows(rig, "welcome")).Where(r => !r.Key.Metric.StartsWith("journey:", StringComparison.Ordinal)).ToDictionary(r => r.Key);
        Assert.Equal(1, touchRows[K("sent", 0)].Count);
        Assert.Equal(1, touchRows[K("delivered", 0)].Count);
        Assert.Equal(1, touchRows[K("opened", 0)].Count);
        Assert.Equal(1, touchRows[K("clicked", 2)].Count);

        // The click (3 days before the order) is inside its 7-day window: the only touch, full credit under every model.
        foreach (var model in Enum.GetValues<AttributionModel>())
        {
            Assert.Equal(1.0, touchRows[K(MeasurementMetrics.Credit("order", model), 5)].Sum, 12);
            Assert.Equal(40.5, touchRows[K(MeasurementMetrics.Revenue("order", model), 5)].Sum, 12);
        }

        var conversion = Assert.Single(await Rows(rig, "", "conversion:"));
        Assert.Equal((1L, 40.5), (conversion.Count, conversion.Sum));

        // The journey's own statistics come from the same aggregates.
        var stats = await rig.Engine.GetJourneyStatisticsAsync("welcome");
        Assert.Equal((1L, 1L, 0L), (stats.Entered, stats.Converted, stats.Active));
        Assert.Equal(new JourneyVariantStatistics(1, 1), stats.Variants["a"]);
        var revenue = Assert.Single(await Rows(rig, "welcome", "journey:variant:a:revenue"), r => r.Key.Metric.EndsWith(":revenue", StringComparison.Ordinal));
        Assert.Equal(40.5, revenue.Sum, 12);
    }

    [Fact]
    public async Task OutcomeEvents_CarryTheirTouchsJourneyStepVariantAndTemplate()
    {
        // A journey that starts on a click of the welcome email (matched on journey_id, which the webhook did not send).
        var afterClick = JourneyRig.Parse("""
            {"id": "after-click", "version": 1, "name": "After click",
             "trigger": {"type": "event", "event": "message.clicked",
                         "where": [{"property": "journey_id", "op": "eq", "value": "welcome"},
                                   {"property": "step_id", "op": "eq", "value": "hello"},
                                   {"property": "variant", "op": "eq", "value": "a"},
                                   {"property": "template_id", "op": "eq", "value": "hello"}]},
             "steps": [{"id": "thanks", "type": "send", "channels": ["email"], "template": "thanks", "class": "transactional"}]}
            """);
        var welcome = JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "hello"}]},
                       {"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([welcome, afterClick]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        var key = Assert.Single(rig.Recorder.Messages).MessageId!;

        await rig.TrackAsync(EventTypes.MessageClicked, [Ann], new { message_id = key });

        Assert.Equal(["email:hello", "email:thanks"], rig.Sent());
    }

    [Fact]
    public async Task TouchesOfBothProfiles_SurviveAMerge_AndShareTheConversion()
    {
        await using var rig = Welcome();
        var cookie = Identifier.AnonymousId("cookie-1");
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        var journeyKey = Assert.Single(rig.Recorder.Messages).MessageId!;
        await rig.TrackAsync(EventTypes.MessageClicked, [Ann], new { channel = "email", message_id = journeyKey });

        // An anonymous visitor got an SMS the host sent itself, and clicked it; later she logs in: one person.
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        await rig.TrackAsync(EventTypes.MessageSent, [cookie], new { channel = "sms", message_id = "host-1", template_id = "promo" });
        await rig.TrackAsync(EventTypes.MessageClicked, [cookie], new { channel = "sms", message_id = "host-1" });
        await rig.TrackAsync("user.logged_in", [cookie, Ann]);
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10 });

        var linear = (await Rows(rig, null, MeasurementMetrics.Credit("order", AttributionModel.Linear))).ToDictionary(r => (r.Key.JourneyId, r.Key.Channel, r.Key.TemplateId), r => r.Sum);
        Assert.Equal(new Dictionary<(string, string, string), double> { [("welcome", "email", "hello")] = 0.5, [("", "sms", "promo")] = 0.5 }, linear);
        var last = Assert.Single(await Rows(rig, null, MeasurementMetrics.Revenue("order", AttributionModel.LastTouch)));
        Assert.Equal(("", "sms", 10.0), (last.Key.JourneyId, last.Key.Channel, last.Sum)); // the SMS click was the later one

        var touches = (await rig.Engine.ExportProfileAsync(Ann))!["internal"]!["touches"]!.AsArray();
        Assert.Equal(["host-1", journeyKey], touches.Select(t => (string)t!["key"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task OneMessagesOpen_UnderTwoIdentifiers_IsCountedOnce_AtItsEarliestInstant_WhenTheProfilesMerge()
    {
        await using var rig = Welcome();
        var cookie = Identifier.AnonymousId("cookie-1");
        await rig.TrackAsync(EventTypes.MessageSent, [Ann], new { channel = "sms", message_id = "host-1", template_id = "promo" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        var first = rig.Host.Time.GetUtcNow();
        await rig.TrackAsync(EventTypes.MessageOpened, [cookie], new { channel = "sms", message_id = "host-1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync(EventTypes.MessageOpened, [Ann], new { channel = "sms", message_id = "host-1" });
        Assert.Equal(2, (await Rows(rig, null, MeasurementMetrics.Opened)).Sum(r => r.Count)); // two profiles, each counted it

        await rig.TrackAsync("user.logged_in", [cookie, Ann]);

        Assert.Equal(1, (await Rows(rig, null, MeasurementMetrics.Opened)).Sum(r => r.Count));
        var touch = Assert.Single((await rig.Engine.ExportProfileAsync(Ann))!["internal"]!["touches"]!.AsArray());
        Assert.Equal(first, touch!["openedAt"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task ConversionDefinitions_FilterEvents_AndReadRevenueFromTheirProperty()
    {
        await using var rig = Welcome(o =>
        {
            o.Measurement.Conversions.Clear();
            o.Measurement.Conversions.Add(new ConversionDefinition("big-order", EventTypes.OrderPlaced)
            {
                RevenueProperty = "total",
                Where = [new PropertyCondition("total", new Condition(ConditionOperator.Gte, JsonValue.Create(100)))],
            });
            o.Measurement.Conversions.Add(new ConversionDefinition("signup", "user.signed_up"));
        });
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 30 });
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o2", total = 120 });

        var conversions = (await Rows(rig, "", "conversion:")).ToDictionary(r => r.Key.Metric, r => (r.Count, r.Sum));
        Assert.Equal(new Dictionary<string, (long, double)> { ["conversion:big-order"] = (1, 120), ["conversion:signup"] = (1, 0) }, conversions);
    }

    [Fact]
    public void BadMeasurementOptions_AreRefusedNamingTheField()
    {
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => OmnichannelTestHost.Create(o =>
        {
            o.Measurement.Conversions.Add(new ConversionDefinition("order", EventTypes.OrderPlaced)); // "order" exists by default
            o.Measurement.Conversions.Add(new ConversionDefinition("bad id!", ""));
            o.Measurement.Windows.Clicked = TimeSpan.FromDays(-1);
            o.Measurement.TimeDecayHalfLife = TimeSpan.Zero;
            o.Measurement.GlobalControlShare = 0.9;
        }));
        Assert.Contains("Measurement.Conversions[1].Id 'order' is used twice", ex.Message);
        Assert.Contains("Measurement.Conversions[2].Id must be", ex.Message);
        Assert.Contains("Measurement.Conversions[2].EventType is required", ex.Message);
        Assert.Contains("Measurement.Windows.Clicked", ex.Message);
        Assert.Contains("Measurement.TimeDecayHalfLife", ex.Message);
        Assert.Contains("Measurement.GlobalControlShare", ex.Message);
    }
}
