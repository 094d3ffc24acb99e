using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit L: a message that never reached the person earns no credit for her conversion.</summary>
public sealed class AuditLAttributionTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    private static JourneyRig Welcome() => JourneyRig.Create(
        [JourneyRig.Parse("""
            {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
             "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
            """)]);

    private static async Task<double> Credit(JourneyRig rig) =>
        (await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "welcome", MetricPrefix = "credit:" })).Sum(r => r.Sum);

    [Theory]
    [InlineData(EventTypes.MessageBounced)]
    [InlineData(EventTypes.MessageFailed)]
    public async Task ABouncedOrFailedMessage_IsNotCreditedWithALaterOrder(string outcome)
    {
        await using var rig = Welcome();
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        var key = Assert.Single(rig.Recorder.Messages).MessageId!;
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync(outcome, [Ann], new { channel = "email", message_id = key, bounce_type = "hard" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40 });

        Assert.Equal(0, await Credit(rig));
    }

    [Fact]
    public async Task ASoftBounceFollowedByDelivery_IsStillCredited()
    {
        await using var rig = Welcome();
        await rig.TrackAsync("user.signed_up", [Ann, AnnEmail]);
        var key = Assert.Single(rig.Recorder.Messages).MessageId!;
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync(EventTypes.MessageBounced, [Ann], new { channel = "email", message_id = key, bounce_type = "soft" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(30));
        await rig.TrackAsync(EventTypes.MessageDelivered, [Ann], new { channel = "email", message_id = key });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 40 });

        Assert.Equal(4, await Credit(rig), 9); // one conversion, full credit under each of the four models
    }

    [Fact]
    public void AttributionPoints_OfABouncedTouch_KeepOnlyWhatCameAfterTheBounce()
    {
        var t0 = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var touch = new Touch { Key = "m1", Channel = "email", QueuedAt = t0, SentAt = t0, DeliveredAt = t0.AddMinutes(1), FailedAt = t0.AddMinutes(2), OpenedAt = t0.AddMinutes(3) };
        Assert.Equal([TouchKind.Opened], touch.Points().Select(p => p.Kind));
    }
}
