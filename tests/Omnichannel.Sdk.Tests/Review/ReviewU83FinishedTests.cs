using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Review;

/// <summary>
/// Review of "U83 finished" (fifty-second session): a hostile review of the set of SMS keyword grants kept above the plain
/// decision. Public API and the test kit's clock, except where the stored record itself is compared.
/// </summary>
public sealed class ReviewU83FinishedTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r83b");
    private static readonly Identifier AnnEmail = Identifier.Email("ann.r83b@example.com");
    private static readonly Identifier[] Phones =
        [Identifier.Phone("+447700900184"), Identifier.Phone("+447700900284"), Identifier.Phone("+447700900384"), Identifier.Phone("+447700900484")];

    private static readonly DateTimeOffset Start = new(2026, 7, 3, 10, 0, 0, TimeSpan.Zero);

    private static object Sms(string text) => new { channel = ChannelNames.Sms, text };

    private static List<ConsentRecord> GrantsOf(ConsentRecord r) =>
        [.. (r.FromPhone is not null ? [r] : Array.Empty<ConsentRecord>()), .. (r.Held is { } h ? [h] : Array.Empty<ConsentRecord>()), .. r.Grants ?? []];

    // ---- 1. Property: many STARTs (often more than the bound) from four numbers, each number first its own profile with
    // its own grants, joined to hers and to each other in chains (merges in every direction), sightings and returns,
    // STOPs, her own channel-wide and topic decisions, minutes repeating (ties), and some events sent twice: in any
    // arrival order across partitions every profile keeps the state timestamp order gives — the SMS decision in force
    // (channel-wide and for a topic), the decision beneath, the grants kept, and the identifiers.
    [Property(MaxTest = 300)]
    public void ManyStartsOnProfilesThatMergeInChains_InAnyArrivalOrder_WithDuplicates_GiveTheTimeOrderState(int seed) => ChainsAsync(seed).GetAwaiter().GetResult();

    private static CustomerEvent ChainEvent(Random r, int i, DateTimeOffset start)
    {
        var phone = Phones[r.Next(Phones.Length)];
        var other = Phones[r.Next(Phones.Length)];
        var at = start.AddMinutes(r.Next(0, 25));
        var id = $"r-{i:D2}";
        CustomerEvent Reply(IReadOnlyList<Identifier> ids, string text) => new()
        {
            Id = id, Type = EventTypes.MessageReplied, Timestamp = at, Identifiers = ids, Channel = ChannelNames.Sms, Properties = JsonData.From(Sms(text)),
        };

        return r.Next(16) switch
        {
            0 => new CustomerEvent { Id = id, Type = "user.updated", Timestamp = at, Identifiers = [Ann, phone] },
            1 => new CustomerEvent { Id = id, Type = "user.updated", Timestamp = at, Identifiers = [phone, other] }, // two numbers' profiles joined
            2 => new CustomerEvent { Id = id, Type = "user.updated", Timestamp = at, Identifiers = [AnnEmail, phone] },
            3 => new CustomerEvent { Id = id, Type = "user.updated", Timestamp = at, Identifiers = [Ann, AnnEmail] },
            4 => new CustomerEvent { Id = id, Type = "page.viewed", Timestamp = at, Identifiers = [phone] },
            5 or 6 or 7 or 8 or 9 => Reply([phone], "START"),
            10 => Reply([AnnEmail, phone], "START"),
            11 => Reply(r.Next(2) == 0 ? [phone] : [Ann], "STOP"),
            12 => Reply([Ann], "START"),
            13 => new CustomerEvent { Id = id, Type = EventTypes.ConsentChanged, Timestamp = at, Identifiers = [Ann], Properties = JsonData.From(new { channel = ChannelNames.Sms, topic = "promo", granted = r.Next(2) == 0 }) },
            _ => Reply([phone], r.Next(3) == 0 ? "STOP" : "START"),
        };
    }

    private static async Task<string> StateAsync(OmnichannelTestHost host)
    {
        var parts = new List<string>();
        Identifier[] everyone = [Ann, AnnEmail, .. Phones];
        foreach (var who in everyone)
        {
            var p = await host.Client.GetProfileAsync(who);
            if (p is null)
            {
                parts.Add("-");
                continue;
            }

            parts.Add(p.GetConsent(ChannelNames.Sms, null) is { } c ? $"{c.Granted}@{c.At:O}/{c.EventId}" : "none");
            parts.Add(p.GetConsent(ChannelNames.Sms, "promo") is { } t ? $"promo {t.Granted}@{t.At:O}/{t.EventId}" : "promo none");
            parts.Add(string.Join(",", p.Identifiers.Select(x => x.Value).Order(StringComparer.Ordinal)));
            if (p.ConsentRecords.GetValueOrDefault(ProfileCore.SmsConsentKey) is { } r)
            {
                var beneath = r.FromPhone is null ? r : r.Under;
                var grants = GrantsOf(r);
                Assert.InRange(grants.Count, 0, ProfileCore.MaxKeywordGrants);
                parts.Add($"beneath {beneath?.Granted}@{beneath?.At:O}/{beneath?.EventId}/{beneath?.AwaitsDecision} grants {string.Join(",", grants.Select(g => g.EventId + "@" + g.FromPhone).Order(StringComparer.Ordinal))}");
            }
        }

        return string.Join(" | ", parts);
    }

    private static async Task ChainsAsync(int seed)
    {
        var r = new Random(seed);
        var start = OmnichannelTestHost.DefaultStart.AddHours(-2);
        var events = Enumerable.Range(0, r.Next(8, 41)).Select(i => ChainEvent(r, i, start)).ToList();
        await using var exp = OmnichannelTestHost.Create(o => o.Partitions = 1);
        foreach (var e in events.OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal))
        {
            Assert.True((await exp.Client.TrackAsync(e)).IsAcknowledged);
        }

        await using var act = OmnichannelTestHost.Create(o => o.Partitions = 3);
        foreach (var res in await act.Client.TrackBatchAsync([.. events.OrderBy(_ => r.Next())]))
        {
            Assert.True(res.IsAcknowledged, res.EventId + res.Status);
        }

        foreach (var again in events.Where(_ => r.Next(5) == 0).OrderBy(_ => r.Next()).ToList())
        {
            Assert.True((await act.Client.TrackAsync(again)).IsAcknowledged); // sent twice: a duplicate changes nothing
        }

        var a = await StateAsync(exp);
        var b = await StateAsync(act);
        Assert.True(a == b, $"seed {seed}\n{string.Join("\n", events.Select(e => $"{e.Id} {e.Timestamp:HH:mm} {e.Type} {string.Join("+", e.Identifiers.Select(x => x.Value))} {e.Properties}"))}\nexpected {a}\nactual   {b}");
    }

    // ---- 3. A START naming her customer id and a number that is someone else's (the link is refused: an identity
    // conflict, kept as a keyed hash only so that his erasure leaves nothing readable here) kept that number in plain in
    // her consent record; after his erasure her document still held it. The number is not hers, so it is not kept; the
    // START is read as before (from a number that is not hers: it stands only while she has no other number before it).
    [Fact]
    public async Task AStartNamingSomeoneElsesNumber_KeepsNoTraceOfIt_AndReadsAsBefore()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var bob = Identifier.CustomerId("c-bob-r83b");
        var (his, hers) = (Phones[3], Phones[0]);
        await host.TrackAsync("user.signed_up", [bob, his], at: Start.AddDays(-5));
        await host.TrackAsync("user.signed_up", [Ann, hers], at: Start.AddDays(-4));
        await host.TrackAsync(EventTypes.MessageReplied, [Ann], Sms("STOP"), ChannelNames.Sms, at: Start.AddDays(-3));
        await host.TrackAsync(EventTypes.MessageReplied, [Ann, his], Sms("START"), ChannelNames.Sms, at: Start.AddDays(-2));
        var ann = await host.ProfileAsync(Ann);
        Assert.DoesNotContain(ann.Identifiers, i => i.Value == his.Value); // not linked: his
        Assert.False(ann.GetConsent(ChannelNames.Sms, null)!.Granted); // her own number was seen before: it does not stand

        Assert.True(await host.Client.EraseProfileAsync(bob));
        var stored = System.Text.Encoding.UTF8.GetString(ProfileSerializer.Serialize(await host.ProfileAsync(Ann)));
        Assert.DoesNotContain(his.Value, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(his.Value.TrimStart('+'), stored, StringComparison.Ordinal);
        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)!.Granted);
    }

    // ---- 2. A STOP and a START from her texting number at the same instant, in either arrival order and whichever event
    // id is greater: a refusal wins a tie (Stamp.Newer), so she ends opted out and the START is not kept.
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task AStopAndAStartAtTheSameInstant_InEitherOrder_EndOptedOut(bool startFirst, bool startIdGreater)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var x = Phones[0];
        await host.TrackAsync("user.signed_up", [Ann, x], at: Start.AddDays(-3));
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = ChannelNames.Sms, granted = true }, at: Start.AddDays(-2));
        var at = Start.AddDays(-1);
        var stop = host.Event(EventTypes.MessageReplied, [x], Sms("STOP"), ChannelNames.Sms, at: at) with { Id = startIdGreater ? "tie-a" : "tie-b" };
        var go = host.Event(EventTypes.MessageReplied, [x], Sms("START"), ChannelNames.Sms, at: at) with { Id = startIdGreater ? "tie-b" : "tie-a" };
        foreach (var e in startFirst ? new[] { go, stop } : [stop, go])
        {
            await host.TrackAsync(e);
        }

        var p = await host.ProfileAsync(Ann);
        Assert.False(p.GetConsent(ChannelNames.Sms, null)!.Granted);
        Assert.Empty(GrantsOf(p.ConsentRecords[ProfileCore.SmsConsentKey]));
    }
}

/// <summary>
/// Review of "U83 finished": a soft-bounce suppression lifted when a send's record shows where an early delivery went
/// (OmnichannelEngine.Outcomes, audit U86) changes which of her numbers is reachable, and so whether an SMS START from an
/// older number stands — the decision in force must be read again there too.
/// </summary>
public sealed class ReviewU83FinishedSoftLiftTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r83l");
    private static readonly Identifier X = Identifier.Phone("+447700900185");
    private static readonly Identifier Y = Identifier.Phone("+447700900285");
    private static readonly Identifier Z = Identifier.Phone("+447700900385");
    private static readonly DateTimeOffset Start = new(2026, 7, 3, 10, 0, 0, TimeSpan.Zero);

    // A provider that answers with no id of its own, and whose status callbacks may reach the host inside the hand-over.
    private sealed class Provider(Func<CustomerEvent, Task> post) : IChannelTransport
    {
        public List<(string To, DateTimeOffset At)> Sent { get; } = [];

        public TimeProvider? Clock { get; set; }

        public string Channel => ChannelNames.Sms;

        public List<Func<DateTimeOffset, CustomerEvent>> Early { get; } = [];

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var now = Clock!.GetUtcNow();
            Sent.Add((((SmsMessage)message).To, now));
            foreach (var report in Early)
            {
                await post(report(now));
            }

            Early.Clear();
            return DeliveryResult.Accepted(null);
        }
    }

    private static CustomerEvent Report(OmnichannelTestHost host, string type, string key, DateTimeOffset at, bool soft = false) =>
        host.Event(type, [Ann], soft
            ? new Dictionary<string, object?> { ["channel"] = ChannelNames.Sms, ["message_id"] = key, ["bounce_type"] = "soft" }
            : new Dictionary<string, object?> { ["channel"] = ChannelNames.Sms, ["message_id"] = key }, channel: "server", at: at) with { Id = key + ":" + type };

    // X hers, STOP from X, then Y her texting number, then START from X (does not stand: Y was seen after X). Three soft
    // bounces on Y suppress it: with Y passed over, X's START stands (U79's reading). A delivery of a fourth text to Y,
    // heard inside its hand-over, reaches Y only when the send's record names Y: the run is lifted then, Y is where her
    // texts go again, and X's START no longer stands — she is opted out, as timestamp order with the record known says.
    // Before the fix the lift left the record as it was: opted in until her next event, and a promotion went to Y.
    [Fact]
    public async Task ASoftBounceRunLiftedByASendsRecord_ReadsTheStartAgain_AndSheStaysOptedOut()
    {
        OmnichannelTestHost? hostRef = null;
        var sms = new Provider(async e => Assert.Equal(TrackStatus.Accepted, (await hostRef!.Client.TrackAsync(e)).Status));
        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, sms);
        await using var host = OmnichannelTestHost.Create(start: Start, delivery: delivery);
        hostRef = host;
        sms.Clock = host.Time;
        await host.TrackAsync("user.signed_up", [Ann, X], at: Start.AddDays(-10));
        await host.TrackAsync(EventTypes.MessageReplied, [X], new { channel = ChannelNames.Sms, text = "STOP" }, ChannelNames.Sms, at: Start.AddDays(-9));
        await host.TrackAsync("user.updated", [Ann, Y], at: Start.AddDays(-8));
        await host.TrackAsync(EventTypes.MessageReplied, [X], new { channel = ChannelNames.Sms, text = "START" }, ChannelNames.Sms, at: Start.AddDays(-7));
        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)!.Granted);

        for (var i = 1; i <= 4; i++)
        {
            var key = "r83l-" + i;
            if (i == 4)
            {
                // Inside the fourth hand-over: the third text's bounce (the run of three is complete: Y suppressed) and
                // the fourth's delivery (its record is not there yet: not known to have reached Y).
                sms.Early.Add(at => host.Event("user.updated", [Ann, Z], at: at));
                sms.Early.Add(at => Report(host, EventTypes.MessageBounced, "r83l-3", sms.Sent[2].At.AddSeconds(5), soft: true));
                sms.Early.Add(at => Report(host, EventTypes.MessageDelivered, key, at.AddSeconds(5)));
            }

            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [ChannelNames.Sms], TemplateId = "hello", Class = MessageClass.Transactional })).Status);
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
            if (i <= 2)
            {
                Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(Report(host, EventTypes.MessageBounced, key, sms.Sent[i - 1].At.AddSeconds(5), soft: true))).Status);
            }

            await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        }

        Assert.Equal(Enumerable.Repeat(Y.Value, 4), sms.Sent.Select(s => s.To));
        Assert.False(await host.Client.IsSuppressedAsync(Y)); // the run was lifted by the fourth text's delivery
        Assert.False((await host.ProfileAsync(Ann)).GetConsent(ChannelNames.Sms, null)!.Granted);
        var promo = await host.Client.SendAsync(Ann, new MessageRequest { Key = "r83l-promo", Channels = [ChannelNames.Sms], TemplateId = "promo", Class = MessageClass.Marketing });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.NotEqual(SendStatus.Queued, promo.Status);
        Assert.Equal(4, sms.Sent.Count);
    }
}
