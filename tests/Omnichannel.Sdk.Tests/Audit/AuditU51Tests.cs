using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;
using static Omnichannel.Sdk.Tests.Audit.AuditU46Tests;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U51: trust defects left alone earlier, round 4 (delivery, journeys and segments). Public API only, the test
/// kit's fake clock, audit U46's renderer, scripted transport and clock.
/// </summary>
public sealed class AuditU51Tests
{
    internal static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");

    internal static readonly Identifier AnnId = Identifier.CustomerId("ann");

    internal static readonly Identifier ShopEmail = Identifier.Email("ann.shop@example.com");

    // Ann's two profiles, not linked yet: by her email in London, by her shop account (and its email) in shopZone; each
    // with email consent. Signed up two hours and consented one hour before `at`.
    internal static async Task TwoProfilesWithEmailConsentAsync(OmnichannelTestHost host, string shopZone, DateTimeOffset at)
    {
        await host.TrackAsync(host.Event("user.signed_up", [AnnEmail], context: new EventContext { TimeZone = "Europe/London" }, at: at.AddHours(-2)));
        await host.TrackAsync(host.Event("user.signed_up", [AnnId, ShopEmail], context: new EventContext { TimeZone = shopZone }, at: at.AddHours(-2)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [AnnEmail], new { channel = "email", granted = true }, at: at.AddHours(-1)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [AnnId], new { channel = "email", granted = true }, at: at.AddHours(-1)));
    }

    internal static MessageRequest Promo(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "promo" };

    // ---- 1. A cap at the instant a message leaves ----
    // Left alone by the review of the thirty-seventh session: messages due at one instant are ordered by key, so one already
    // sent at that instant with a later key was not counted. Cap: one email per two hours. Ann has two profiles, one by
    // her email (in London) and one by her shop account (in Paris); at 21:30 UTC each holds a promotion for its morning:
    // "z-shop" for 08:00 Paris (07:00 UTC), "a-mail" for 08:00 London. The process is down until 08:00 UTC: "z-shop" leaves
    // first (it was due first) and, while it is with the provider, she logs in and the two profiles merge. Then "a-mail",
    // due at 08:00, is checked: "z-shop" left at 08:00 too, but its key is later, so it was read as "due with it, after
    // it", and two emails went at 08:00.
    [Fact]
    public async Task AMessageSentAtAnInstant_CountsForOneCheckedAfterIt_AtThatInstant_WhateverTheKeys()
    {
        var store = new InMemoryOmnichannelStore();
        var evening = new DateTimeOffset(2026, 3, 2, 21, 30, 0, TimeSpan.Zero);
        var morning = new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero);
        OmnichannelTestHost? hostRef = null;
        var merged = false;
        var email = new Scripted(ChannelNames.Email, new HostClock(() => hostRef!.Time), _ => DeliveryResult.Accepted("e"))
        {
            During = async () =>
            {
                if (!merged && hostRef!.Time.GetUtcNow() == morning)
                {
                    merged = true;
                    await hostRef.TrackAsync(hostRef.Event("user.logged_in", [AnnEmail, AnnId]));
                }
            },
        };
        OmnichannelTestHost Host(DateTimeOffset start, IOmnichannelStore on) => hostRef = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.DispatchBatchSize = 1; // one at a time, in due order: the one due first leaves first
                o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromHours(2), Channel: ChannelNames.Email));
            },
            start,
            on,
            new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));

        var host = Host(evening, store);
        await TwoProfilesWithEmailConsentAsync(host, "Europe/Paris", evening);
        Assert.Equal(morning, (await host.Client.SendAsync(AnnEmail, Promo("a-mail"))).DueAt);
        Assert.Equal(morning.AddHours(-1), (await host.Client.SendAsync(AnnId, Promo("z-shop"))).DueAt);
        await host.DisposeAsync();

        // Only this test's runs claim (the timer's runs fail and wait), so "a-mail" is claimed after "z-shop" was handled.
        host = Host(morning, new FlakyStore(store) { ClaimOnlyHere = true });
        try
        {
            for (var run = 0; run < 2; run++)
            {
                await Task.Run(() =>
                {
                    FlakyStore.ClaimsHere.Value = true;
                    return host.Engine.RunDispatchAsync();
                });
            }

            Assert.True(merged);
            Assert.Equal(["z-shop"], email.Accepted.Select(a => a.Key)); // the first to leave; the other would be a second within two hours
            Assert.True(await host.Store.IsEventProcessedAsync("a-mail:cancelled"));
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    // ---- 3. A transactional message held for quiet hours follows her zone ----
    // Left alone by audit U48: with TransactionalQuietHours = Defer (not the default), a receipt held at 22:00 in London
    // until 08:00 there (08:00 UTC) was not in the message log, so it kept London's morning after she landed in Tokyo at
    // 22:30 UTC (07:30 there): nine hours late. It now goes at 08:00 Tokyo (23:00 UTC), as a marketing message does (audit
    // U48). Controls: New York's morning is later (13:00 UTC, by the check at dispatch, as before); marketing, as U48.
    [Theory]
    [InlineData(MessageClass.Transactional, "Asia/Tokyo", "2026-03-02T23:00:00Z")]
    [InlineData(MessageClass.Transactional, "Asia/Kolkata", "2026-03-03T02:30:00Z")]
    [InlineData(MessageClass.Transactional, "America/New_York", "2026-03-03T13:00:00Z")] // control: her new night ends later
    [InlineData(MessageClass.Marketing, "Asia/Tokyo", "2026-03-02T23:00:00Z")] // control: as audit U48
    public async Task ATransactionalMessageHeldForQuietHours_GoesAtTheEndOfThoseOfHerCurrentZone(MessageClass kind, string movedTo, string expected)
    {
        var start = new DateTimeOffset(2026, 3, 2, 22, 0, 0, TimeSpan.Zero);
        OmnichannelTestHost? hostRef = null;
        var email = new Scripted(ChannelNames.Email, new HostClock(() => hostRef!.Time), _ => DeliveryResult.Accepted("e"));
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer,
            start,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("esp", email));
        hostRef = host;
        var ann = Identifier.CustomerId("ann");
        await host.TrackAsync(host.Event("user.signed_up", [ann, AnnEmail], context: new EventContext { TimeZone = "Europe/London" }));
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true });

        var held = await host.Client.SendAsync(ann, new MessageRequest { Key = "receipt", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = kind });
        Assert.Equal((SendStatus.Queued, new DateTimeOffset(2026, 3, 3, 8, 0, 0, TimeSpan.Zero)), (held.Status, held.DueAt));

        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        await host.TrackAsync(host.Event("app.opened", [ann], context: new EventContext { TimeZone = movedTo }));
        for (var i = 0; i < 24 * 4; i++)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(15));
        }

        var sent = Assert.Single(email.Accepted);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), sent.At);
        Assert.DoesNotContain((await host.ProfileAsync(ann)).Timeline, t => t.Type is EventTypes.MessageFailed or EventTypes.MessageSkipped);
    }

    // ---- 4. A segment removed across a restart, with journeys on entering and leaving it ----
    // Left alone by audit U49 and the review of the thirty-seventh session. A deploy removes "vip". With the journeys on
    // entering and leaving it still defined, the engine refuses to start, naming each journey's trigger (checked: a
    // journey that can never start is a configuration error, not a silent no-op). With them removed too, nobody *left*
    // "vip" (the shop removed it): the start-up visit drops the membership without an exit, sends nothing, and does not
    // trip over a profile erased while it runs (or before it reached her). Re-adding both later is a new segment for
    // them: Ann (still tier "vip") enters again and is welcomed again, once; Bob, erased, is not recreated.
    [Fact]
    public async Task ASegmentRemovedAcrossARestart_MakesNoExitAndStartsNothing_EvenWithAnErasureDuringTheVisit()
    {
        var start = new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
        var vip = Sdk.Segments.SegmentJson.Parse("""{"id": "vip", "name": "vip", "rule": {"trait": "tier", "op": "eq", "value": "vip"}}""").Value!;
        Sdk.Journeys.JourneyDefinition On(string id, string on) => Tests.Journeys.JourneyRig.Parse($$"""
            {"id": "{{id}}", "version": 1, "name": "{{id}}", "trigger": {"type": "segment", "segment": "vip", "on": "{{on}}"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "{{id}}", "class": "transactional"}]}
            """);
        var journeys = new[] { On("vip-hi", "entered"), On("vip-bye", "exited") };
        static Identifier[] Ids(string name) => [Identifier.CustomerId(name), Identifier.Email(name + "@example.com")];
        List<string> Mailed(Tests.Journeys.JourneyRig rig) => [.. rig.Recorder.Messages.OfType<EmailMessage>().Select(m => m.Subject + ":" + m.To)];
        var store = new InMemoryOmnichannelStore();
        await using (var rig = Tests.Journeys.JourneyRig.Create(journeys, [vip], store: store, start: start))
        {
            await rig.TrackAsync("profile.updated", Ids("ann"), traits: new { tier = "vip" });
            await rig.TrackAsync("profile.updated", Ids("bob"), traits: new { tier = "vip" });
            await rig.AdvanceAsync(TimeSpan.Zero);
            Assert.Equal(["vip-hi:ann@example.com", "vip-hi:bob@example.com"], Mailed(rig).Order(StringComparer.Ordinal));
        }

        var refused = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => Tests.Journeys.JourneyRig.Create(journeys, [], store: store, start: start.AddHours(1)));
        Assert.Contains("Journeys[0].trigger.segment: names segment 'vip', which is not loaded", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Journeys[1].trigger.segment", refused.Message, StringComparison.Ordinal);

        await using (var rig = Tests.Journeys.JourneyRig.Create([], [], store: store, start: start.AddHours(1)))
        {
            Assert.True(await rig.Engine.EraseProfileAsync(Ids("bob")[0])); // while the start-up visit may be running
            await rig.AdvanceAsync(TimeSpan.FromHours(1));
            await Assert.ThrowsAsync<ArgumentException>(async () => await rig.Engine.GetSegmentMembersAsync("vip")); // no such segment now
            var ann = await rig.Host.ProfileAsync(Ids("ann")[0]);
            Assert.Empty(ann.Segments);
            Assert.DoesNotContain(ann.Timeline, t => t.Type == EventTypes.SegmentExited);
            Assert.Null(await rig.Engine.GetProfileAsync(Ids("bob")[0]));
            Assert.Null(await rig.Engine.GetProfileAsync(Ids("bob")[1]));
            Assert.Empty(Mailed(rig));
        }

        await using (var rig = Tests.Journeys.JourneyRig.Create(journeys, [vip], store: store, start: start.AddHours(3)))
        {
            await rig.AdvanceAsync(TimeSpan.FromHours(1));
            Assert.Equal([(await rig.Host.ProfileAsync(Ids("ann")[0])).Id], await rig.Engine.GetSegmentMembersAsync("vip"));
            Assert.Equal(["vip-hi:ann@example.com"], Mailed(rig));
            Assert.Null(await rig.Engine.GetProfileAsync(Ids("bob")[0]));
        }
    }
}
