using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit G: split stickiness across re-entry, caps across journeys at local-day edges.</summary>
public sealed class AuditGJourneyTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    [Fact]
    public async Task ASplit_KeepsHerArm_AcrossReEntries()
    {
        var journey = Journey.Define("promo", "Promo")
            .TriggeredBy(t => t.Event("app.opened"))
            .ReEnter(ReEntryPolicy.AfterPreviousEnded)
            .Steps(s => s
                .Split("ab", [new SplitVariant("a", 1, "send-a"), new SplitVariant("b", 1, "send-b")])
                .Send("send-a", [ChannelNames.Email], "variant-a", topic: null, MessageClass.Transactional)
                .Exit("end-a")
                .Send("send-b", [ChannelNames.Email], "variant-b", topic: null, MessageClass.Transactional))
            .Build();
        await using var rig = JourneyRig.Create([journey]);
        for (var i = 0; i < 4; i++)
        {
            await rig.TrackAsync("app.opened", [Ann, Identifier.Email("ann@example.com")]);
            await rig.AdvanceAsync(TimeSpan.FromDays(1));
        }

        var sent = rig.Sent();
        Assert.Equal(4, sent.Count);
        Assert.Single(sent.Distinct());
    }

    [Fact]
    public async Task ACapPerLocalDay_CountsAcrossJourneys_InAQuarterHourZone()
    {
        JourneyDefinition Promo(string id) => Journey.Define(id, id)
            .TriggeredBy(t => t.Event("app.opened"))
            .ReEnter(ReEntryPolicy.AfterPreviousEnded)
            .Steps(s => s.Send("send", [ChannelNames.Email], id, topic: "offers"))
            .Build();
        await using var rig = JourneyRig.Create([Promo("one"), Promo("two")], configure: o => o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, null, ChannelNames.Email, PerLocalDay: true)),
            start: new DateTimeOffset(2026, 6, 9, 11, 0, 0, TimeSpan.Zero)); // 23:45 in Chatham (UTC+12:45)
        await rig.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com")], context: new EventContext { TimeZone = "Pacific/Chatham" });
        await rig.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await rig.TrackAsync("app.opened", [Ann]);
        Assert.Single(rig.Sent());

        // Her midnight is 11:15 UTC: a new local day, one more.
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 6, 9, 11, 14, 0, TimeSpan.Zero));
        await rig.TrackAsync("app.opened", [Ann]);
        Assert.Single(rig.Sent());
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 6, 9, 11, 15, 0, TimeSpan.Zero));
        await rig.TrackAsync("app.opened", [Ann]);
        Assert.Equal(2, rig.Sent().Count);
    }
}
