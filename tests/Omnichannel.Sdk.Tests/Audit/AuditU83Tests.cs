using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U83: an SMS START from a number she left, in any arrival order (left alone by the review of audit U79). Public
/// API and the test kit's fake clock; every case asserts the end the events' timestamp order gives.
/// </summary>
public sealed class AuditU83Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u83");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.u83@example.com");
    private static readonly Identifier OldPhone = Identifier.Phone("+447700900583");
    private static readonly Identifier NewPhone = Identifier.Phone("+447700900683");
    private static readonly DateTimeOffset Start = new(2026, 5, 4, 10, 0, 0, TimeSpan.Zero);

    private static (OmnichannelTestHost Host, RecordingTransport Sms) Host()
    {
        var sms = new RecordingTransport(ChannelNames.Sms);
        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, sms);
        return (OmnichannelTestHost.Create(start: Start, delivery: delivery), sms);
    }

    private static async Task<SendStatus> PromoteAsync(OmnichannelTestHost host)
    {
        var result = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo-u83", Channels = [ChannelNames.Sms], TemplateId = "promo", Class = MessageClass.Marketing });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        return result.Status;
    }

    private static object Sms(string text) => new { channel = ChannelNames.Sms, text };

    // ---- 1. She moved to a new number and sent STOP from it; the old number's new owner sent START ---------------------
    // Timestamp order (U79's test): t1 the update that gives her new number, t2 STOP from it, t3 START from the old one —
    // the START is not from her texting number and she ends opted out. Before this audit, a START arriving before the update
    // was read against the old number (her texting number then), granted, and the late STOP lost to it: the promotion went
    // to her new phone. With the new number given on a form that knew only her email (a profile of its own) and joined to
    // hers by her login (a merge), 24 orders.
    public static TheoryData<bool, int> StopStartOrders()
    {
        var data = new TheoryData<bool, int>();
        for (var order = 0; order < 6; order++)
        {
            data.Add(false, order);
        }

        for (var order = 0; order < 24; order++)
        {
            data.Add(true, order);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(StopStartOrders))]
    public async Task ANumberChange_StopFromTheNewNumber_StartFromTheOld_InEveryArrivalOrder_EndOptedOut(bool changeOnAnotherProfile, int order)
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        var events = new List<CustomerEvent>();
        if (changeOnAnotherProfile)
        {
            events.Add(host.Event("newsletter.signup_form", [AnnEmail, NewPhone], at: Start.AddDays(1)));
            events.Add(host.Event("user.logged_in", [Ann, AnnEmail], at: Start.AddDays(1).AddHours(1)));
        }
        else
        {
            events.Add(host.Event("user.updated", [Ann, NewPhone], at: Start.AddDays(1)));
        }

        events.Add(host.Event(EventTypes.MessageReplied, [NewPhone], Sms("STOP"), ChannelNames.Sms, at: Start.AddDays(2)));
        events.Add(host.Event(EventTypes.MessageReplied, [OldPhone], Sms("START"), ChannelNames.Sms, at: Start.AddDays(3)));
        foreach (var e in ArrivalOrders.Permutations([.. events]).ElementAt(order))
        {
            await host.TrackAsync(e);
        }

        var profile = await host.ProfileAsync(Ann);
        Assert.Contains(profile.Identifiers, i => i.Value == NewPhone.Value); // the change reached her (merged, when on another profile)
        Assert.False(profile.GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(SendStatus.Skipped, await PromoteAsync(host));
        Assert.Empty(sms.Messages);
    }

    // ---- 2. She moved to a new number and sent START from it (after a STOP from the old) -------------------------------
    // Timestamp order: t1 the update that makes the new number hers to text, t2 START from it: she is subscribed again and
    // texted there. When the new number was already on her profile (seen before the old one, so the old was her texting
    // number until the update), a START arriving before the update was read against the old number and ignored — the
    // safe side, but not what timestamp order gives. With the new number unknown before, the START makes its own profile
    // and the update merges it (pinned by the review of U79).
    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public async Task ANumberChange_StartFromTheNewNumber_InEitherArrivalOrder_SubscribesHerThere(bool newKnownBefore, bool startArrivesFirst)
    {
        var (host, sms) = Host();
        await using var _ = host;
        if (newKnownBefore)
        {
            await host.TrackAsync("user.signed_up", [Ann, NewPhone]);
            await host.AdvanceAsync(TimeSpan.FromMinutes(5));
            await host.TrackAsync("user.updated", [Ann, OldPhone]);
        }
        else
        {
            await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        }

        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.MessageReplied, [OldPhone], Sms("STOP"), ChannelNames.Sms);
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        var change = host.Event("user.updated", [Ann, NewPhone], at: Start.AddDays(2));
        var start = host.Event(EventTypes.MessageReplied, [NewPhone], Sms("START"), ChannelNames.Sms, at: Start.AddDays(3));
        foreach (var e in startArrivesFirst ? [start, change] : new[] { change, start })
        {
            await host.TrackAsync(e);
        }

        Assert.True((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(SendStatus.Queued, await PromoteAsync(host));
        Assert.Equal([NewPhone.Value], sms.Sent<SmsMessage>().Select(m => m.To));
    }

    // ---- 3. START from her texting number, then she moved on ------------------------------------------------------------
    // Timestamp order: t1 STOP, t2 START from her (only) number, t3 she gives a new number: the START was from her texting
    // number at its time and stands; texts go to the new number. In any arrival order of the START and the change (the
    // re-check must not void a grant because she moved on later), and whether a later order names the new number again.
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task StartFromHerTextingNumber_ThenANumberChange_InEitherArrivalOrder_StaysSubscribed(bool changeArrivesFirst, bool laterSighting)
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.MessageReplied, [OldPhone], Sms("STOP"), ChannelNames.Sms);
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        var start = host.Event(EventTypes.MessageReplied, [OldPhone], Sms("START"), ChannelNames.Sms, at: Start.AddDays(2));
        var change = host.Event("user.updated", [Ann, NewPhone], at: Start.AddDays(3));
        var events = changeArrivesFirst ? new List<CustomerEvent> { change, start } : [start, change];
        if (laterSighting)
        {
            events.Insert(1, host.Event(EventTypes.OrderPlaced, [Ann, NewPhone], new { order_id = "o-u83", total = 10, currency = "EUR" }, at: Start.AddDays(4)));
        }

        foreach (var e in events)
        {
            await host.TrackAsync(e);
        }

        Assert.True((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(SendStatus.Queued, await PromoteAsync(host));
        Assert.Equal([NewPhone.Value], sms.Sent<SmsMessage>().Select(m => m.To));
    }

    // ---- 4. The START from the old number arrives after a later sighting of her new number ------------------------------
    // t1 the change, t2 STOP from the new number, t4 an order naming the new number, and the old number's START (t3)
    // arriving last: the new number's newest sighting (t4) is after the START, but it was hers before it (t1): the START
    // does not stand (U79 refused it on arrival; the earliest sighting keeps that answer after the re-check).
    [Fact]
    public async Task StartFromTheOldNumber_ArrivingAfterALaterSightingOfTheNewOne_StillDoesNotStand()
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, OldPhone]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true });
        await host.AdvanceAsync(TimeSpan.FromDays(10));
        await host.TrackAsync("user.updated", [Ann, NewPhone], at: Start.AddDays(1));
        await host.TrackAsync(EventTypes.MessageReplied, [NewPhone], Sms("STOP"), ChannelNames.Sms, at: Start.AddDays(2));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann, NewPhone], new { order_id = "o-u83", total = 10, currency = "EUR" }, at: Start.AddDays(4));
        await host.TrackAsync(EventTypes.MessageReplied, [OldPhone], Sms("START"), ChannelNames.Sms, at: Start.AddDays(3));

        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        Assert.Equal(SendStatus.Skipped, await PromoteAsync(host));
        Assert.Empty(sms.Messages);
    }

    // ---- 5. The stored document ------------------------------------------------------------------------------------------
    // A keyword grant that stands carries what it undid; a decision in force carries the grant that does not stand. Both
    // survive ProfileSerializer; a document without the new fields (an older process's rewrite) reads as the decision in
    // force, as an older process reads the new document (it ignores the fields it does not know).
    [Fact]
    public void KeywordGrants_SurviveTheDocumentRoundTrip_AndReadSafelyWithoutTheNewFields()
    {
        var stop = new ConsentRecord(ChannelNames.Sms, ConsentRecord.AnyTopic, false, Start.AddDays(2), SmsReplyKeywords.OptOutSource) { EventId = "e-2" };
        var start = new ConsentRecord(ChannelNames.Sms, ConsentRecord.AnyTopic, true, Start.AddDays(3), SmsReplyKeywords.OptInSource) { EventId = "e-3", FromPhone = OldPhone.Value };
        var held = new CustomerProfile("p-u83-held", Start);
        held.ConsentRecords[ProfileCore.SmsConsentKey] = stop with { Held = start };
        var standing = new CustomerProfile("p-u83-standing", Start);
        standing.ConsentRecords[ProfileCore.SmsConsentKey] = start with { Under = stop };
        standing.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Phone, OldPhone.Value, Start) { LastSeen = Start.AddDays(1), EarliestSeen = Start });

        foreach (var p in new[] { held, standing })
        {
            var bytes = ProfileSerializer.Serialize(p);
            var read = ProfileSerializer.Deserialize(bytes, 1);
            Assert.Equal(p.ConsentRecords[ProfileCore.SmsConsentKey], read.ConsentRecords[ProfileCore.SmsConsentKey]);
            Assert.Equal(p.IdentifierList, read.IdentifierList);

            var old = JsonNode.Parse(bytes)!;
            var record = old["consentRecords"]![ProfileCore.SmsConsentKey]!.AsObject();
            Assert.True(record.Remove("held") || record.Remove("under"));
            Assert.True(record.Remove("fromPhone") || p == held);
            var older = ProfileSerializer.Deserialize(System.Text.Encoding.UTF8.GetBytes(old.ToJsonString()), 1);
            Assert.Equal(p.GetConsent(ChannelNames.Sms, null)!.Granted, older.GetConsent(ChannelNames.Sms, null)!.Granted);
        }

        Assert.False(held.GetConsent(ChannelNames.Sms, null)!.Granted);
        Assert.True(standing.GetConsent(ChannelNames.Sms, null)!.Granted);
    }

    // ---- 6. Merges of consent records ------------------------------------------------------------------------------------
    // Two profiles each holding a keyword grant, merged either way: the same decision in force.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AMergeOfKeywordGrants_EitherWay_EndsTheSame(bool reversed)
    {
        CustomerProfile Make(string id)
        {
            var p = new CustomerProfile(id, Start);
            p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Phone, OldPhone.Value, Start) { LastSeen = Start, EarliestSeen = Start });
            p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Phone, NewPhone.Value, Start) { LastSeen = Start.AddDays(1), EarliestSeen = Start.AddDays(1) });
            return p;
        }

        var stop = new ConsentRecord(ChannelNames.Sms, ConsentRecord.AnyTopic, false, Start.AddDays(2), SmsReplyKeywords.OptOutSource) { EventId = "e-2" };
        var oldStart = new ConsentRecord(ChannelNames.Sms, ConsentRecord.AnyTopic, true, Start.AddDays(3), SmsReplyKeywords.OptInSource) { EventId = "e-3", FromPhone = OldPhone.Value, AwaitsDecision = true };
        var a = Make("p-u83-a");
        a.ConsentRecords[ProfileCore.SmsConsentKey] = stop;
        var b = new CustomerProfile("p-u83-b", Start); // the START on a profile that knows only the old number: it stands there
        b.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Phone, OldPhone.Value, Start) { LastSeen = Start, EarliestSeen = Start });
        b.ConsentRecords[ProfileCore.SmsConsentKey] = oldStart with { AwaitsDecision = false, Under = new ConsentRecord(ChannelNames.Sms, ConsentRecord.AnyTopic, true, Start, "form") { EventId = "e-0" } };
        Assert.True(b.GetConsent(ChannelNames.Sms, null)!.Granted);

        var (target, other) = reversed ? (b, a) : (a, b);
        if (reversed)
        {
            target.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Phone, NewPhone.Value, Start) { LastSeen = Start.AddDays(1), EarliestSeen = Start.AddDays(1) });
        }

        ProfileCore.Merge(target, other, new MergeRecord(other.Id, Ann, "e-m", "test", Start.AddDays(10)), 100);

        var inForce = target.GetConsent(ChannelNames.Sms, null)!;
        Assert.False(inForce.Granted);
        Assert.Equal("e-2", inForce.EventId);
    }

    // ---- 7. Property: any mix of her two numbers' sightings, STOP and START from either (as an inbound webhook names
    // only the number, or with her id), SMS decisions of her own, and the merges these make, in any arrival order across
    // partitions: every profile's SMS decision in force is the one timestamp order gives (ties included: minutes repeat).
    [Property(MaxTest = 200)]
    public void KeywordsAndNumberChanges_InAnyArrivalOrder_GiveTheTimeOrderDecision(int seed) => Mix(seed).GetAwaiter().GetResult();

    private static CustomerEvent MixEvent(Random r, int i, DateTimeOffset start)
    {
        var phone = r.Next(2) == 0 ? OldPhone : NewPhone;
        var at = start.AddMinutes(r.Next(0, 16));
        var id = $"m-{i:D2}";
        return r.Next(6) switch
        {
            0 => new CustomerEvent { Id = id, Type = "user.updated", Timestamp = at, Identifiers = [Ann, phone] },
            1 => new CustomerEvent { Id = id, Type = EventTypes.OrderPlaced, Timestamp = at, Identifiers = [Ann, phone], Properties = JsonData.From(new { order_id = id, total = 5, currency = "EUR" }) },
            2 or 3 => new CustomerEvent
            {
                Id = id,
                Type = EventTypes.MessageReplied,
                Timestamp = at,
                Identifiers = r.Next(4) switch { 0 => [Ann, phone], 1 => [Ann], _ => [phone] }, // [Ann]: a host's own reply event
                Channel = ChannelNames.Sms,
                Properties = JsonData.From(Sms(r.Next(2) == 0 ? "STOP" : "START")),
            },
            4 => new CustomerEvent { Id = id, Type = EventTypes.ConsentChanged, Timestamp = at, Identifiers = [Ann], Properties = JsonData.From(new { channel = ChannelNames.Sms, granted = r.Next(2) == 0 }) },
            _ => new CustomerEvent { Id = id, Type = "page.viewed", Timestamp = at, Identifiers = [phone] },
        };
    }

    private static async Task<string> DecisionsAsync(OmnichannelTestHost host)
    {
        var parts = new List<string>();
        foreach (var who in new[] { Ann, OldPhone, NewPhone })
        {
            var p = await host.Client.GetProfileAsync(who);
            parts.Add(p is null ? "-" : p.Id is var _ && p.GetConsent(ChannelNames.Sms, null) is { } c ? $"{c.Granted}@{c.At:O}/{c.EventId}" : "none");
            parts.Add(p is null ? "" : string.Join(",", p.Identifiers.Select(x => x.Value).Order(StringComparer.Ordinal)));
        }

        return string.Join(" | ", parts);
    }

    private static async Task Mix(int seed)
    {
        var r = new Random(seed);
        var start = OmnichannelTestHost.DefaultStart.AddHours(-2);
        var events = Enumerable.Range(0, r.Next(2, 19)).Select(i => MixEvent(r, i, start)).ToList();
        await ArrivalOrders.AssertShuffledMatchesTimeOrderAsync(events, r, seed, DecisionsAsync);
    }
}
