using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit RT: divergences the round-trip properties found, shrunk to examples (see docs/design-notes.md).</summary>
public sealed class AuditRTRoundTripTests
{
    private static JourneyDefinitionBuilder Waiting(Func<JourneyStepsBuilder, JourneyStepsBuilder> wait) =>
        Journey.Define("welcome", "Welcome").TriggeredBy(t => t.Event("page.viewed")).Steps(s => wait(s).Exit("done"));

    [Fact]
    public void ALocalTimeWithAFractionOfASecond_IsRefusedByTheBuilder_NotRoundedOnTheWayToJson()
    {
        // 09:30:00.500 was accepted in C#, written "09:30:00" and read back as another wait.
        var local = Assert.Throws<JourneyDefinitionException>(() => Waiting(s => s.DelayUntilLocalTime("wait", new TimeOnly(9, 30, 0, 500))).Build());
        var date = Assert.Throws<JourneyDefinitionException>(() => Waiting(s => s.DelayUntilDateTrait("wait", "birthday", "-P1D", new TimeOnly(6, 20, 35, 185))).Build());
        var trigger = Assert.Throws<JourneyDefinitionException>(() => Journey.Define("bday", "Birthday")
            .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(8, 0, 0, 1)))
            .Steps(s => s.Exit("done")).Build());

        Assert.Contains(local.Errors, e => e.Path == "$.steps[0].localTime");
        Assert.Contains(date.Errors, e => e.Path == "$.steps[0].localTime");
        Assert.Contains(trigger.Errors, e => e.Path == "$.trigger.localTime");
    }

    [Fact]
    public void ALocalTimeToTheSecond_RoundTripsExactly()
    {
        var built = Waiting(s => s.DelayUntilLocalTime("wait", new TimeOnly(9, 30, 15), DayOfWeek.Monday)).Build();

        var json = JourneyJson.Serialize(built);
        var read = JourneyJson.Parse(json);

        Assert.True(read.IsValid, string.Join("\n", read.Errors));
        Assert.Equal(new TimeOnly(9, 30, 15), ((DelayUntilLocalTimeStep)read.Value!.Steps[0]).LocalTime);
        Assert.Equal(json, JourneyJson.Serialize(read.Value!));
    }

    [Fact]
    public void ADurationWithAFractionOfASecond_IsRefusedInCSharp_NotWrittenAsPTOrRoundedDown()
    {
        // FromTime(500 ms) was written "PT", which the JSON reader refuses; 1.5 s was written "PT1S", another window.
        Assert.Throws<ArgumentOutOfRangeException>(() => IsoDuration.FromTime(TimeSpan.FromMilliseconds(500)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IsoDuration(0, 0, 1, TimeSpan.FromMilliseconds(1500)));
    }

    [Fact]
    public void ADurationOfWholeSeconds_FromATimeSpan_RoundTripsThroughSegmentJson()
    {
        SegmentDefinition built = Segment.Define("recent", "Recent")
            .Where(r => r.LastEvent("app.opened").WithinLast(IsoDuration.FromTime(TimeSpan.FromSeconds(90_061))));

        var json = SegmentJson.Serialize(built);
        var read = SegmentJson.Parse(json);

        Assert.True(read.IsValid, string.Join("\n", read.Errors));
        Assert.Equal(TimeSpan.FromSeconds(90_061), ((RecencyRule)read.Value!.Rule).Duration.Time);
        Assert.Equal(json, SegmentJson.Serialize(read.Value!));
    }
}
