using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Items earlier sessions noted and left alone, taken up in the twenty-sixth: a birthday cleared and given again the same
/// day, and a year-less birthday with white space after it.
/// </summary>
public sealed class LeftAlone26Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-26");
    private static readonly Identifier AnnMail = Identifier.Email("ann26@example.com");

    private static JourneyDefinition Birthday() => Journey.Define("birthday", "Birthday")
        .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(9, 0), annual: true))
        .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
        .Build();

    // Wished at 09:00 UTC; a CRM sync then clears her birthday and writes it again (the same day, or written another way),
    // and her app tells her zone, Honolulu, where 09:00 is still to come. She is wished once that day and once next year.
    // Before, a cleared trait forgot that it fired: the value written again was new, and Honolulu's 09:00 wished her again.
    [Theory]
    [InlineData("--03-12")]
    [InlineData("1990-03-12")]
    public async Task ABirthdayClearedAndGivenAgain_TheSameDay_IsNotWishedTwice(string again)
    {
        await using var rig = JourneyRig.Create([Birthday()], start: new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "--03-12" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 10, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());

        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = (string?)null });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = again }, context: new EventContext { TimeZone = "Pacific/Honolulu" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 12, 31, 0, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());

        await rig.AdvanceToAsync(new DateTimeOffset(2027, 3, 13, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(2, rig.Sent().Count); // next year, once, in Honolulu
    }

    // Cleared and given again as another day: that day is wished (a new birthday), and a birthday that never fired and was
    // cleared is forgotten, as before.
    [Fact]
    public async Task ABirthdayClearedAndGivenAsAnotherDay_IsWishedOnIt()
    {
        await using var rig = JourneyRig.Create([Birthday()], start: new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = "--03-12" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 10, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = (string?)null });
        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = "--03-20" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 21, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(2, rig.Sent().Count);

        await rig.TrackAsync("user.updated", [Ann], traits: new { birthday = (string?)null });
        await rig.AdvanceToAsync(new DateTimeOffset(2027, 3, 21, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(2, rig.Sent().Count); // no birthday, no wish
    }

    // A year-less birthday with white space after it is the same birthday, as "1990-03-12 " always was: the trigger wishes
    // her on it and anniversaryWithin reads it. (Leading white space is refused for both, as before.)
    [Theory]
    [InlineData("--03-12 ")]
    [InlineData("--03-12\t")]
    public async Task AYearlessBirthday_WithWhiteSpaceAfter_IsRead(string written)
    {
        var parsed = SegmentJson.Parse("""{"id": "today", "name": "Birthday today", "rule": {"trait": "birthday", "op": "anniversaryWithin", "value": "P0D"}}""");
        var today = Assert.IsType<SegmentDefinition>(parsed.Value);
        await using var rig = JourneyRig.Create([Birthday()], [today], start: new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail], traits: new { birthday = written });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 10, 0, 0, TimeSpan.Zero));
        Assert.Equal(["email:happy-birthday"], rig.Sent());
        Assert.Contains((await rig.Host.ProfileAsync(Ann)).Segments, m => m.SegmentId == "today");
    }
}
