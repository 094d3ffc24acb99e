using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U82: engagement that is not hers. Apple Mail Privacy Protection fetches every pixel at delivery
/// (Jericho/StrongGrid#405, mirajavora/sendgrid-webhooks#39: SendGrid's <c>sg_machine_open</c>; Mailgun's
/// <c>client-info.bot</c>; Braze's <c>machine_open</c> and <c>is_suspected_bot_click</c>; segmentio/segment-docs#4913
/// "True Opened"), and mail gateways follow every link seconds after delivery (gophish/gophish#2115, mautic/mautic#9400,
/// knadh/listmonk#2400, putyourlightson/craft-campaign#546). Such a report stays on her timeline, flagged, and counts as
/// none of her engagement. Public API and the test kit's fake clock only.
/// </summary>
public sealed class AuditU82MachineEngagementTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u82");
    private static readonly Identifier AnnMail = Identifier.Email("ann.u82@example.com");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);

    private static async Task<(long Count, double Sum)> Metric(OmnichannelTestHost host, string metric)
    {
        var rows = (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = metric })).Where(r => r.Key.Metric == metric).ToList();
        return (rows.Sum(r => r.Count), rows.Sum(r => r.Sum));
    }

    private static SegmentDefinition Json(string id, string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        return parsed.Value!;
    }

    private static async Task<bool> InAsync(OmnichannelTestHost host, string segmentId) =>
        (await host.ProfileAsync(Ann)).Segments.Any(m => m.SegmentId == segmentId);

    private static async Task SignUpAsync(OmnichannelTestHost host) =>
        await host.TrackAsync(host.Event("user.signed_up", [Ann, AnnMail], at: Start) with { Id = "signup" });

    // ---- 1. An Apple Mail Privacy Protection open, as SendGrid flags it -------------------------------------------------
    // It counts no open, does not make her seen, and stays on her timeline marked as a machine's; her own open later counts.
    [Fact]
    public async Task ASendGridMachineOpen_CountsNoOpen_LeavesHerUnseen_AndIsOnHerTimelineFlagged()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        await SignUpAsync(host);
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], new { channel = ChannelNames.Email, message_id = "m1", sg_machine_open = true }, channel: "server");

        Assert.Equal(0, (await Metric(host, MeasurementMetrics.Opened)).Count);
        var p = await host.ProfileAsync(Ann);
        Assert.Equal(Start, p.Statistics.LastSeen);
        var entry = Assert.Single(p.Timeline, t => t.Type == EventTypes.MessageOpened);
        Assert.Contains("machine (sendgrid)", entry.Summary, StringComparison.Ordinal);

        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], new { channel = ChannelNames.Email, message_id = "m1" }, channel: "server");
        Assert.Equal(1, (await Metric(host, MeasurementMetrics.Opened)).Count);
        Assert.Equal(host.Time.GetUtcNow(), (await host.ProfileAsync(Ann)).Statistics.LastSeen);
    }

    // ---- 2. A scanner's click credits no conversion ------------------------------------------------------------------
    // Braze's is_suspected_bot_click on a click two days before an order: no click-through touch, so the order (outside
    // the one-day windows of sent, delivered and opened) is credited to nothing; a person's click is credited.
    [Theory]
    [InlineData(true, 0L)]
    [InlineData(false, 1L)]
    public async Task ABotClick_CreatesNoClickThroughTouch_SoNoConversionIsAttributedToIt(bool bot, long attributed)
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        await SignUpAsync(host);
        object click = bot
            ? new { channel = ChannelNames.Email, message_id = "m2", url = "https://shop.example/a", is_suspected_bot_click = true }
            : new { channel = ChannelNames.Email, message_id = "m2", url = "https://shop.example/a" };
        await host.TrackAsync(EventTypes.MessageClicked, [AnnMail], click, channel: "server");
        await host.AdvanceAsync(TimeSpan.FromDays(2));
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 50 });

        Assert.Equal(1, (await Metric(host, MeasurementMetrics.Conversion("order"))).Count);
        Assert.Equal(attributed, (await Metric(host, MeasurementMetrics.Revenue("order", AttributionModel.LastTouch))).Count);
        Assert.Equal(attributed, (await Metric(host, MeasurementMetrics.Clicked)).Count);
    }

    // ---- 3. Segments: "opened in 30 days" is her opens; `where machine` tells them apart --------------------------------
    // Ongage and AIQ (Apple MPP opens "do not qualify customers for audiences based on opens") — a Mailgun bot open does
    // not put her in an opened segment, and a marketer's JSON segment on `machine: true` finds exactly those.
    [Fact]
    public async Task AMailgunBotOpen_IsNoOpenToASegment_ButASegmentOnMachineFindsIt()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Json("opened", """{"event": "message.opened", "within": "P30D"}"""));
            o.Segments.Add(Json("not-engaged", """{"not": {"event": "message.opened", "within": "P30D"}}"""));
            o.Segments.Add(Json("machine-opened", """{"event": "message.opened", "within": "P30D", "where": [{"property": "machine", "op": "eq", "value": true}]}"""));
        }, start: Start);
        await SignUpAsync(host);
        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], new Dictionary<string, object>
        {
            ["channel"] = ChannelNames.Email,
            ["message_id"] = "m3",
            ["client-info"] = new Dictionary<string, object> { ["bot"] = "apple", ["user-agent"] = "Mozilla/5.0" },
        }, channel: "server");

        Assert.False(await InAsync(host, "opened"));
        Assert.True(await InAsync(host, "not-engaged"));
        Assert.True(await InAsync(host, "machine-opened"));

        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], new { channel = ChannelNames.Email, message_id = "m3" }, channel: "server");
        Assert.True(await InAsync(host, "opened"));
        Assert.False(await InAsync(host, "not-engaged"));
    }

    // A preview of a rule not loaded yet reads her opens as the loaded rule will (PreviewSegmentAsync before adding it).
    [Fact]
    public async Task APreviewOfAnOpenedSegment_DoesNotCountAMachineOpen()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(Json("opened", """{"event": "message.opened", "within": "P30D"}""")), start: Start);
        await SignUpAsync(host);
        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], new { channel = ChannelNames.Email, message_id = "m3p", sg_machine_open = true }, channel: "server");

        Assert.Equal(0, (await host.Client.PreviewSegmentAsync(Json("opened-7d", """{"event": "message.opened", "within": "P7D"}"""))).Matching);
        Assert.Equal(1, (await host.Client.PreviewSegmentAsync(Json("machine-7d", """{"event": "message.opened", "within": "P7D", "where": [{"property": "machine", "op": "eq", "value": true}]}"""))).Matching);
    }

    // A conversion defined on clicks (a click-through goal) is not reached by a scanner's click; a person's click reaches it.
    [Theory]
    [InlineData(true, 0L)]
    [InlineData(false, 1L)]
    public async Task AConversionOnClicks_IsNotReachedByAScannersClick(bool bot, long conversions)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Measurement.Conversions.Add(new ConversionDefinition("click-through", EventTypes.MessageClicked)), start: Start);
        await SignUpAsync(host);
        object click = bot
            ? new { channel = ChannelNames.Email, message_id = "m7", url = "https://shop.example/a", machine = true }
            : new { channel = ChannelNames.Email, message_id = "m7", url = "https://shop.example/a" };
        await host.TrackAsync(EventTypes.MessageClicked, [AnnMail], click, channel: "server");
        Assert.Equal(conversions, (await Metric(host, MeasurementMetrics.Conversion("click-through"))).Count);
    }

    // ---- 4. Journeys: a machine's open starts nothing, and does not answer an inactivity clock --------------------------
    [Fact]
    public async Task AMachineOpen_StartsNoJourney_ButHerOpenDoes()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Journeys.Add(Journey.Define("after-open", "After an open")
            .TriggeredBy(t => t.Event(EventTypes.MessageOpened))
            .Steps(s => s.Delay("wait", "PT1H"))
            .Build()), start: Start);
        await SignUpAsync(host);
        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], new { channel = ChannelNames.Email, message_id = "m4", machine = true }, channel: "server");
        Assert.Equal(0, (await host.Client.GetJourneyStatisticsAsync("after-open")).Entered);

        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], new { channel = ChannelNames.Email, message_id = "m4" }, channel: "server");
        Assert.Equal(1, (await host.Client.GetJourneyStatisticsAsync("after-open")).Entered);
    }

    // "No click within a day of the promo": a gateway's click on it is no answer of hers, so the follow-up still starts.
    [Fact]
    public async Task AScannerClick_DoesNotCancelAnInactivityClock()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Journeys.Add(Journey.Define("no-click", "No click in a day")
            .TriggeredBy(t => t.Inactivity("promo.seen", "P1D", EventTypes.MessageClicked))
            .Steps(s => s.Delay("wait", "PT1H"))
            .Build()), start: Start);
        await SignUpAsync(host);
        await host.TrackAsync(host.Event("promo.seen", [Ann], at: Start) with { Id = "promo" });
        await host.TrackAsync(EventTypes.MessageClicked, [AnnMail], new { channel = ChannelNames.Email, message_id = "m5", url = "https://shop.example/p", sg_machine_open = "true", machine = true }, channel: "server");
        await host.AdvanceAsync(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        Assert.Equal(1, (await host.Client.GetJourneyStatisticsAsync("no-click")).Entered);
    }

    // ---- 4b. Any mix: machines' opens change nothing of hers -----------------------------------------------------------
    // For every mix of her opens and machines' (flagged by SendGrid, Braze, Mailgun or `machine`, as text too), in time order: the open
    // count, "opened twice in 30 days", "not opened in 30 days", lastSeen and a journey on opens are exactly what her own
    // opens alone give.
    [Property(MaxTest = 15)]
    public bool MachinesOpens_InAnyMix_ChangeNothingOfHers(int seed)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var rng = new Random(seed);
            var opens = Enumerable.Range(0, 1 + rng.Next(8))
                .Select(i => (Id: $"open-{i}", At: Start.AddHours(1 + rng.Next(40 * 24)), Message: $"m{rng.Next(3)}", Kind: rng.Next(6)))
                .OrderBy(o => o.At).ToList();
            var all = await Replay(opens);
            var hers = await Replay([.. opens.Where(o => o.Kind == 0)]);
            return all == hers;
        }

        static async Task<string> Replay(List<(string Id, DateTimeOffset At, string Message, int Kind)> opens)
        {
            await using var host = OmnichannelTestHost.Create(o =>
            {
                o.Segments.Add(Json("opened-twice", """{"event": "message.opened", "within": "P30D", "count": {"op": "gte", "value": 2}}"""));
                o.Segments.Add(Json("lapsed", """{"not": {"event": "message.opened", "within": "P30D"}}"""));
                o.Journeys.Add(Journey.Define("after-open", "After an open")
                    .TriggeredBy(t => t.Event(EventTypes.MessageOpened))
                    .Steps(s => s.Delay("wait", "PT1H"))
                    .Build());
            }, start: Start);
            await SignUpAsync(host);
            foreach (var (id, at, message, kind) in opens)
            {
                await host.AdvanceToAsync(at);
                var props = new Dictionary<string, object> { ["channel"] = ChannelNames.Email, ["message_id"] = message };
                switch (kind)
                {
                    case 1: props["sg_machine_open"] = true; break;
                    case 2: props["machine_open"] = "true"; break;
                    case 3: props["client-info"] = new Dictionary<string, object> { ["bot"] = "generic" }; break;
                    case 4: props["machine"] = true; break;
                    case 5: props["machine"] = " true"; break; // as text, from a form
                }

                await host.TrackAsync(host.Event(EventTypes.MessageOpened, [AnnMail], props, channel: "server", at: at) with { Id = id });
            }

            await host.AdvanceToAsync(Start.AddDays(45));
            var p = await host.ProfileAsync(Ann);
            return string.Join("|",
                (await Metric(host, MeasurementMetrics.Opened)).Count,
                string.Join(",", p.Segments.Select(m => m.SegmentId).Order(StringComparer.Ordinal)),
                p.Statistics.LastSeen?.ToString("O"),
                (await host.Client.GetJourneyStatisticsAsync("after-open")).Entered);
        }
    }

    // ---- 5. The scanner window: a rule that holds for every click ------------------------------------------------------
    // With ScannerClickWindow = W, a click d seconds after the message was handed over is a machine's exactly when d < W,
    // and W = 0 (the default) never marks one: a person's click is never read as a scanner's unless the host asked for it.
    // Either way the click is on her timeline.
    [Property(MaxTest = 20)]
    public bool AClick_IsAScannersExactly_WhenInsideTheWindow(byte windowSeconds, short offsetSeconds)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var window = TimeSpan.FromSeconds(windowSeconds % 121);
            var offset = TimeSpan.FromSeconds(offsetSeconds % 300);
            await using var host = OmnichannelTestHost.Create(o => o.Measurement.ScannerClickWindow = window, start: Start);
            await SignUpAsync(host);
            await host.AdvanceAsync(TimeSpan.FromHours(1));
            var sentAt = Start.AddMinutes(10);
            await host.TrackAsync(host.Event(EventTypes.MessageSent, [AnnMail], new { channel = ChannelNames.Email, message_id = "m6" }, channel: "server", at: sentAt) with { Id = "sent" });
            await host.TrackAsync(host.Event(EventTypes.MessageClicked, [AnnMail], new { channel = ChannelNames.Email, message_id = "m6", url = "https://shop.example/x" }, channel: "server", at: sentAt + offset) with { Id = "click" });

            var machine = window > TimeSpan.Zero && offset < window; // 0 is off: not even a click stamped before the send
            var clicked = (await Metric(host, MeasurementMetrics.Clicked)).Count;
            var entry = (await host.ProfileAsync(Ann)).Timeline.Single(t => t.Type == EventTypes.MessageClicked);
            return clicked == (machine ? 0 : 1)
                && (entry.Summary?.Contains("machine (scanner_window)", StringComparison.Ordinal) ?? false) == machine;
        }
    }

    [Fact]
    public void AScannerWindowOutsideItsRange_IsRefusedWithItsName()
    {
        Assert.Contains(new MeasurementOptions { ScannerClickWindow = TimeSpan.FromSeconds(-1) }.Validate(), p => p.Contains(nameof(MeasurementOptions.ScannerClickWindow), StringComparison.Ordinal));
        Assert.Contains(new MeasurementOptions { ScannerClickWindow = TimeSpan.FromHours(2) }.Validate(), p => p.Contains(nameof(MeasurementOptions.ScannerClickWindow), StringComparison.Ordinal));
        Assert.Empty(new MeasurementOptions { ScannerClickWindow = TimeSpan.FromMinutes(1) }.Validate());
    }
}
