using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit CK, found by <see cref="AuditClockStepProperties"/>: a journey entered by a trigger without an event (an
/// inactivity deadline, a window's edge, a birthday) opened its goal window when the wake-up ran, so an engine that was
/// down (or a timer that fired late) counted conversions that, had time passed continuously, fell after the window.
/// </summary>
public sealed class AuditCKClockStepTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private const string Idle = """
        {"id": "idle", "version": 1, "name": "Idle",
         "trigger": {"type": "inactivity", "afterEvent": "page.viewed", "noEvent": ["order.placed"], "within": "PT3H"},
         "goal": {"event": "order.placed", "within": "PT6H"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {"id": "note", "type": "exit"}]}
        """;

    private const string Lapsed = """
        {"id": "lapsed", "version": 1, "name": "Lapsed",
         "trigger": {"type": "segment", "segment": "viewers", "on": "exited"},
         "goal": {"event": "order.placed", "within": "PT8H"},
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"}, {"id": "note", "type": "exit"}]}
        """;

    private const string Viewers = """{"id": "viewers", "name": "Viewed in the last 6 hours", "rule": {"event": "page.viewed", "count": {"op": "gte", "value": 1}, "within": "PT6H"}}""";

    private static OmnichannelTestHost NewHost(DateTimeOffset start, IOmnichannelStore store) =>
        OmnichannelTestHost.Create(
            o =>
            {
                o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse(Viewers).Value!);
                o.Journeys.Add(JourneyJson.Parse(Idle).Value!);
                o.Journeys.Add(JourneyJson.Parse(Lapsed).Value!);
            },
            start: start,
            store: store);

    // She views a page at 09:00; the inactivity deadline is 12:00 (goal window until 18:00) and the viewers window
    // closes at 15:00 (goal window until 23:00). She orders at 08:00 the next day: no goal window is open then.
    private static async Task<(JourneyStatistics Idle, JourneyStatistics Lapsed)> RunAsync(bool downOvernight)
    {
        var store = new InMemoryOmnichannelStore();
        var start = OmnichannelTestHost.DefaultStart;
        var host = NewHost(start, store);
        try
        {
            await host.TrackAsync(host.Event("page.viewed", [Ann], new { path = "/p" }));
            var morning = start + TimeSpan.FromHours(23);
            if (downOvernight)
            {
                // The engine is down from 09:00 to 08:00: both triggers are noticed only when it comes back.
                await host.DisposeAsync();
                host = NewHost(morning, store);
                await host.AdvanceAsync(TimeSpan.Zero);
            }
            else
            {
                await host.AdvanceToAsync(morning);
            }

            await host.TrackAsync(new CustomerEvent
            {
                Id = "order-1",
                Type = EventTypes.OrderPlaced,
                Timestamp = morning,
                Identifiers = [Ann],
                Properties = JsonData.From(new { order_id = "o1", total = 20, currency = "GBP" }),
            });
            return (await host.Client.GetJourneyStatisticsAsync("idle"), await host.Client.GetJourneyStatisticsAsync("lapsed"));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AGoalWindow_OpensAtTheTriggersOwnInstant_NotWhenALateWakeUpNoticedIt(bool downOvernight)
    {
        var (idle, lapsed) = await RunAsync(downOvernight);

        Assert.Equal((1, 1), (idle.Entered, lapsed.Entered));
        Assert.Equal((0, 0), (idle.Converted, lapsed.Converted)); // before the fix, down overnight: (1, 1)
    }
}
