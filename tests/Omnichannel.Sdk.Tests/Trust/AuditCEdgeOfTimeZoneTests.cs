using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit C: date traits at the edges of time are harmless in UTC, but a customer east of Greenwich (year 1 in Tokyo is
/// before year 1 in UTC) or west of it (9999-12-31 in Los Angeles is after 9999 in UTC) must not poison her profile.
/// </summary>
public sealed class AuditCEdgeOfTimeZoneTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");

    [Theory]
    [InlineData("0001-01-01", "Asia/Tokyo")]
    [InlineData("0001-01-03", "Asia/Tokyo")]
    [InlineData("0001-01-01T00:00:00Z", "Asia/Tokyo")]
    [InlineData("9999-12-31", "America/Los_Angeles")]
    [InlineData("9999-12-31T23:59:59Z", "America/Los_Angeles")]
    [InlineData("9999-12-29", "America/Los_Angeles")]
    public async Task DateTraitAtTheEdgeOfTime_InAZoneAwayFromUtc_NeverStopsHerEvents(string date, string zone)
    {
        var journeys = new[]
        {
            JourneyRig.Parse("""
            {"id": "refill", "version": 1, "name": "R", "trigger": {"type": "date", "trait": "due", "offset": "-P7D", "localTime": "09:00"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """),
            JourneyRig.Parse("""
            {"id": "after", "version": 1, "name": "A", "trigger": {"type": "date", "trait": "due", "offset": "P3D", "localTime": "23:00"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """),
            JourneyRig.Parse("""
            {"id": "wait", "version": 1, "name": "W", "trigger": {"type": "event", "event": "user.updated"},
             "steps": [{"id": "d", "type": "delayUntilDateTrait", "trait": "due", "offset": "-P3D", "localTime": "10:00"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """),
        };
        var segments = new[]
        {
            SegmentJson.Parse("""{"id": "a", "name": "x", "rule": {"trait": "due", "op": "anniversaryWithin", "value": "P7D"}}""").Value!,
            SegmentJson.Parse("""{"id": "b", "name": "x", "rule": {"trait": "due", "op": "withinLast", "value": "P7D"}}""").Value!,
            SegmentJson.Parse("""{"id": "c", "name": "x", "rule": {"trait": "due", "op": "moreThanAgo", "value": "P1Y"}}""").Value!,
        };
        await using var rig = JourneyRig.Create(journeys, segments);
        var ctx = new EventContext { TimeZone = zone };
        var r = await rig.Host.Client.TrackAsync(rig.Host.Event("user.updated", [Known, Identifier.Email("a@example.com")], traits: new { due = date }, context: ctx));
        Assert.True(r.IsAcknowledged, $"{r.Status} {r.FailureReason}");
        var r2 = await rig.Host.Client.TrackAsync(rig.Host.Event("page.viewed", [Known]));
        Assert.True(r2.IsAcknowledged, $"{r2.Status} {r2.FailureReason}");
        await rig.AdvanceAsync(TimeSpan.FromDays(40));
        var r3 = await rig.Host.Client.TrackAsync(rig.Host.Event("user.updated", [Known], traits: new { due = "2027-06-01" }));
        Assert.True(r3.IsAcknowledged, $"{r3.Status} {r3.FailureReason}");
    }
}

/// <summary>Audit C: a merge of two harmless profiles whose union cannot be computed must not fail for ever.</summary>
public sealed class AuditCMergeAtTheEdgeOfTimeTests
{
    [Fact]
    public async Task MergingADateTraitOfYearOneWithAZoneEastOfUtc_DoesNotFailEveryEventCarryingBoth()
    {
        var segments = new[]
        {
            SegmentJson.Parse("""{"id": "b", "name": "x", "rule": {"trait": "due", "op": "withinLast", "value": "P7D"}}""").Value!,
        };
        var journeys = new[]
        {
            JourneyRig.Parse("""
            {"id": "refill", "version": 1, "name": "R", "trigger": {"type": "date", "trait": "due", "offset": "-P7D", "localTime": "09:00"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "t", "class": "transactional"}]}
            """),
        };
        await using var rig = JourneyRig.Create(journeys, segments);
        var card = Identifier.LoyaltyCard("CARD-1");
        var ann = Identifier.Email("ann@example.com");

        // Each profile alone is fine: the date in UTC, the zone on a profile without the date.
        var a = await rig.Host.Client.TrackAsync(rig.Host.Event("user.updated", [card], traits: new { due = "0001-01-01" }));
        Assert.True(a.IsAcknowledged, $"{a.Status} {a.FailureReason}");
        var b = await rig.Host.Client.TrackAsync(rig.Host.Event("page.viewed", [ann], context: new EventContext { TimeZone = "Asia/Tokyo" }));
        Assert.True(b.IsAcknowledged, $"{b.Status} {b.FailureReason}");

        // She logs in with both: the merge must apply, and so must her next events.
        var login = await rig.Host.Client.TrackAsync(rig.Host.Event("user.logged_in", [ann, card]));
        Assert.True(login.IsAcknowledged, $"{login.Status} {login.FailureReason}");
        var next = await rig.Host.Client.TrackAsync(rig.Host.Event("page.viewed", [ann, card]));
        Assert.True(next.IsAcknowledged, $"{next.Status} {next.FailureReason}");
    }
}
