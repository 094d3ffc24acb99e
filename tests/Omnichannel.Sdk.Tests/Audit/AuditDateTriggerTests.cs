using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit: annual date triggers with an offset that crosses a year boundary, and 29 February.</summary>
public sealed class AuditDateTriggerTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    private static async Task<IReadOnlyList<DateTimeOffset>> Entries(string birthday, string offset, DateTimeOffset start, DateTimeOffset until)
    {
        var journey = Journey.Define("birthday", "Birthday")
            .TriggeredBy(t => t.Date("birthday", offset, new TimeOnly(10, 0), annual: true))
            .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
            .Build();
        await using var rig = JourneyRig.Create([journey], start: start);
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")], traits: new { birthday });
        await rig.AdvanceToAsync(until);
        return [.. (await rig.Host.ProfileAsync(Ann)).Timeline.Where(t => t.Type == "journey.entered").Select(t => t.Timestamp)];
    }

    [Fact]
    public async Task AWeekBeforeAnEarlyJanuaryBirthday_FiresEveryYear()
    {
        // Birthday 3 January; the reminder a week before falls in late December of the year before.
        var got = await Entries("1990-01-03", "-P7D", new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2029, 1, 10, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(
            [new DateTimeOffset(2026, 12, 27, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 12, 27, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2028, 12, 27, 10, 0, 0, TimeSpan.Zero)],
            got);
    }

    [Fact]
    public async Task ALeapDayBirthday_FiresOnThe28thInOtherYears_AndThe29thInLeapYears()
    {
        var got = await Entries("1992-02-29", "P0D", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2029, 3, 10, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(
            [new DateTimeOffset(2026, 2, 28, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2027, 2, 28, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2028, 2, 29, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2029, 2, 28, 10, 0, 0, TimeSpan.Zero)],
            got);
    }
}
