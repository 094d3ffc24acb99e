using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>Audit C: odd journey definitions are refused with their path or run for a year without failing her events.</summary>
public sealed class AuditCOddJourneyTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");

    [Theory]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "entry": {"maxConcurrent": 0}, "steps": [{"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "entry": {"correlationKey": ""}, "steps": [{"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "goal": {"event": "order.placed", "within": "P100Y"}, "steps": [{"id": "d", "type": "delay", "duration": "P100Y"}, {"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "delayUntilLocalTime", "localTime": "23:59:59.9999999"}, {"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "d", "type": "delayUntilLocalTime", "localTime": "02:30", "days": ["sunday"]}, {"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{"id": "w", "type": "waitForEvent", "branches": [{"event": "page.viewed"}], "timeout": "P100Y", "restartOnMatch": true}, {"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "date", "trait": "due", "offset": "-P100Y", "localTime": "00:00"}, "steps": [{"id": "e", "type": "exit"}]}""")]
    [InlineData("""{"id": "j", "version": 1, "name": "x", "trigger": {"type": "date", "trait": "due", "offset": "P100Y", "localTime": "23:59", "annual": true}, "steps": [{"id": "e", "type": "exit"}]}""")]
    public async Task AnOddJourney_IsRefusedWithItsPath_OrRunsForAYearInAFarZone(string json)
    {
        var parsed = JourneyJson.Parse(json);
        if (!parsed.IsValid)
        {
            Assert.All(parsed.Errors, e => Assert.StartsWith("$", e.Path, StringComparison.Ordinal));
            return;
        }

        await using var rig = JourneyRig.Create([parsed.Value!]);
        foreach (var (zone, due) in new[] { ("Pacific/Kiritimati", "0001-01-01"), ("Pacific/Pago_Pago", "9999-12-31"), ("America/Sao_Paulo", "2026-02-01") })
        {
            var r = await rig.Host.Client.TrackAsync(rig.Host.Event("page.viewed", [Known], traits: new { due }, context: new EventContext { TimeZone = zone }));
            Assert.True(r.IsAcknowledged, $"{zone} {due}: {r.Status} {r.FailureReason}");
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(400));
        var r2 = await rig.Host.Client.TrackAsync(rig.Host.Event("page.viewed", [Known]));
        Assert.True(r2.IsAcknowledged, $"{r2.Status} {r2.FailureReason}");
    }
}
