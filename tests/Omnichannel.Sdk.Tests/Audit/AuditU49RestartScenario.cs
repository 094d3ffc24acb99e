using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U49, item 1, as one scenario for every store (the core suite runs it on one in-memory store kept across the
/// engines, the SQLite suite on a file reopened by each). A deploy widens "paid" from plan "pro" to "pro" or "team" and
/// drops the "legacy" segment; nobody sends an event after it. Segment Personas/Engage, Braze, Customer.io and Iterable
/// recompute an edited audience for everyone: before, Bob (plan "team") stayed out of "paid" and got no welcome, and Cid
/// stayed listed in "legacy" on her profile, until each one's next event.
/// </summary>
internal static class AuditU49RestartScenario
{
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static SegmentDefinition Segment(string id, string rule) =>
        SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}").Value!;

    public static readonly SegmentDefinition PaidV1 = Segment("paid", """{"trait": "plan", "op": "eq", "value": "pro"}""");
    public static readonly SegmentDefinition PaidV2 = Segment("paid", """{"trait": "plan", "op": "in", "value": ["pro", "team"]}""");
    public static readonly SegmentDefinition Legacy = Segment("legacy", """{"trait": "plan", "op": "eq", "value": "free"}""");

    public static JourneyDefinition Welcome => JourneyRig.Parse("""
        {"id": "welcome-paid", "version": 1, "name": "Welcome to paid", "trigger": {"type": "segment", "segment": "paid", "on": "entered"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "welcome-paid", "class": "transactional"}]}
        """);

    private static Identifier[] Ids(string name) => [Identifier.CustomerId(name), Identifier.Email(name + "@example.com")];

    private static List<string> Mailed(JourneyRig rig) => [.. rig.Recorder.Messages.OfType<EmailMessage>().Select(m => m.To)];

    /// <summary>Runs the scenario; <paramref name="open"/> gives the store for each start (the same one, or the same file opened again).</summary>
    public static async Task RunAsync(Func<Task<IOmnichannelStore>> open, Func<IOmnichannelStore, ValueTask> close)
    {
        string ann, bob, cid;
        var store = await open();
        await using (var rig = JourneyRig.Create([Welcome], [PaidV1, Legacy], store: store, start: Start))
        {
            await rig.TrackAsync("profile.updated", Ids("ann"), traits: new { plan = "pro" });
            await rig.TrackAsync("profile.updated", Ids("bob"), traits: new { plan = "team" });
            await rig.TrackAsync("profile.updated", Ids("cid"), traits: new { plan = "free" });
            ann = (await rig.Host.ProfileAsync(Ids("ann")[0])).Id;
            bob = (await rig.Host.ProfileAsync(Ids("bob")[0])).Id;
            cid = (await rig.Host.ProfileAsync(Ids("cid")[0])).Id;
            Assert.Equal([ann], await rig.Engine.GetSegmentMembersAsync("paid"));
            Assert.Equal([cid], await rig.Engine.GetSegmentMembersAsync("legacy"));
            Assert.Equal(["ann@example.com"], Mailed(rig));
        }

        await close(store);

        // The deploy: "paid" v2, "legacy" gone. No event follows.
        store = await open();
        await using (var rig = JourneyRig.Create([Welcome], [PaidV2], store: store, start: Start.AddHours(1)))
        {
            Assert.Equal(new[] { ann, bob }.Order(StringComparer.Ordinal), (await rig.Engine.GetSegmentMembersAsync("paid")).Order(StringComparer.Ordinal));
            var bobs = await rig.Host.ProfileAsync(Ids("bob")[0]);
            Assert.Equal([Start.AddHours(1)], bobs.Segments.Where(s => s.SegmentId == "paid").Select(s => s.EnteredAt));
            Assert.Single(bobs.Timeline, t => t.Type == EventTypes.SegmentEntered && t.Summary == "paid");
            var anns = await rig.Host.ProfileAsync(Ids("ann")[0]);
            Assert.Equal([Start], anns.Segments.Where(s => s.SegmentId == "paid").Select(s => s.EnteredAt)); // a member under both: no exit, no second entry
            var cids = await rig.Host.ProfileAsync(Ids("cid")[0]);
            Assert.Empty(cids.Segments);
            var export = await rig.Engine.ExportProfileAsync(Ids("cid")[0]);
            Assert.Equal("[]", export!["segments"]!.ToJsonString());
            await rig.AdvanceAsync(TimeSpan.Zero);
            Assert.Equal(["bob@example.com"], Mailed(rig)); // the journey on entering "paid", as an UpsertSegmentAsync would start it
        }

        await close(store);

        // The same definitions again: nothing left to do, nothing sent twice.
        store = await open();
        await using (var rig = JourneyRig.Create([Welcome], [PaidV2], store: store, start: Start.AddHours(2)))
        {
            await rig.AdvanceAsync(TimeSpan.FromHours(1));
            Assert.Equal(new[] { ann, bob }.Order(StringComparer.Ordinal), (await rig.Engine.GetSegmentMembersAsync("paid")).Order(StringComparer.Ordinal));
            Assert.Empty(Mailed(rig));
            Assert.Single((await rig.Host.ProfileAsync(Ids("bob")[0])).Timeline, t => t.Type == EventTypes.SegmentEntered && t.Summary == "paid");
        }

        await close(store);
    }
}
