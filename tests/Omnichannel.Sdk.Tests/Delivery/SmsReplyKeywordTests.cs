using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>
/// Inbound SMS replies (<see cref="EventTypes.MessageReplied"/>): STOP and its variants end SMS marketing everywhere
/// consent is read, START and its variants undo that (in event-time order, whatever the arrival order), anything else
/// changes nothing, and the text itself is never kept.
/// </summary>
public sealed class SmsReplyKeywordTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private static readonly Identifier Phone = Identifier.Phone("+12125550101");
    private static readonly Identifier OtherPhone = Identifier.Phone("+12125550102");

    private static (OmnichannelTestHost Host, RecordingTransport Sms) Host()
    {
        var sms = new RecordingTransport(ChannelNames.Sms);
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("sms", sms).AddTransport("email", email));
        return (host, sms);
    }

    private static MessageRequest Promo(string key, string channel = ChannelNames.Sms) =>
        new() { Key = key, Channels = [channel], TemplateId = key, Topic = "offers" };

    private static async Task SignUpWithSmsConsent(OmnichannelTestHost host, DateTimeOffset? at = null)
    {
        await host.TrackAsync(host.Event("user.signed_up", [Known, Phone, Identifier.Email("ann@example.com")], at: at));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Known], new { channel = "sms", granted = true }, at: at));
    }

    private static Task<TrackResult> Reply(OmnichannelTestHost host, string text, DateTimeOffset? at = null, string channel = "sms", Identifier? from = null) =>
        host.TrackAsync(host.Event(EventTypes.MessageReplied, [from ?? Phone], new { channel, text }, channel: ChannelNames.Sms, at: at));

    [Theory]
    [InlineData("STOP", "opt_out")]
    [InlineData("stop", "opt_out")]
    [InlineData("Stop.", "opt_out")]
    [InlineData(" stop ", "opt_out")]
    [InlineData("STOP!", "opt_out")]
    [InlineData("stop!!! 🛑", "opt_out")]
    [InlineData("\"Stop\"", "opt_out")]
    [InlineData("ＳＴＯＰ", "opt_out")] // full-width
    [InlineData("ſtop", "opt_out")] // long s: NFKC makes it s
    [InlineData("s\u200Btop", "opt_out")] // a zero-width space inside
    [InlineData("StopAll", "opt_out")]
    [InlineData("stop all", "opt_out")]
    [InlineData("Unsubscribe", "opt_out")]
    [InlineData("cancel", "opt_out")]
    [InlineData("END", "opt_out")]
    [InlineData("quit", "opt_out")]
    [InlineData("OPTOUT", "opt_out")]
    [InlineData("opt out", "opt_out")]
    [InlineData("Opt-Out", "opt_out")]
    [InlineData("revoke", "opt_out")]
    [InlineData("START", "opt_in")]
    [InlineData("Unstop", "opt_in")]
    [InlineData("yes.", "opt_in")]
    [InlineData("HELP", "help")]
    [InlineData("info?", "help")]
    [InlineData("please don't stop", "none")]
    [InlineData("stop please", "none")]
    [InlineData("stopp", "none")]
    [InlineData("stop stop", "none")]
    [InlineData("no", "none")]
    [InlineData("thanks!", "none")]
    [InlineData("", "none")]
    [InlineData("!!!", "none")]
    public void Classify_ReadsTheWholeReplyAsOneKeyword(string text, string expected) =>
        Assert.Equal(expected, SmsReplyKeywords.Name(SmsReplyKeywords.Classify(text)));

    [Fact]
    public void TheKeywordLists_AreTheDocumentedOnes()
    {
        Assert.Equal(["CANCEL", "END", "OPTOUT", "QUIT", "REVOKE", "STOP", "STOPALL", "UNSUBSCRIBE"], SmsReplyKeywords.OptOutKeywords.Order(StringComparer.Ordinal));
        Assert.Equal(["START", "UNSTOP", "YES"], SmsReplyKeywords.OptInKeywords.Order(StringComparer.Ordinal));
        Assert.Equal(["HELP", "INFO"], SmsReplyKeywords.HelpKeywords.Order(StringComparer.Ordinal));
    }

    /// <summary>An opt-out keyword in some casing, padding and trailing punctuation.</summary>
    public static class SpelledKeywordArbitrary
    {
        private static readonly string[] Pads = ["", " ", "  ", "\t", "\n", "\u00A0", "\u3000"];
        private static readonly string[] Tails = ["", ".", "!", "!!", "?", "...", ",", " .", "!?", "\u3002", " 🛑"];

        public static Arbitrary<string> Spellings() =>
            (from keyword in Gen.Elements(SmsReplyKeywords.OptOutKeywords.ToArray())
             from upper in Gen.ArrayOf(Gen.Elements(true, false), keyword.Length)
             from fullWidth in Gen.Elements(false, false, false, true)
             from before in Gen.Elements(Pads)
             from after in Gen.Elements(Pads)
             from tail in Gen.Elements(Tails)
             select before + Spell(keyword, upper, fullWidth) + tail + after)
            .ToArbitrary();

        private static string Spell(string keyword, bool[] upper, bool fullWidth)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < keyword.Length; i++)
            {
                var c = upper[i] ? keyword[i] : char.ToLowerInvariant(keyword[i]);
                sb.Append(fullWidth ? (char)(c + 0xFEE0) : c); // U+FF21.. are the full-width Latin letters
            }

            return sb.ToString();
        }
    }

    /// <summary>A reply made of words, some of them keywords, that is not a keyword as a whole.</summary>
    public static class NoKeywordArbitrary
    {
        private static readonly string[] Words = ["please", "don't", "stop", "I", "want", "to", "start", "yes", "end", "the", "texts", "help", "call", "me", "now", "cancel", "my", "order", "?", "!", "ok", "thanks"];

        public static Arbitrary<string> Replies() =>
            Gen.OneOf(
                    Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(Gen.Elements(Words), n)).Select(w => string.Join(" ", w)),
                    ArbMap.Default.GeneratorFor<NonEmptyString>().Select(s => s.Get))
                .Where(IsNoKeyword)
                .ToArbitrary();

        // An independent oracle: only the letters of the reply, upper-cased, are not one of the keywords.
        public static bool IsNoKeyword(string text)
        {
            var letters = new string([.. text.Normalize(NormalizationForm.FormKC).Where(char.IsLetterOrDigit)]).ToUpperInvariant();
            return letters.Length > 0
                && !SmsReplyKeywords.OptOutKeywords.Contains(letters) && !SmsReplyKeywords.OptInKeywords.Contains(letters) && !SmsReplyKeywords.HelpKeywords.Contains(letters)
                && text.Length <= 400;
        }
    }

    [Property(Arbitrary = [typeof(SpelledKeywordArbitrary)], MaxTest = 40)]
    public void AnOptOutKeyword_InAnySpelling_EndsSmsMarketing(string reply)
    {
        Assert.Equal(SmsReplyKeyword.OptOut, SmsReplyKeywords.Classify(reply));
        Run(async () =>
        {
            var (host, sms) = Host();
            await using var _ = host;
            await SignUpWithSmsConsent(host);
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("before"))).Status);
            await host.Engine.RunDispatchAsync();

            await Reply(host, reply);

            Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("after"))).Status);
            await host.Engine.RunDispatchAsync();
            Assert.Equal(["before"], sms.Messages.Select(m => ((SmsMessage)m).Body));
            Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Sms, "offers")!.Granted);
        });
    }

    [Property(Arbitrary = [typeof(NoKeywordArbitrary)], MaxTest = 40)]
    public void AReplyWithoutAKeyword_NeverChangesConsent(string reply)
    {
        Assert.Equal(SmsReplyKeyword.None, SmsReplyKeywords.Classify(reply));
        Run(async () =>
        {
            var (host, _) = Host();
            await using var __ = host;
            await SignUpWithSmsConsent(host);
            var before = (await host.ProfileAsync(Known)).Consents;

            await Reply(host, reply);

            var after = await host.ProfileAsync(Known);
            Assert.Equal(before, after.Consents);
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("after"))).Status);
        });
    }

    private static void Run(Func<Task> test) => Task.Run(test).GetAwaiter().GetResult();

    [Fact]
    public async Task AStopReply_SkipsAJourneysLaterSmsMarketingSend_AndATransactionalOneStillGoes()
    {
        var journey = JourneyRig.Parse("""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                       {"id": "promo", "type": "send", "channels": ["sms"], "template": "browse", "topic": "offers"},
                       {"id": "receipt", "type": "send", "channels": ["sms"], "template": "receipt", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Known, Phone]);
        await rig.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "sms", granted = true });
        await rig.TrackAsync("product.viewed", [Known]);

        var stop = await rig.Host.TrackAsync(EventTypes.MessageReplied, [Phone], new { channel = "sms", text = "Stop." }, channel: ChannelNames.Sms);
        Assert.Equal(TrackStatus.Accepted, stop.Status);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Equal(["sms:receipt"], rig.Sent());
        var p = await rig.Host.ProfileAsync(Known);
        Assert.Contains(p.Timeline, t => t.Type == EventTypes.MessageSkipped);
    }

    [Fact]
    public async Task AStopReply_StopsAMessageHeldForQuietHours_WhenItIsDispatched()
    {
        var sms = new RecordingTransport(ChannelNames.Sms);
        var lateEvening = new DateTimeOffset(2026, 1, 6, 3, 30, 0, TimeSpan.Zero); // 22:30 in New York
        await using var host = OmnichannelTestHost.Create(start: lateEvening, delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("sms", sms));
        await host.TrackAsync(host.Event("user.signed_up", [Known, Phone], context: new EventContext { TimeZone = "America/New_York" }));
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "sms", granted = true });
        var queued = await host.Client.SendAsync(Known, Promo("promo"));
        Assert.Equal(SendStatus.Queued, queued.Status);
        Assert.True(queued.DueAt > host.Time.GetUtcNow());

        await host.AdvanceAsync(TimeSpan.FromMinutes(30));
        await Reply(host, "STOP");
        await host.AdvanceToAsync(queued.DueAt!.Value + TimeSpan.FromMinutes(1));
        await host.Engine.RunDispatchAsync();

        Assert.Empty(sms.Messages);
        var p = await host.ProfileAsync(Known);
        Assert.Contains(p.Timeline, t => t.Type == EventTypes.MessageSkipped && t.Summary!.Contains("no consent", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AStartReply_AfterAStop_ReEnablesSmsMarketing_AndTheTimelineNamesOnlyTheKeywordClass()
    {
        var (host, sms) = Host();
        await using var _ = host;
        await SignUpWithSmsConsent(host);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await Reply(host, "STOP");
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1"))).Status);

        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await Reply(host, "start");

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("p2"))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(["p2"], sms.Messages.Select(m => ((SmsMessage)m).Body));
        var p = await host.ProfileAsync(Known);
        var replies = p.Timeline.Where(t => t.Type == EventTypes.MessageReplied).Select(t => t.Summary).ToList();
        Assert.Equal(["sms reply: opt-out keyword", "sms reply: opt-in keyword"], replies);
        Assert.Equal(SmsReplyKeywords.OptInSource, p.GetConsent(ChannelNames.Sms)!.Source);
    }

    [Fact]
    public async Task AStartReply_FromSomeoneWhoNeverDecided_GrantsNothing()
    {
        var (host, _) = Host();
        await using var __ = host;
        await host.TrackAsync("user.signed_up", [Known, Phone]);

        await Reply(host, "YES");

        var p = await host.ProfileAsync(Known);
        Assert.Null(p.GetConsent(ChannelNames.Sms));
        Assert.DoesNotContain(p.Consents, c => c.Channel == ChannelNames.Sms);
        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
    }

    [Fact]
    public async Task AStartReply_DoesNotLiftARefusalOfATopicItself()
    {
        var (host, _) = Host();
        await using var __ = host;
        await SignUpWithSmsConsent(host);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "sms", topic = "offers", granted = false });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await Reply(host, "STOP");
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await Reply(host, "START");

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("p2") with { Topic = "news" })).Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStartReply_ThenAnOlderStopArrivingLate_StaysGranted(bool consentedBefore)
    {
        var (host, _) = Host();
        await using var __ = host;
        var t = host.Time.GetUtcNow();
        await host.TrackAsync(host.Event("user.signed_up", [Known, Phone], at: t - TimeSpan.FromHours(3)));
        if (consentedBefore)
        {
            await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Known], new { channel = "sms", granted = true }, at: t - TimeSpan.FromHours(3)));
        }

        await Reply(host, "START", at: t - TimeSpan.FromHours(1));
        await Reply(host, "STOP", at: t - TimeSpan.FromHours(2)); // sent before the START, arriving after it

        Assert.True((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Sms)!.Granted);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
    }

    [Fact]
    public async Task AStopReply_ThenAnOlderStartArrivingLate_StaysDenied()
    {
        var (host, _) = Host();
        await using var __ = host;
        var t = host.Time.GetUtcNow();
        await SignUpWithSmsConsent(host, t - TimeSpan.FromHours(3));

        await Reply(host, "STOP", at: t - TimeSpan.FromHours(1));
        await Reply(host, "START", at: t - TimeSpan.FromHours(2));

        Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Known, Promo("p1"))).Status);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task AMerge_KeepsTheNewestReplyDecision_WhicheverSideHeldIt(bool startIsNewer, bool startOnSurvivor)
    {
        var (host, _) = Host();
        await using var __ = host;
        var t = host.Time.GetUtcNow();
        var stopAt = t - TimeSpan.FromHours(startIsNewer ? 2 : 1);
        var startAt = t - TimeSpan.FromHours(startIsNewer ? 1 : 2);

        // Two numbers of one person, each its own profile until she logs in with both: one said STOP, the other START.
        await host.TrackAsync(host.Event("page.viewed", [Phone], at: t - TimeSpan.FromHours(3)));
        await host.TrackAsync(host.Event("page.viewed", [OtherPhone], at: t - TimeSpan.FromHours(3)));
        await Reply(host, "STOP", at: stopAt, from: startOnSurvivor ? OtherPhone : Phone);
        await Reply(host, "START", at: startAt, from: startOnSurvivor ? Phone : OtherPhone);

        await host.TrackAsync("user.logged_in", startOnSurvivor ? [Phone, OtherPhone] : [OtherPhone, Phone]);

        var p = await host.ProfileAsync(Phone);
        Assert.Equal(p.Id, (await host.ProfileAsync(OtherPhone)).Id);
        if (startIsNewer)
        {
            Assert.True(p.GetConsent(ChannelNames.Sms)!.Granted);
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Phone, Promo("p1"))).Status);
        }
        else
        {
            Assert.False(p.GetConsent(ChannelNames.Sms)!.Granted);
            Assert.Equal(SendStatus.Skipped, (await host.Client.SendAsync(Phone, Promo("p1"))).Status);
        }
    }

    [Theory]
    [InlineData("email")]
    [InlineData("push")]
    public async Task AStopReply_OnAnotherChannel_ChangesNothing(string channel)
    {
        var (host, _) = Host();
        await using var __ = host;
        await SignUpWithSmsConsent(host);
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        var before = (await host.ProfileAsync(Known)).Consents;

        await Reply(host, "STOP", channel: channel);

        var p = await host.ProfileAsync(Known);
        Assert.Equal(before, p.Consents);
        Assert.Equal($"{channel} reply", p.Timeline.Single(t => t.Type == EventTypes.MessageReplied).Summary);
    }

    [Theory]
    [InlineData("HELP")]
    [InlineData("info")]
    public async Task AHelpReply_ChangesNothing(string text)
    {
        var (host, _) = Host();
        await using var __ = host;
        await SignUpWithSmsConsent(host);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await Reply(host, "STOP");
        var before = (await host.ProfileAsync(Known)).Consents;
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));

        await Reply(host, text);

        var p = await host.ProfileAsync(Known);
        Assert.Equal(before, p.Consents);
        Assert.Equal("sms reply: help keyword", p.Timeline[^1].Summary);
    }

    [Theory]
    [InlineData(null, "STOP", "properties.channel")]
    [InlineData("", "STOP", "properties.channel")]
    [InlineData("sms", null, "properties.text")]
    [InlineData("sms", "", "properties.text")]
    [InlineData("sms", "   ", "properties.text")]
    public async Task AReply_WithoutChannelOrText_IsRefusedNamingTheProperty(string? channel, string? text, string field)
    {
        var (host, _) = Host();
        await using var __ = host;
        var props = new Dictionary<string, object?>();
        if (channel is not null)
        {
            props["channel"] = channel;
        }

        if (text is not null)
        {
            props["text"] = text;
        }

        var result = await host.Client.TrackAsync(host.Event(EventTypes.MessageReplied, [Phone], props, channel: ChannelNames.Sms));

        Assert.Equal(TrackStatus.Rejected, result.Status);
        var error = Assert.Single(result.Errors);
        Assert.Equal(field, error.Field);
        Assert.DoesNotContain("STOP", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnOverLongReply_IsRefusedByTheEventLimits()
    {
        var (host, _) = Host();
        await using var __ = host;
        var result = await host.Client.TrackAsync(host.Event(EventTypes.MessageReplied, [Phone], new { channel = "sms", text = new string('x', 200_000) }, channel: ChannelNames.Sms));

        Assert.Equal(TrackStatus.Rejected, result.Status);
        Assert.Contains(result.Errors, e => e.Field.StartsWith("properties", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheReplyText_IsNeverKept_InTheProfileTheExportOrTheTimeline()
    {
        const string Secret = "Stop texting me, this is Ann Secretname at 12 Hidden Lane";
        const string Keyword = "StOp!";
        var (host, _) = Host();
        await using var __ = host;
        await SignUpWithSmsConsent(host);
        await Reply(host, Secret);
        await Reply(host, Keyword);
        await host.TrackAsync(host.Event(EventTypes.MessageReplied, [Phone], new { channel = "email", text = Secret + " by mail" }, channel: ChannelNames.Email));

        var p = await host.ProfileAsync(Known);
        var stored = Encoding.UTF8.GetString(ProfileSerializer.Serialize(p));
        var export = (await host.Client.ExportProfileAsync(Known))!.ToJsonString();
        var timeline = string.Join("\n", p.Timeline.Select(t => t.Summary));
        foreach (var where in new[] { stored, export, timeline })
        {
            Assert.DoesNotContain("Secretname", where, StringComparison.Ordinal);
            Assert.DoesNotContain(Keyword, where, StringComparison.Ordinal);
        }

        Assert.Contains("sms reply: no keyword", timeline, StringComparison.Ordinal);
        Assert.Contains("sms reply: opt-out keyword", export, StringComparison.Ordinal);
        Assert.False(p.GetConsent(ChannelNames.Sms)!.Granted);
    }

    [Fact]
    public async Task AReply_ReachesJourneysWithItsKeywordClass_NotItsText()
    {
        var journey = JourneyRig.Parse("""
            {"id": "winback", "version": 1, "name": "Win back", "trigger": {"type": "event", "event": "message.replied"},
             "steps": [{"id": "note", "type": "send", "channels": ["email"], "template": "sorry", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey]);
        await rig.TrackAsync("user.signed_up", [Known, Phone, Identifier.Email("ann@example.com")]);

        await rig.Host.TrackAsync(EventTypes.MessageReplied, [Phone], new { channel = "SMS", text = " quit " }, channel: ChannelNames.Sms);
        await rig.Engine.RunDispatchAsync();

        Assert.Equal(["email:sorry"], rig.Sent());
        var p = await rig.Host.ProfileAsync(Known);
        Assert.False(p.GetConsent(ChannelNames.Sms)!.Granted);
        Assert.Equal(SmsReplyKeywords.OptOutSource, p.GetConsent(ChannelNames.Sms)!.Source);
    }
}
