using System.Text.Json.Nodes;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Tests.Measurement;

/// <summary>The package README's Measurement example, as code that must compile and run.</summary>
public sealed class ReadmeMeasurementExampleTests
{
    [Fact]
    public async Task TheReadmeExample_Runs()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Measurement.Conversions.Add(new ConversionDefinition("big-order", EventTypes.OrderPlaced)
            {
                RevenueProperty = "total",
                Where = [new PropertyCondition("total", new Condition(ConditionOperator.Gte, JsonValue.Create(100)))],
            });
            o.Measurement.Windows.Clicked = TimeSpan.FromDays(3);
            o.Measurement.GlobalControlShare = 0.05;
            o.Measurement.TimeZone = "America/New_York";
            o.Journeys.Add(Omnichannel.Sdk.Tests.Journeys.JourneyRig.Parse("""
                {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
                 "steps": [{"id": "split", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "end"}, {"name": "b", "weight": 1, "next": "end"}]},
                           {"id": "end", "type": "exit"}]}
                """));
        });
        var engine = host.Engine;
        var today = engine.Options.Measurement.DayOf(host.Time.GetUtcNow());
        var ann = Identifier.CustomerId("ann");
        await host.TrackAsync(EventTypes.MessageSent, [ann], new { channel = "sms", message_id = "m1", template_id = "promo" });
        await host.TrackAsync(EventTypes.MessageClicked, [ann], new { channel = "sms", message_id = "m1" });
        await host.TrackAsync(EventTypes.OrderPlaced, [ann], new { order_id = "o1", total = 150 });

        var rows = await engine.GetMeasurementsAsync(new MeasurementQuery
        {
            MetricPrefix = MeasurementMetrics.Credit("order", AttributionModel.Linear),
            From = today.AddDays(-7),
            To = today,
        });
        var creditByChannel = rows.GroupBy(r => r.Key.Channel).ToDictionary(g => g.Key, g => g.Sum(r => r.Sum));
        Assert.Equal(new Dictionary<string, double> { ["sms"] = 1.0 }, creditByChannel);

        var verdict = await engine.GetExperimentVerdictAsync("welcome");
        Assert.Null(verdict); // the README's welcome journey, nobody entered yet: no arms
        await Assert.ThrowsAsync<ArgumentException>(() => engine.GetExperimentVerdictAsync("welcom")); // no such journey

        var report = await MeasurementReport.BuildAsync(engine, new MeasurementReportOptions { Model = AttributionModel.TimeDecay });
        Assert.Equal("time_decay", report.Model);
        Assert.Equal(today, report.To); // the engine's (fake) clock, as the README calls it without one
        Assert.Equal(150, report.Channels["sms"].Revenue, 9);
        Assert.Contains("<svg class=\"chart\"", MeasurementReport.ToHtml(report));
        Assert.Single(await engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion:big-order" }));
    }
}
