using System.Text.RegularExpressions;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit E: the measurement report with odd numbers.</summary>
public sealed class AuditEReportTests
{
    private static readonly DateTimeOffset Start = new(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ANegativeOrderTotal_AnAcceptedRefundOrder_DrawsNoNegativeBarInTheReport()
    {
        var promo = JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "promo-mail", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([promo], start: Start);
        var id = Identifier.CustomerId("r1");
        await rig.TrackAsync("user.signed_up", [id, Identifier.Email("r1@example.com")]);
        var message = rig.Recorder.Messages[^1];
        await rig.TrackAsync(EventTypes.MessageClicked, [id], new { message_id = message.MessageId });
        var order = await rig.TrackAsync(EventTypes.OrderPlaced, [id], new { order_id = "o1", total = -25 });
        Assert.Equal(TrackStatus.Accepted, order.Status); // amounts within ±10^15 are accepted

        var data = await MeasurementReport.BuildAsync(rig.Engine, new MeasurementReportOptions { From = DateOnly.FromDateTime(Start.UtcDateTime), To = DateOnly.FromDateTime(Start.UtcDateTime) });
        Assert.Equal(-25, data.Channels["email"].Revenue, 9);
        var html = MeasurementReport.ToHtml(data);

        // An SVG <rect> with a negative width is an error ("A negative value is not valid") and is not drawn.
        Assert.DoesNotMatch(new Regex("width=\"-"), html);
    }
}
