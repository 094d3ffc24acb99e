using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.StoreParity;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U100's facts: the defects its properties found, shrunk, and a guard that the generated kinds reach the state
/// the audit is about (design notes, "Audit U100: arrival order and merges, property-based, round 5").
/// </summary>
public sealed class AuditU100Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-u100");
    private static readonly Identifier AnnCookie = Identifier.AnonymousId("cookie-ann-u100");
    private static readonly DateTimeOffset At = OmnichannelTestHost.DefaultStart - TimeSpan.FromHours(1);

    /// <summary>
    /// Found by both properties at a small timeline cap: the engine's own entries (segment transitions here, made when
    /// events are processed, so as many as the arrival order makes) took places under the cap from her events. With a
    /// cart line added and removed, time order enters and leaves "carted" (two entries), the removal first never enters
    /// it (none): the timeline kept another set of her events, and the export's consent history (read from the timeline)
    /// lost her consent in time order only.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HerEventsOnTheTimeline_AreTheSameInAnyArrivalOrder_WhateverTheEngineAddsToIt(bool split)
    {
        CustomerEvent E(string id, string type, int minute, object? properties, Identifier who) => new()
        {
            Id = id,
            Type = type,
            Timestamp = At + TimeSpan.FromMinutes(minute),
            Identifiers = [who],
            Channel = ChannelNames.Web,
            Properties = properties is null ? default : JsonData.From(properties),
        };

        var events = new[]
        {
            E("e1", EventTypes.CartItemAdded, 0, new { product_id = "p1", quantity = 1, price = 10 }, split ? AnnCookie : Ann),
            E("e2", EventTypes.ConsentChanged, 1, new { channel = "email", topic = "offers", granted = true }, Ann),
            E("e3", "page.viewed", 2, null, Ann),
            E("e4", "page.viewed", 3, null, split ? AnnCookie : Ann),
            E("e5", EventTypes.CartItemRemoved, 10, new { product_id = "p1" }, Ann),
        };
        var login = E("login", "user.logged_in", 20, null, Ann) with { Identifiers = [Ann, AnnCookie] };

        async Task<string> Run(IEnumerable<CustomerEvent> feed)
        {
            await using var host = OmnichannelTestHost.Create(o =>
            {
                o.TimelineLength = 5;
                o.Segments.Add(SegmentJson.Parse("""{"id": "carted", "name": "Carted", "rule": {"stat": "cartLineCount", "op": "gte", "value": 1}}""").Value!);
            });
            foreach (var e in feed)
            {
                Assert.True((await host.TrackAsync(e)).IsAcknowledged);
            }

            var export = (await host.Client.ExportProfileAsync(Ann))!;
            var hers = export["timeline"]!.AsArray().Select(t => t!["eventId"]!.GetValue<string>()).Where(id => id.StartsWith('e') || id == "login");
            return string.Join(",", hers) + " consent history " + (export["consentHistory"] as JsonArray)?.Count;
        }

        var timeOrder = await Run([.. events, login]);
        Assert.Equal("e2,e3,e4,e5,login consent history 1", timeOrder); // her newest five, whatever the engine added
        Assert.Equal(timeOrder, await Run([events[4], events[2], events[3], events[1], events[0], login]));
        Assert.Equal(timeOrder, await Run([login, events[4], events[0], events[1], events[2], events[3]]));
    }

    /// <summary>
    /// A guard on the generator: its kinds reach what the audit is about (a suppression by a hard bounce and its lift,
    /// a journey entry keyed on the viewed product, a big redemption by key, a return of an order she never placed, an
    /// order, consent, a duplicate, more of her events than the timeline's cap), so a property that holds does so there.
    /// </summary>
    [Fact]
    public async Task TheGeneratedKinds_ReachThePartsTheAuditIsAbout()
    {
        U100Event[] stream =
        [
            new(7, 4, 5, 1, 10, -1), new(8, 0, 6, 0, 20, -1), new(2, 5, 7, 2, 30, 35), new(1, 0, 8, 2, 40, -1),
            new(0, 6, 9, 1, 50, -1), new(3, 10, 10, 0, 60, -1), new(4, 1, 11, 0, 70, -1), new(9, 0, 12, 2, 80, -1),
            new(9, 1, 13, 2, 90, -1), new(9, 2, 14, 1, 100, -1),
        ];
        var read = await AuditU100Scenario.RunAsync(AuditU100Scenario.Split(stream, 20, 45, 30, 5), 6);
        Assert.Contains("suppressed email=True", read.Answers, StringComparison.Ordinal);
        Assert.Contains("bigredeem=True/1", read.Answers, StringComparison.Ordinal);
        Assert.Contains("bigorder=True/1", read.Answers, StringComparison.Ordinal);
        Assert.Contains("returns=1", read.Answers, StringComparison.Ordinal);
        Assert.Contains("email/offers=True", read.Answers, StringComparison.Ordinal);
        Assert.Contains("\"correlationKey\":\"p0\"", read.Journey, StringComparison.Ordinal);
        Assert.StartsWith("lift True", read.Lifted, StringComparison.Ordinal);
        Assert.Contains("suppressed email=False", read.Lifted, StringComparison.Ordinal);
        Assert.DoesNotContain("\"e00\"", read.Export, StringComparison.Ordinal); // her oldest events are past the cap
        Assert.Contains("\"e09\"", read.Export, StringComparison.Ordinal);
        await AuditU100Properties.SplitAsync(6, 20, 45, 30, 5, stream);
        await AuditU100Properties.SplitAsync(16, 20, 45, 30, 5, stream);
    }

    /// <summary>
    /// The timeline itself, for any mix: her events and the engine's entries added in any order, over two profiles merged
    /// at any point, with duplicates, ties of time and late events older than the cap's oldest: her entries are always her
    /// newest <c>length</c> by (time, id), the engine's at most <c>length</c> of its newest, and the stored bytes (written
    /// from the kept pieces, session 59) are what writing every entry again gives.
    /// </summary>
    [FsCheck.Xunit.Property(MaxTest = 300)]
    public void TheTimeline_KeepsHerNewestEvents_WhateverTheEngineAddsAndInAnyOrder(int seed)
    {
        var salt = 0;
        int Next(int n) => (int)(AuditU100Scenario.Spread(seed, salt++) % (ulong)n);
        var length = 1 + Next(20);
        var entries = Enumerable.Range(0, 10 + Next(60)).Select(i => Next(3) == 0
                ? new TimelineEntry($"{(Next(2) == 0 ? "segment.entered" : "segment.exited")}:s{Next(3)}:{i}", Next(2) == 0 ? EventTypes.SegmentEntered : "journey.waiting", Next(2) == 0 ? "system" : "journey", At.AddMinutes(60 + Next(5)), null)
                : new TimelineEntry($"e{Next(40):D2}", Next(2) == 0 ? "page.viewed" : EventTypes.MessageSkipped, "web", At.AddMinutes(Next(40)), null))
            .ToList();
        var hersExpected = entries.Where(t => !AuditU100Scenario.IsEngineEntry(t.Type, t.Channel)).GroupBy(t => t.EventId).Select(g => g.First())
            .OrderBy(t => t.Timestamp).ThenBy(t => t.EventId, StringComparer.Ordinal).TakeLast(length).Select(t => t.EventId).ToList();

        // In time order on one profile (the reference order of her events), and in a spread order over two merged at a spread point.
        var (a, b) = (new CustomerProfile("p_a", At), new CustomerProfile("p_b", At));
        var order = entries.Select((t, i) => (t, key: Next(1_000_000))).OrderBy(x => x.key).Select(x => x.t).ToList();
        var mergeAt = Next(order.Count + 1);
        for (var i = 0; i < order.Count; i++)
        {
            var target = i < mergeAt && Next(2) == 0 ? b : a;
            // One event id is one event: a later entry of an id already drawn is that event sent again (a duplicate).
            ProfileCore.AddTimeline(target, entries.First(t => t.EventId == order[i].EventId), length);

            if (i == mergeAt - 1 || (i == order.Count - 1 && mergeAt == order.Count))
            {
                foreach (var t in b.TimelineEntries)
                {
                    ProfileCore.AddTimeline(a, t, length);
                }

                b = new CustomerProfile("p_c", At);
            }

            Assert.Equal(Profiles.WrittenListShiftProperties.Plain(a.TimelineEntries), Profiles.WrittenListShiftProperties.Kept((WrittenOnceList<TimelineEntry>)a.TimelineEntries));
        }

        var hers = a.TimelineEntries.Where(t => !AuditU100Scenario.IsEngineEntry(t.Type, t.Channel)).Select(t => t.EventId).ToList();
        Assert.Equal(hersExpected, hers);
        Assert.InRange(a.TimelineEntries.Count(t => AuditU100Scenario.IsEngineEntry(t.Type, t.Channel)), 0, length);
        Assert.Equal(a.TimelineEntries.OrderBy(t => t.Timestamp).ThenBy(t => t.EventId, StringComparer.Ordinal), a.TimelineEntries);
    }
}
