using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// U83 finished (fifty-second session): every SMS opt-in keyword grant from a number newer than the plain decision is kept
/// (at most <see cref="ProfileCore.MaxKeywordGrants"/>), and the decision in force is the newest that stands — a function
/// of the set of events, whatever their arrival order. Public API and the test kit's clock, except where the stored record
/// itself is asserted.
/// </summary>
public sealed class AuditU83SetOfGrantsTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u83s");
    private static readonly Identifier[] Phones = [Identifier.Phone("+447700900183"), Identifier.Phone("+447700900283"), Identifier.Phone("+447700900383")];
    private static readonly DateTimeOffset Start = new(2026, 7, 1, 10, 0, 0, TimeSpan.Zero);

    private static object Sms(string text) => new { channel = ChannelNames.Sms, text };

    // Every keyword grant a stored SMS record holds (the one in force, the others, and the previous version's held one).
    private static List<ConsentRecord> GrantsOf(ConsentRecord r) =>
        [.. (r.FromPhone is not null ? [r] : Array.Empty<ConsentRecord>()), .. (r.Held is { } h ? [h] : Array.Empty<ConsentRecord>()), .. r.Grants ?? []];

    private static int Depth(ConsentRecord? r) =>
        r is null ? 0 : 1 + Math.Max(Math.Max(Depth(r.Under), Depth(r.Held)), r.Grants is { Count: > 0 } g ? g.Max(Depth) : 0);

    // ---- 1. Property: sightings of three numbers (returns to earlier ones included), STARTs from several of them, STOPs,
    // her own decisions: in any arrival order across partitions, every profile's SMS decision in force (and identifiers)
    // is the one timestamp order gives. Weighted towards sightings and STARTs, where one grant could hide another.
    [Property(MaxTest = 1000)]
    public void StartsFromSeveralNumbers_WithReturnsToEarlierOnes_InAnyArrivalOrder_GiveTheTimeOrderDecision(int seed) => Mix(seed).GetAwaiter().GetResult();

    private static CustomerEvent MixEvent(Random r, int i, DateTimeOffset start)
    {
        var phone = Phones[r.Next(Phones.Length)];
        var at = start.AddMinutes(r.Next(0, 30));
        var id = $"s-{i:D2}";
        CustomerEvent Reply(IReadOnlyList<Identifier> ids, string text) => new()
        {
            Id = id, Type = EventTypes.MessageReplied, Timestamp = at, Identifiers = ids, Channel = ChannelNames.Sms, Properties = JsonData.From(Sms(text)),
        };

        return r.Next(12) switch
        {
            0 or 1 => new CustomerEvent { Id = id, Type = "user.updated", Timestamp = at, Identifiers = [Ann, phone] },
            2 => new CustomerEvent { Id = id, Type = EventTypes.OrderPlaced, Timestamp = at, Identifiers = [Ann, phone], Properties = JsonData.From(new { order_id = id, total = 5, currency = "EUR" }) },
            3 => new CustomerEvent { Id = id, Type = "page.viewed", Timestamp = at, Identifiers = [phone] },
            4 or 5 or 6 => Reply([phone], "START"),
            7 => Reply([Ann, phone], "START"),
            8 => Reply(r.Next(3) switch { 0 => [Ann], 1 => [Ann, phone], _ => [phone] }, "STOP"),
            9 => Reply([Ann], "START"), // a host's own reply event: no number
            _ => new CustomerEvent { Id = id, Type = EventTypes.ConsentChanged, Timestamp = at, Identifiers = [Ann], Properties = JsonData.From(new { channel = ChannelNames.Sms, granted = r.Next(2) == 0 }) },
        };
    }

    private static async Task<string> DecisionsAsync(OmnichannelTestHost host)
    {
        var parts = new List<string>();
        Identifier[] everyone = [Ann, .. Phones];
        foreach (var who in everyone)
        {
            var p = await host.Client.GetProfileAsync(who);
            parts.Add(p is null ? "-" : p.GetConsent(ChannelNames.Sms, null) is { } c ? $"{c.Granted}@{c.At:O}/{c.EventId}" : "none");
            parts.Add(p is null ? "" : string.Join(",", p.Identifiers.Select(x => x.Value).Order(StringComparer.Ordinal)));

            // The same state, not only the same decision: the decision beneath and the grants kept above it.
            if (p?.ConsentRecords.GetValueOrDefault(ProfileCore.SmsConsentKey) is { } r)
            {
                var beneath = r.FromPhone is null ? r : r.Under;
                parts.Add($"beneath {beneath?.Granted}@{beneath?.At:O}/{beneath?.EventId}/{beneath?.AwaitsDecision} grants {string.Join(",", GrantsOf(r).Select(g => g.EventId).Order(StringComparer.Ordinal))}");
            }
        }

        return string.Join(" | ", parts);
    }

    private static async Task Mix(int seed)
    {
        var r = new Random(seed);
        var start = OmnichannelTestHost.DefaultStart.AddHours(-2);
        var events = Enumerable.Range(0, r.Next(3, 21)).Select(i => MixEvent(r, i, start)).ToList();
        await ArrivalOrders.AssertShuffledMatchesTimeOrderAsync(events, r, seed, DecisionsAsync);
    }

    // ---- 2. The example the previous note gave for "newest grant per number" being lossy, in every arrival order:
    // t0 X seen, t1 START from X (stands), t2 Y seen (her texting number from then), t3 START from X (does not), after a
    // STOP from X before t1. Subscribed by X's first START; texted on Y.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task TwoStartsFromOneNumber_OnlyTheOlderStanding_InEveryArrivalOrder_EndSubscribed(int order)
    {
        var sms = new RecordingTransport(ChannelNames.Sms);
        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, sms);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: delivery);
        var (x, y) = (Phones[0], Phones[1]);
        await host.TrackAsync("user.signed_up", [Ann, x], at: Start.AddDays(-10));
        await host.TrackAsync(EventTypes.MessageReplied, [x], Sms("STOP"), ChannelNames.Sms, at: Start.AddDays(-9).AddHours(-1));
        CustomerEvent[] events =
        [
            host.Event(EventTypes.MessageReplied, [x], Sms("START"), ChannelNames.Sms, at: Start.AddDays(-9)),
            host.Event("user.updated", [Ann, y], at: Start.AddDays(-8)),
            host.Event(EventTypes.MessageReplied, [x], Sms("START"), ChannelNames.Sms, at: Start.AddDays(-7)),
        ];
        int[][] orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        foreach (var i in orders[order])
        {
            await host.TrackAsync(events[i]);
        }

        Assert.True((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)?.Granted);
        var result = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo-u83s", Channels = [ChannelNames.Sms], TemplateId = "promo", Class = MessageClass.Marketing });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(SendStatus.Queued, result.Status);
        Assert.Equal([y.Value], sms.Sent<SmsMessage>().Select(m => m.To));
    }

    // ---- 3. Bounded: hundreds of STARTs from four numbers with sightings in between, after one STOP, arriving in time
    // order, reversed and interleaved: the record keeps exactly the newest MaxKeywordGrants grants, nests no deeper than
    // a grant over the decision beneath, stays a few kilobytes, and gives the decision time order gives.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task HundredsOfStartsFromSeveralNumbers_KeepTheNewestGrants_AndTheRecordBounded(int arrival)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var ann = Identifier.CustomerId("c-ann-b83s");
        Identifier[] phones = [.. Phones, Identifier.Phone("+447700900483")];
        await host.TrackAsync("user.signed_up", [ann, .. phones], at: Start.AddDays(-30));
        await host.TrackAsync(EventTypes.MessageReplied, [phones[0]], Sms("STOP"), ChannelNames.Sms, at: Start.AddDays(-29));
        var events = new List<CustomerEvent>();
        for (var i = 0; i < 400; i++)
        {
            // Block b of four: a sighting of number b % 4, then STARTs from numbers 3, 2 and 1: the one from the number
            // just seen stands (none in a block that saw number 0), the others do not.
            var phone = i % 4 == 0 ? phones[(i / 4) % 4] : phones[(i * 3) % 4];
            var at = Start.AddDays(-28).AddMinutes(10 * i);
            events.Add(i % 4 == 0
                ? host.Event("user.updated", [ann, phone], at: at)
                : host.Event(EventTypes.MessageReplied, [phone], Sms("START"), ChannelNames.Sms, at: at));
        }

        var arrived = arrival switch
        {
            0 => events,
            1 => Enumerable.Reverse(events),
            _ => events.Where((_, k) => k % 2 == 1).Concat(events.Where((_, k) => k % 2 == 0)),
        };
        foreach (var e in arrived)
        {
            await host.TrackAsync(e);
        }

        var profile = await host.ProfileAsync(ann);
        var record = profile.ConsentRecords[ProfileCore.SmsConsentKey];
        var newest = events.Where(e => e.Type == EventTypes.MessageReplied).OrderByDescending(e => e.Timestamp).Take(ProfileCore.MaxKeywordGrants).Select(e => e.Id);
        Assert.Equal(newest.Order(StringComparer.Ordinal), GrantsOf(record).Select(g => g.EventId!).Order(StringComparer.Ordinal));
        Assert.InRange(Depth(record), 1, 2);
        var json = System.Text.Json.JsonSerializer.Serialize(JsonNode.Parse(ProfileSerializer.Serialize(profile))!["consentRecords"]![ProfileCore.SmsConsentKey]);
        Assert.InRange(json.Length, 1, 4096);

        // As in time order: the newest START that stands (two newer ones do not), over the STOP.
        var inForce = profile.GetConsent(ChannelNames.Sms, null)!;
        Assert.True(inForce.Granted);
        Assert.Equal(events[397].Id, events.Last(e => e.Type == EventTypes.MessageReplied && KeywordStandsInTimeOrder(events, e)).Id);
        Assert.Equal(events[397].Id, inForce.EventId);
    }

    // In time order: the START's number is the one of the newest sighting before it.
    private static bool KeywordStandsInTimeOrder(List<CustomerEvent> events, CustomerEvent start) =>
        events.Last(e => e.Type == "user.updated" && e.Timestamp <= start.Timestamp).Identifiers[1].Value == start.Identifiers[0].Value;

    // ---- 4. The stored document: the new shape (grants) survives the serializer; an older process ignoring "grants"
    // reads the decision in force; the previous version's shapes (one grant Held on the decision, a grant with Under)
    // still read, and a grant they hold is joined by a new one rather than lost.
    [Fact]
    public void TheSetOfGrants_SurvivesTheDocument_AndThePreviousShapesStillRead()
    {
        ConsentRecord Start83(int day, string phone, string id) =>
            new(ChannelNames.Sms, ConsentRecord.AnyTopic, true, Start.AddDays(day), SmsReplyKeywords.OptInSource) { EventId = id, FromPhone = phone, AwaitsDecision = true };
        var stop = new ConsentRecord(ChannelNames.Sms, ConsentRecord.AnyTopic, false, Start.AddDays(1), SmsReplyKeywords.OptOutSource) { EventId = "e-1" };
        var (x, y) = (Phones[0].Value, Phones[1].Value);
        CustomerProfile Profile(string id, DateTimeOffset xSeen, DateTimeOffset ySeen)
        {
            var p = new CustomerProfile(id, Start);
            p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Phone, x, Start) { LastSeen = xSeen, EarliestSeen = Start });
            p.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.Phone, y, Start) { LastSeen = ySeen, EarliestSeen = ySeen });
            return p;
        }

        // The previous version's shape: Y newest (seen at day 2), X's START at day 3 held on the STOP.
        var held = Profile("p-u83s-held", Start, Start.AddDays(2));
        held.ConsentRecords[ProfileCore.SmsConsentKey] = stop with { Held = Start83(3, x, "e-3") };
        var read = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(held), 1);
        Assert.False(read.GetConsent(ChannelNames.Sms, null)!.Granted);

        // A newer START from Y (stands): both kept; the decision in force is Y's.
        ProfileCore.Apply(read, new CustomerEvent { Id = "e-4", Type = EventTypes.MessageReplied, Timestamp = Start.AddDays(4), Identifiers = [Phones[1]], Channel = ChannelNames.Sms, Properties = JsonData.From(new { channel = ChannelNames.Sms, keyword = SmsReplyKeywords.Name(SmsReplyKeyword.OptIn) }) }, 100);
        ProfileCore.ReviewKeywordGrant(read);
        var record = read.ConsentRecords[ProfileCore.SmsConsentKey];
        Assert.Equal(["e-3", "e-4"], GrantsOf(record).Select(g => g.EventId!).Order(StringComparer.Ordinal));
        Assert.Equal("e-4", read.GetConsent(ChannelNames.Sms, null)!.EventId);
        Assert.Equal(stop.AsDecision(), record.Under);

        // The new shape survives the document; without "grants" (an older process) it reads as the decision in force.
        var bytes = ProfileSerializer.Serialize(read);
        var again = ProfileSerializer.Deserialize(bytes, 1).ConsentRecords[ProfileCore.SmsConsentKey];
        Assert.Equal(record with { Grants = null }, again with { Grants = null });
        Assert.Equal(record.Grants!, again.Grants!);
        var old = JsonNode.Parse(bytes)!;
        Assert.True(old["consentRecords"]![ProfileCore.SmsConsentKey]!.AsObject().Remove("grants"));
        var older = ProfileSerializer.Deserialize(System.Text.Encoding.UTF8.GetBytes(old.ToJsonString()), 1);
        Assert.Equal("e-4", older.GetConsent(ChannelNames.Sms, null)!.EventId);

        // The previous version's grant in force with Under reads as that grant over that decision.
        var standing = Profile("p-u83s-standing", Start.AddDays(2), Start);
        standing.ConsentRecords[ProfileCore.SmsConsentKey] = Start83(3, x, "e-3") with { AwaitsDecision = false, Under = stop };
        var standingRead = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(standing), 1);
        ProfileCore.ReviewKeywordGrant(standingRead);
        Assert.Equal("e-3", standingRead.GetConsent(ChannelNames.Sms, null)!.EventId);
        Assert.Null(standingRead.Consents.Single().Grants);
    }
}
