using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: a birthday trait written as a timestamp (JavaScript's toISOString of a date) in a zone west of UTC.</summary>
public sealed class AuditBirthdayInstantTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    [Fact]
    public async Task TheBirthdayJourney_AndTheBirthdayTodaySegment_AgreeOnTheDay()
    {
        var journey = Journey.Define("birthday", "Birthday")
            .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(10, 0), annual: true))
            .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
            .Build();
        var today = SegmentJson.Parse("""{"id": "birthday-today", "name": "Birthday today", "rule": {"trait": "birthday", "op": "anniversaryWithin", "value": "P0D"}}""").Value!;
        await using var rig = JourneyRig.Create([journey], [today], start: new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")], traits: new { birthday = "1990-05-10T00:00:00.000Z" },
            context: new EventContext { TimeZone = "America/New_York" });

        await rig.AdvanceToAsync(new DateTimeOffset(2026, 5, 12, 0, 0, 0, TimeSpan.Zero));
        var ann = await rig.Host.ProfileAsync(Ann);
        var segmentDay = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(
            Assert.Single(ann.Timeline, t => t.Type == EventTypes.SegmentEntered).Timestamp, TimeZoneInfo.FindSystemTimeZoneById("America/New_York")).DateTime);
        var journeyDay = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(
            Assert.Single(ann.Timeline, t => t.Type == "journey.entered").Timestamp, TimeZoneInfo.FindSystemTimeZoneById("America/New_York")).DateTime);
        Assert.Equal(segmentDay, journeyDay);
    }
}
