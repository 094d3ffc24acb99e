using System.Text.Json;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;
using static Omnichannel.Sdk.Tests.Audit.AuditDeliveryProperties;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the twenty-fourth session's changes: a retry after a fallback starts where the message moved on to (three
/// channels, a fallback stopped by a cap, restarts), reports and journey-emitted events are not her activity, the
/// increment of a number held as text, definition errors capped at 1,000 characters.
/// </summary>
public sealed class AuditReview24Tests
{
    private static readonly DateTimeOffset Start = OmnichannelTestHost.DefaultStart;
    private static readonly Identifier Ann = Identifier.CustomerId("ann-24");
    private static readonly Identifier AnnMail = Identifier.Email("ann24@example.com");
    private static readonly Identifier AnnPhone = Identifier.Phone("+12125550124");
    private static readonly Identifier AnnDevice = Identifier.DeviceId("device-24");

    private static SegmentDefinition Segment(string json)
    {
        var r = SegmentJson.Parse(json);
        Assert.True(r.IsValid, string.Join("; ", r.Errors.Select(e => e.Path + " " + e.Message)));
        return r.Value!;
    }

    // ---- 1. Delivery: a retry after a fallback, over three channels ----

    private sealed class ThreeRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel switch
            {
                ChannelNames.Sms => new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId },
                ChannelNames.Push => new PushMessage { MessageId = "x", DeviceTokens = [address], Title = request.TemplateId, Body = "Hi" },
                _ => new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" },
            });
    }

    private sealed record Three(OmnichannelTestHost Host, Recorder Email, Recorder Sms, Recorder Push);

    private static async Task<Three> ThreeChannelsAsync(IOmnichannelStore store, DateTimeOffset start, bool smsCap, Recorder? email = null, Recorder? sms = null, Recorder? push = null)
    {
        email ??= new Recorder(ChannelNames.Email, () => DateTimeOffset.MinValue, _ => 1);
        sms ??= new Recorder(ChannelNames.Sms, () => DateTimeOffset.MinValue, _ => 1);
        push ??= new Recorder(ChannelNames.Push, () => DateTimeOffset.MinValue, _ => 1);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.Retry = null;
                o.Delivery.MaxAttempts = 4;
                if (smsCap)
                {
                    o.Delivery.FrequencyCaps.Add(new FrequencyCap(1, TimeSpan.FromHours(1), ChannelNames.Sms));
                }
            },
            start: start,
            store: store,
            delivery: new DeliverySetup { Renderer = new ThreeRenderer() }.AddTransport("esp", email).AddTransport("sms-gw", sms).AddTransport("push-gw", push));
        if (store is InMemoryOmnichannelStore && start == Start)
        {
            await host.TrackAsync(host.Event("user.signed_up", [Ann, AnnMail, AnnPhone, AnnDevice], at: Start - TimeSpan.FromHours(13)));
            foreach (var channel in new[] { ChannelNames.Email, ChannelNames.Sms, ChannelNames.Push })
            {
                await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel, granted = true }, at: Start - TimeSpan.FromHours(12)));
            }
        }

        return new Three(host, email, sms, push);
    }

    private static MessageRequest Offer(string key, params string[] channels) => new() { Key = key, Channels = channels, TemplateId = "tpl" };

    private static string[] Keys(Recorder r, Outcome? outcome = null) => [.. r.Log.Where(h => outcome is null || h.Outcome == outcome).Select(h => h.Key)];

    // Email refuses (permanent), SMS refuses (permanent), push times out (transient), and the engine restarts on the same
    // store before the retry: the retry is push's, never email's or SMS's again.
    [Fact]
    public async Task ThreeChannels_TheRetryStaysOnTheThirdChannel_AcrossARestart()
    {
        var store = new InMemoryOmnichannelStore();
        var t = await ThreeChannelsAsync(store, Start, smsCap: false);
        t.Email.Fail(Outcome.Permanent, 1);
        t.Sms.Fail(Outcome.Permanent, 1);
        t.Push.Fail(Outcome.Transient, 1);
        Assert.Equal(SendStatus.Queued, (await t.Host.Client.SendAsync(Ann, Offer("m-1", ChannelNames.Email, ChannelNames.Sms, ChannelNames.Push))).Status);
        await t.Host.Engine.RunDispatchAsync();
        var at = t.Host.Time.GetUtcNow() + TimeSpan.FromMinutes(10);
        await t.Host.DisposeAsync();

        var again = await ThreeChannelsAsync(store, at, smsCap: false, t.Email, t.Sms, t.Push);
        await using var host = again.Host;
        await host.Engine.RunDispatchAsync();

        Assert.Equal(["m-1"], Keys(t.Email));
        Assert.Equal(["m-1"], Keys(t.Sms));
        Assert.Equal([Outcome.Transient, Outcome.Accepted], t.Push.Log.Select(h => h.Outcome));
        Assert.True(await host.Store.IsEventProcessedAsync("m-1:sent"));
    }

    // A fallback whose hand-over was stopped (the SMS cap: one an hour, taken by an earlier SMS) does not move the
    // message; the next channel takes it (push), fails transiently, and the retry is push's: the capped SMS is not asked
    // later (the cap would allow it an hour on), nor the email that refused it.
    [Fact]
    public async Task AFallbackStoppedByItsCap_IsSkipped_AndTheRetryStaysWhereTheMessageWent()
    {
        var t = await ThreeChannelsAsync(new InMemoryOmnichannelStore(), Start, smsCap: true);
        await using var host = t.Host;
        await host.Client.SendAsync(Ann, Offer("sms-first", ChannelNames.Sms));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(["sms-first"], Keys(t.Sms, Outcome.Accepted));

        t.Email.Fail(Outcome.Permanent, 1);
        t.Push.Fail(Outcome.Transient, 1);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, Offer("m-2", ChannelNames.Email, ChannelNames.Sms, ChannelNames.Push))).Status);
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromHours(2)); // the SMS cap would let it through now
        await host.Engine.RunDispatchAsync();

        Assert.Equal(["m-2"], Keys(t.Email));
        Assert.Equal(["sms-first"], Keys(t.Sms));
        Assert.Equal([Outcome.Transient, Outcome.Accepted], t.Push.Log.Where(h => h.Key == "m-2").Select(h => h.Outcome));
        Assert.True(await host.Store.IsEventProcessedAsync("m-2:sent"));
    }

    // Every channel gives up: the failure names the channels given up on earlier, and the message leaves the log (caps).
    [Fact]
    public async Task AFallbackThatRunsOutOfAttempts_FailsNamingTheChannelsGivenUpOn()
    {
        var t = await ThreeChannelsAsync(new InMemoryOmnichannelStore(), Start, smsCap: false);
        await using var host = t.Host;
        t.Email.Fail(Outcome.Permanent, 1);
        t.Sms.Fail(Outcome.Transient, 10);
        await host.Client.SendAsync(Ann, Offer("m-3", ChannelNames.Email, ChannelNames.Sms));
        for (var i = 0; i < 6; i++)
        {
            await host.Engine.RunDispatchAsync();
            await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        }

        Assert.Equal(["m-3"], Keys(t.Email));
        Assert.Equal(4, Keys(t.Sms).Length); // MaxAttempts, all on SMS
        Assert.True(await host.Store.IsEventProcessedAsync("m-3:failed"));
        Assert.DoesNotContain(t.Push.Log, h => h.Key == "m-3");
        var p = await host.ProfileAsync(Ann);
        var failed = Assert.Single(p.Timeline, e => e.Type == EventTypes.MessageFailed);
        Assert.Contains("email: given up on an earlier attempt", failed.Summary, StringComparison.Ordinal);
    }

    // ---- 2. Her activity ----

    // The U5 fix covered reports on messages; a journey's emit step applies its event on her profile too, and it moved
    // lastSeen and channelsUsed ("journey"): a win-back that emits (for the host to record) made her active again, she
    // left "away", re-entered 30 days later and was won back every month.
    [Fact]
    public async Task AnEventAJourneyEmits_IsNotHerActivity()
    {
        var away = Segment("""{"id": "away", "name": "Away", "rule": {"stat": "lastSeen", "op": "moreThanAgo", "value": "P30D"}}""");
        var winBack = JourneyRig.Parse("""
            {"id": "win-back", "version": 1, "name": "Win back", "trigger": {"type": "segment", "segment": "away", "on": "entered"},
             "entry": {"reEntry": "afterPreviousEnded"},
             "steps": [{"id": "e", "type": "emit", "event": "winback.started", "next": "s"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "miss-you", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([winBack], [away]);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        var seen = rig.Host.Time.GetUtcNow();

        await rig.AdvanceToAsync(seen + TimeSpan.FromDays(30));
        Assert.Equal(["email:miss-you", "host:winback.started"], rig.Sent().Order(StringComparer.Ordinal));
        await rig.AdvanceToAsync(seen + TimeSpan.FromDays(75));

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.Contains(p.Timeline, e => e.Type == "journey.emitted");
        Assert.Equal(seen, p.Statistics.LastSeen);
        Assert.Equal([ChannelNames.Web], p.Statistics.ChannelsUsed);
        Assert.True(p.IsInSegment("away"));
        Assert.Equal(["email:miss-you"], rig.Sent().Where(m => m.StartsWith("email:", StringComparison.Ordinal)));
    }

    // Arrival order and merges: reports arriving before and after her own event, on two profiles that then merge, leave
    // lastSeen and channelsUsed at her own latest event, whichever order.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ReportsOnTwoProfilesThatMerge_LeaveLastSeenAtHerOwnEvent_InEitherOrder(bool reportsFirst)
    {
        await using var host = OmnichannelTestHost.Create();
        var now = host.Time.GetUtcNow() - TimeSpan.FromHours(5);
        var cookie = Identifier.AnonymousId("cookie-24");
        async Task Reports()
        {
            await host.TrackAsync(host.Event(EventTypes.MessageDelivered, [AnnMail], new { channel = "email", message_id = "a" }, channel: ChannelNames.Email, at: now.AddHours(2)));
            await host.TrackAsync(host.Event(EventTypes.MessageBounced, [AnnPhone], new { channel = "sms", message_id = "b", bounce_type = "soft" }, channel: ChannelNames.Sms, at: now.AddHours(3)));
        }

        if (reportsFirst)
        {
            await Reports();
        }

        await host.TrackAsync(host.Event("page.viewed", [cookie], at: now.AddHours(-1)));
        await host.TrackAsync(host.Event("user.logged_in", [AnnMail, Ann], at: now.AddHours(-2)));
        await host.TrackAsync(host.Event("user.logged_in", [AnnPhone, Ann], at: now.AddHours(-3)));
        if (!reportsFirst)
        {
            await Reports();
        }

        await host.TrackAsync(host.Event("user.logged_in", [cookie, Ann], at: now.AddHours(-4)));
        var p = await host.ProfileAsync(Ann);
        Assert.Equal(now.AddHours(-1), p.Statistics.LastSeen);
        Assert.Equal([ChannelNames.Web], p.Statistics.ChannelsUsed);
    }

    // ---- 3. Increment and definition errors ----

    [Fact]
    public void ADefinitionError_KeepsItsCapThroughWithEqualityAndJson()
    {
        var longMessage = "unknown operator '" + new string('x', 5_000) + "'; expected eq, gt";
        var a = new DefinitionError("$.rule.op", longMessage);
        var b = new DefinitionError("$.rule.op", longMessage);
        Assert.True(a.Message.Length <= 1_000, a.Message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.StartsWith("unknown operator 'xxx", a.Message, StringComparison.Ordinal);
        Assert.EndsWith("'; expected eq, gt", a.Message, StringComparison.Ordinal);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(a, a with { Message = longMessage });
        Assert.Equal(a.Message, (a with { Path = "$.x" }).Message);
        var (path, message) = a;
        Assert.Equal(("$.rule.op", a.Message), (path, message));

        var json = JsonSerializer.Serialize(a);
        var back = JsonSerializer.Deserialize<DefinitionError>(json)!;
        Assert.Equal(a, back);
        var raw = JsonSerializer.Deserialize<DefinitionError>(JsonSerializer.Serialize(new { Path = "$.p", Message = longMessage }))!;
        Assert.True(raw.Message.Length <= 1_000);

        // A shortened message is not shortened again (idempotent), and a short one is kept as it is.
        Assert.Equal(a.Message, new DefinitionError("$", a.Message).Message);
        Assert.Equal("short", new DefinitionError("$", "short").Message);
        Assert.Equal(1_000, new DefinitionError("$", new string('y', 1_000)).Message.Length);
    }

    // An increment of a trait held as text that is a number beyond decimal's range, or in a form NumberText refuses, is
    // left as it is, as a JSON number beyond decimal is; a negative increment of "100" decrements it.
    [Theory]
    [InlineData("\"79228162514264337593543950336\"", -1, "\"79228162514264337593543950336\"")]
    [InlineData("\"1e3\"", 1, "\"1e3\"")]
    [InlineData("\"100\"", -1, "99")]
    [InlineData("\"\"", 1, "\"\"")]
    [InlineData("null", 1, "1")]
    public async Task AnIncrement_OfTextThatIsNoDecimal_LeavesIt(string credits, int by, string expected)
    {
        var journey = JourneyRig.Parse("""
            {"id": "credit", "version": 1, "name": "Credit", "trigger": {"type": "event", "event": "order.placed"},
             "steps": [{"id": "u", "type": "updateProfile", "increment": {"credits": BY}}]}
            """.Replace("BY", by.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.updated", [Ann], traits: JsonData.Parse("{\"credits\": " + credits + "}"));
        await rig.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 10, currency = "GBP" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        var p = await rig.Host.ProfileAsync(Ann);
        Assert.True(p.TryGetTrait("credits", out var v));
        Assert.Equal(JsonData.Parse(expected).GetRawText(), v.GetRawText());
    }
}
