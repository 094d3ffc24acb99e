using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audit U81 (reports that race the send's record, kept on the profile as <c>pendingReports</c> and placed when
/// the send is recorded with the provider's id or at a merge). Public API and the test kit's fake clock; the profile's
/// internals only to read. Each "failed before" case was checked with the fix taken out.
/// </summary>
public sealed class ReviewU81Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r81");
    private static readonly Identifier AnnGuest = Identifier.AnonymousId("anon-ann-r81");
    private static readonly Identifier AnnPhone = Identifier.Phone("+447700900381");
    private static readonly DateTimeOffset Start = new(2026, 4, 13, 10, 0, 0, TimeSpan.Zero);

    // A provider whose status callbacks (Early) are posted inside the hand-over, before its answer is recorded.
    private sealed class Provider(Func<CustomerEvent, Task> post) : IChannelTransport
    {
        public List<DateTimeOffset> SentAt { get; } = [];

        public string Channel => ChannelNames.Sms;

        public TimeProvider? Clock { get; set; }

        public List<Func<string, DateTimeOffset, CustomerEvent>> Early { get; } = [];

        public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
        {
            var now = Clock!.GetUtcNow();
            SentAt.Add(now);
            var providerId = "SM" + SentAt.Count + "-r81";
            foreach (var report in Early)
            {
                await post(report(providerId, now));
            }

            Early.Clear();
            return DeliveryResult.Accepted(providerId);
        }
    }

    // Started by any delivery, no condition, and allowed again once ended (the default re-entry).
    private const string OnAnyDelivery = """
        {"id": "on-any-delivery", "version": 1, "name": "Any delivery", "trigger": {"type": "event", "event": "message.delivered"},
         "steps": [{"id": "noted", "type": "exit"}]}
        """;

    private const string OnAnyClick = """
        {"id": "on-any-click", "version": 1, "name": "Any click", "trigger": {"type": "event", "event": "message.clicked"},
         "steps": [{"id": "noted", "type": "exit"}]}
        """;

    private static (OmnichannelTestHost Host, Provider Sms) Host(Action<OmnichannelOptions>? more = null)
    {
        OmnichannelTestHost? hostRef = null;
        var sms = new Provider(async e => Assert.Equal(TrackStatus.Accepted, (await hostRef!.Client.TrackAsync(e)).Status));
        var delivery = new DeliverySetup { Renderer = new SmsRenderer() };
        delivery.AddTransport(ChannelNames.Sms, sms);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Journeys.Add(Parse(OnAnyDelivery));
                o.Journeys.Add(Parse(OnAnyClick));
                more?.Invoke(o);
            },
            start: Start,
            delivery: delivery);
        hostRef = host;
        sms.Clock = host.Time;
        return (host, sms);
    }

    private static JourneyDefinition Parse(string json) =>
        JourneyJson.Parse(json).Value ?? throw new InvalidOperationException(string.Join("; ", JourneyJson.Parse(json).Errors));

    private static Func<string, DateTimeOffset, CustomerEvent> Report(OmnichannelTestHost host, string type, TimeSpan after, Dictionary<string, object?>? extra = null, Identifier? under = null) =>
        (providerId, sentAt) =>
        {
            var props = new Dictionary<string, object?> { ["provider_message_id"] = providerId };
            foreach (var (k, v) in extra ?? [])
            {
                props[k] = v;
            }

            return host.Event(type, [under ?? Ann], props, channel: "server", at: sentAt + after);
        };

    private static Task SendAsync(OmnichannelTestHost host, string key) =>
        host.Client.SendAsync(Ann, new MessageRequest { Key = key, Channels = [ChannelNames.Sms], TemplateId = "hello", Class = MessageClass.Transactional }).AsTask();

    private static async Task<int> CountAsync(OmnichannelTestHost host, string metric) =>
        (int)(await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = metric })).Where(r => r.Key.Metric == metric).Sum(r => r.Count);

    // ---- 1. The provider's retry under a new event id, both copies before the record ------------------------------------
    // Found: the second copy, heard before the record, was not read as a repeat (IsRepeatedOutcome needs the message_id),
    // so a journey started by any delivery (any click on the same link) was started again by the provider's retry; the
    // same two copies after the record start it once. Failed before (entered 2 with the copies early).
    [Theory]
    [InlineData(EventTypes.MessageDelivered, "on-any-delivery", true)]
    [InlineData(EventTypes.MessageClicked, "on-any-click", true)]
    [InlineData(EventTypes.MessageDelivered, "on-any-delivery", false)]
    [InlineData(EventTypes.MessageClicked, "on-any-click", false)]
    public async Task TheProvidersRetryUnderANewEventId_BeforeTheRecord_StartsAJourneyOnce_AsAfterIt(string type, string journey, bool early)
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        var extra = new Dictionary<string, object?> { ["url"] = "https://shop.example/sale" };
        var copies = new[] { Report(host, type, TimeSpan.FromSeconds(3), extra), Report(host, type, TimeSpan.FromSeconds(4), extra) };
        if (early)
        {
            sms.Early.AddRange(copies);
        }

        await SendAsync(host, "sms-1");
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        if (!early)
        {
            foreach (var copy in copies)
            {
                Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(copy("SM1-r81", sms.SentAt[0]))).Status);
            }
        }

        Assert.Equal(1, (await host.Engine.GetJourneyStatisticsAsync(journey)).Entered);
        Assert.Equal(1, await CountAsync(host, type["message.".Length..]));
        Assert.Empty((await host.ProfileAsync(Ann)).PendingReports);
    }

    // A click on another link while the first waits is a new action of hers (as after the record): it starts the journey
    // again. Control: passed before and after.
    [Fact]
    public async Task AClickOnAnotherLink_BeforeTheRecord_IsNotARepeat()
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        sms.Early.Add(Report(host, EventTypes.MessageClicked, TimeSpan.FromSeconds(3), new() { ["url"] = "https://shop.example/a" }));
        sms.Early.Add(Report(host, EventTypes.MessageClicked, TimeSpan.FromSeconds(4), new() { ["url"] = "https://shop.example/b" }));
        await SendAsync(host, "sms-1");
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(2, (await host.Engine.GetJourneyStatisticsAsync("on-any-click")).Entered);
    }

    // ---- 2. "message_id": null ------------------------------------------------------------------------------------------
    // Found: a host's handler that looked its row up by the provider's id and did not find it yet (the race itself) posts
    // "message_id": null (System.Text.Json writes nulls). The rest of the SDK reads a null message_id as none (OfItsMessage
    // places such a report by its provider_message_id after the record), but AwaitsItsRecord read "a message_id is there"
    // and did not keep it: heard before the record it counted nothing. Failed before (early: no DeliveredAt, count 0).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AReportWithANullMessageId_NamingTheProvidersId_CountsWhetherItCameBeforeTheRecordOrAfter(bool early)
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        var report = Report(host, EventTypes.MessageDelivered, TimeSpan.FromSeconds(5), new() { ["message_id"] = null });
        if (early)
        {
            sms.Early.Add(report);
        }

        await SendAsync(host, "sms-1");
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        if (!early)
        {
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(report("SM1-r81", sms.SentAt[0]))).Status);
        }

        var p = await host.ProfileAsync(Ann);
        Assert.Equal(sms.SentAt[0] + TimeSpan.FromSeconds(5), p.Touches.Single(t => t.Key == "sms-1").DeliveredAt);
        Assert.Equal(1, await CountAsync(host, MeasurementMetrics.Delivered));
        Assert.Equal(1, (await host.Engine.GetJourneyStatisticsAsync("on-any-delivery")).Entered);
        Assert.Empty(p.PendingReports);
    }

    // ---- 3. Erasure while reports wait (holds) ---------------------------------------------------------------------------
    // The waiting reports go with the profile's document, and their event ids are tombstoned even when the timeline no
    // longer names them (TimelineLength 1): the provider's retry of one, under another identifier, is refused as erased by
    // its event id, not kept on a new profile.
    [Fact]
    public async Task ErasureWhileReportsWait_LeavesNoReport_AndTheirRetriesAreRefused()
    {
        var (host, _) = Host(o => o.TimelineLength = 1);
        await using var __ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        var waiting = host.Event(EventTypes.MessageDelivered, [Ann], new { provider_message_id = "SM77-r81", note = "secret" }, channel: "server", at: Start);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(waiting)).Status);
        await host.TrackAsync("page.viewed", [Ann]); // the report leaves the timeline; it still waits
        var p = await host.ProfileAsync(Ann);
        Assert.Single(p.PendingReports);
        Assert.DoesNotContain(p.Timeline, t => t.EventId == waiting.Id);

        Assert.True(await host.Client.EraseProfileAsync(Ann));
        Assert.Null(await host.Engine.GetProfileAsync(Ann));
        // Posted again under another identifier (the callback resolved to a browser id): refused by its event id alone.
        var stranger = Identifier.AnonymousId("anon-other-r81");
        var again = await host.Client.TrackAsync(waiting with { Identifiers = [stranger] });
        Assert.Equal(TrackStatus.Erased, again.Status);
        Assert.Contains(again.Errors, x => x.Field == "id");
        Assert.Null(await host.Engine.GetProfileAsync(stranger));
        Assert.Null(await host.Engine.GetProfileAsync(Ann));
    }

    // ---- 4. Bounds (holds) -----------------------------------------------------------------------------------------------
    // Thousands of reports naming random provider ids, with large properties and own times from 2000 to now: the list
    // stays at 50, the document stays bounded, and the real message's report still counts when it is recorded.
    [Fact]
    public async Task ThousandsOfReportsNamingRandomProviderIds_KeepTheListAndTheDocumentBounded()
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        var big = new string('x', 30_000);
        var random = new Random(81);
        for (var i = 0; i < 2_000; i++)
        {
            var at = random.Next(4) == 0 ? new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(random.Next(0, 800_000_000)) : Start.AddSeconds(-random.Next(0, 30 * 86_400));
            var e = host.Event(EventTypes.MessageOpened, [Ann], new Dictionary<string, object?> { ["provider_message_id"] = "junk-" + random.Next(), ["pad"] = i % 100 == 0 ? big : "p" }, channel: "server", at: at);
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
        }

        var p = await host.ProfileAsync(Ann);
        Assert.InRange(p.PendingReports.Count, 1, MeasurementRecorder.MaxPendingReports);
        Assert.Equal(p.PendingReports.OrderBy(r => r.Timestamp), p.PendingReports);
        Assert.InRange(Encoding.UTF8.GetString(ProfileSerializer.Serialize(p)).Length, 1, 4_000_000);

        sms.Early.Add(Report(host, EventTypes.MessageDelivered, TimeSpan.FromSeconds(2)));
        await SendAsync(host, "sms-1");
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await CountAsync(host, MeasurementMetrics.Delivered));
        Assert.Equal(0, await CountAsync(host, MeasurementMetrics.Opened));
    }

    // Found: each kept report holds its properties as they came (up to MaxPropertiesBytes, 32 KiB), so fifty of them made
    // the profile's document about fifty times that, written with every event of hers for as long as reports keep
    // coming for messages the SDK never recorded (a host posting the provider's whole payload). Now the kept properties
    // are bounded together (MaxPendingReportBytes), the oldest dropped first. Failed before (a document of about 1 MB).
    [Fact]
    public async Task ReportsWithLargeProperties_KeepTheDocumentSmall_AndTheNewestStillCounts()
    {
        var (host, sms) = Host();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
        var payload = new string('h', 20_000);
        for (var i = 0; i < 60; i++)
        {
            var e = host.Event(EventTypes.MessageDelivered, [Ann], new Dictionary<string, object?> { ["provider_message_id"] = "own-" + i, ["headers"] = payload }, channel: "server", at: Start.AddSeconds(-60 + i));
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
        }

        var p = await host.ProfileAsync(Ann);
        using (var doc = System.Text.Json.JsonDocument.Parse(ProfileSerializer.Serialize(p)))
        {
            // what the kept reports add to her document (her timeline of 61 entries is the rest of its growth)
            Assert.InRange(doc.RootElement.GetProperty("pendingReports").GetRawText().Length, 1, MeasurementRecorder.MaxPendingReportBytes + 2_000);
        }

        Assert.Contains(p.PendingReports, r => r.ProviderId == "own-59");

        sms.Early.Add(Report(host, EventTypes.MessageDelivered, TimeSpan.FromSeconds(2), new() { ["headers"] = payload }));
        await SendAsync(host, "sms-1");
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(sms.SentAt[0] + TimeSpan.FromSeconds(2), (await host.ProfileAsync(Ann)).Touches.Single(t => t.Key == "sms-1").DeliveredAt);
        Assert.Equal(1, await CountAsync(host, MeasurementMetrics.Delivered));
    }

    // ---- 5. Every arrival order, with a merge (property) -----------------------------------------------------------------
    // Two delivery copies (a retry under a new event id) and an open, each posted early (inside the hand-over), after the
    // record on her customer profile, or on her guest profile before the login that merges them: one delivery, one open,
    // one entry of the any-delivery journey, nothing left waiting, whatever the placement and order.
    [Property(MaxTest = 25)]
    public bool EveryPlacementOfTheReportsAndTheMerge_CountsOnce(byte[] where, int seed)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var (host, sms) = Host();
            await using var _ = host;
            await host.TrackAsync("user.signed_up", [Ann, AnnPhone]);
            await host.TrackAsync("page.viewed", [AnnGuest]);
            var types = new[] { EventTypes.MessageDelivered, EventTypes.MessageDelivered, EventTypes.MessageOpened };
            var reports = types.Select((t, i) => (Type: t, After: TimeSpan.FromSeconds(2 + i), Where: where.Length > i ? where[i] % 3 : 0)).ToList();
            foreach (var r in reports.Where(r => r.Where == 0))
            {
                sms.Early.Add(Report(host, r.Type, r.After));
            }

            await SendAsync(host, "sms-1");
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
            var rng = new Random(seed);
            var later = reports.Where(r => r.Where != 0).OrderBy(_ => rng.Next()).ToList();
            var merged = false;
            var guestHeardADelivery = false;
            foreach (var r in later)
            {
                if (!merged && rng.Next(2) == 0)
                {
                    await host.TrackAsync("user.logged_in", [Ann, AnnGuest]);
                    merged = true;
                }

                var under = r.Where == 2 && !merged ? AnnGuest : Ann;
                guestHeardADelivery |= under == AnnGuest && r.Type == EventTypes.MessageDelivered;
                var status = (await host.Client.TrackAsync(Report(host, r.Type, r.After, under: under)("SM1-r81", sms.SentAt[0]))).Status;
                if (status != TrackStatus.Accepted)
                {
                    return false;
                }
            }

            if (!merged)
            {
                await host.TrackAsync("user.logged_in", [Ann, AnnGuest]);
            }

            var p = await host.ProfileAsync(Ann);
            var end = (Delivered: await CountAsync(host, MeasurementMetrics.Delivered), Opened: await CountAsync(host, MeasurementMetrics.Opened),
                Entered: (await host.Engine.GetJourneyStatisticsAsync("on-any-delivery")).Entered, Waiting: p.PendingReports.Count,
                DeliveredAt: p.Touches.Single(t => t.Key == "sms-1").DeliveredAt);

            // her guest profile heard a delivery as a profile of its own, before they were one person: one entry there
            var ok = end is { Delivered: 1, Opened: 1, Waiting: 0 } && end.DeliveredAt == sms.SentAt[0] + TimeSpan.FromSeconds(2)
                && end.Entered <= (guestHeardADelivery ? 2 : 1);
            return ok ? true : throw new InvalidOperationException($"{string.Join(",", reports.Select(r => r.Where))} seed {seed}: {end}");
        }
    }
}
