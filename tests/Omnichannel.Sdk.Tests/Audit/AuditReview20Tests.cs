using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of the twentieth session's changes: hostile cases for each of them.</summary>
public sealed class AuditReview20Tests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);
    private static readonly Identifier Known = Identifier.CustomerId("c-r20");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnAtWork = Identifier.Email("ann@work.example");
    private static readonly Identifier OldPhone = Identifier.Phone("+447700900123");
    private static readonly Identifier NewPhone = Identifier.Phone("+447700900456");

    // ---- Bounces naming only their message ----

    private static (OmnichannelTestHost Host, FailingTransport Email, RecordingTransport Sms) FallbackHost(Action<OmnichannelOptions>? configure = null)
    {
        var email = new FailingTransport(ChannelNames.Email);
        var sms = new RecordingTransport(ChannelNames.Sms);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                foreach (var channel in new[] { "email", "sms" })
                {
                    o.Segments.Add(SegmentJson.Parse($$$"""{"id": "reachable-{{{channel}}}", "name": "x", "rule": {"reachable": "{{{channel}}}"}}""").Value!);
                }

                configure?.Invoke(o);
            },
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email).AddTransport("sms", sms));
        return (host, email, sms);
    }

    private static MessageRequest Receipt(string key, params string[] channels) =>
        new() { Key = key, Channels = channels.Length == 0 ? [ChannelNames.Email, ChannelNames.Sms] : channels, TemplateId = key, Class = MessageClass.Transactional };

    private static async Task ConsentAsync(OmnichannelTestHost host)
    {
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "sms", granted = true });
    }

    [Fact]
    public async Task AMessageSentBySmsAfterEmailFailed_ABounceNamingIt_SuppressesThePhoneItWentTo_NotHerNewPhone()
    {
        var (host, email, sms) = FallbackHost();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann, OldPhone], at: host.Time.GetUtcNow().AddHours(-1));
        await ConsentAsync(host);
        email.FailPermanently("mailbox provider down");
        await host.Client.SendAsync(Known, Receipt("r-1"));
        await host.Engine.RunDispatchAsync();
        Assert.Single(sms.Messages);

        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync("user.updated", [Known, NewPhone]); // she changes her phone
        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "sms", message_id = "r-1", bounce_type = "hard" });

        var p = await host.ProfileAsync(Known);
        Assert.True(p.IsInSegment("reachable-sms")); // her new phone was not suppressed
        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "sms", address = "+447700900456", bounce_type = "hard" });
        Assert.False((await host.ProfileAsync(Known)).IsInSegment("reachable-sms")); // the old one was
    }

    [Fact]
    public async Task ASoftBounceNamingOnlyItsMessage_SuppressesNothing()
    {
        var (host, _, sms) = FallbackHost();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann, OldPhone]);
        await ConsentAsync(host);
        await host.Client.SendAsync(Known, Receipt("r-1", ChannelNames.Email));
        await host.Engine.RunDispatchAsync();

        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", message_id = "r-1", bounce_type = "soft" });

        Assert.True((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));
    }

    [Fact]
    public async Task ABounceNamingBothAnAddressAndAMessage_TheAddressWins()
    {
        var (host, _, _) = FallbackHost();
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann], at: host.Time.GetUtcNow().AddHours(-2));
        await ConsentAsync(host);
        await host.TrackAsync("user.updated", [Known, AnnAtWork], at: host.Time.GetUtcNow().AddHours(-1));
        await host.Client.SendAsync(Known, Receipt("r-1", ChannelNames.Email)); // goes to ann@work.example
        await host.Engine.RunDispatchAsync();

        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", message_id = "r-1", address = "ann@example.com", bounce_type = "hard" });
        Assert.True((await host.ProfileAsync(Known)).IsInSegment("reachable-email")); // ann@work.example still reaches her
        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", address = "ann@work.example", bounce_type = "hard" });
        Assert.False((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));
    }

    [Fact]
    public async Task ABounceForAMessageStillQueued_SuppressesHerAddressNow()
    {
        // The engine's dispatcher starts as soon as a message due now is queued, so "queued, not dispatched" was a race it
        // could lose (the bounce then named a message already sent). Quiet hours over the test's clock (09:00) hold the
        // receipt in the outbox until 10:00, whatever the dispatcher does meanwhile.
        var (host, email, _) = FallbackHost(o =>
        {
            o.Delivery.TransactionalQuietHours = QuietHoursAction.Defer;
            o.Delivery.QuietHoursStart = new TimeOnly(8, 0);
            o.Delivery.QuietHoursEnd = new TimeOnly(10, 0);
        });
        await using var _ = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);
        await ConsentAsync(host);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, Receipt("r-1", ChannelNames.Email))).Status); // queued, held: not dispatched

        await host.TrackAsync(EventTypes.MessageBounced, [Known], new { channel = "email", message_id = "r-1", bounce_type = "hard" });

        Assert.False((await host.ProfileAsync(Known)).IsInSegment("reachable-email"));
        Assert.Equal(0, email.Attempts); // the case it means to test: the bounce came while the receipt was still queued
    }

    // ---- Waiting for the partitions before a visit or a back-fill ----

    private static readonly Identifier Cust = Identifier.CustomerId("ann");

    private static JourneyDefinition Cart(int version) => JourneyRig.Parse($$"""
        {"id": "cart", "version": {{version}}, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "wait{{version}}", "type": "delay", "duration": "PT1H"}, {"id": "done", "type": "exit"}]}
        """);

    private static SegmentDefinition Gold(int n) => Segment.Define($"gold-{n}", "Gold").Where(r => r.Trait("tier").Eq("gold"));

    [Fact]
    public async Task PublishUpsertAndRemove_WithACancelledToken_ThrowCancelled_AndDoNotHang()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Journeys.Add(Cart(1)));
        await host.TrackAsync(EventTypes.CartItemAdded, [Cust], new { cart_id = "c1", product_id = "p" });
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Engine.PublishJourneyAsync(Cart(2), cancelled.Token).WaitAsync(Hang));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Engine.RemoveJourneyAsync("cart", cancelled.Token).WaitAsync(Hang));
        try
        {
            var backfill = await host.Client.UpsertSegmentAsync(Gold(1), cancellationToken: cancelled.Token).AsTask().WaitAsync(Hang);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backfill.Completion.WaitAsync(Hang));
        }
        catch (OperationCanceledException)
        {
        }

        // The engine goes on.
        Assert.Equal(1, await host.Engine.PublishJourneyAsync(Cart(3)).WaitAsync(Hang));
    }

    [Fact]
    public async Task ManyPublishesAndUpserts_AgainstFullSmallQueues_AllComplete()
    {
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 2; o.QueueCapacity = 1; o.Journeys.Add(Cart(1)); });
        var tracks = Enumerable.Range(0, 40).Select(i =>
            host.TrackAsync(EventTypes.CartItemAdded, [Identifier.CustomerId($"c{i}")], new { cart_id = "c1", product_id = "p" }, traits: new { tier = "gold" })).ToList();
        var publishes = Enumerable.Range(2, 10).Select(v => host.Engine.PublishJourneyAsync(Cart(v))).ToList();
        var upserts = Enumerable.Range(0, 10).Select(async n => await (await host.Client.UpsertSegmentAsync(Gold(n))).Completion).ToList();

        await Task.WhenAll(tracks).WaitAsync(Hang);
        await Task.WhenAll(publishes).WaitAsync(Hang);
        await Task.WhenAll(upserts).WaitAsync(Hang);
        Assert.All(await Task.WhenAll(tracks), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        var p = await host.ProfileAsync(Identifier.CustomerId("c7"));
        Assert.True(p.IsInSegment("gold-9"));
    }

    [Fact]
    public async Task APublishRacingDispose_CompletesOrSaysDisposed_NeverHangs()
    {
        for (var round = 0; round < 20; round++)
        {
            var host = OmnichannelTestHost.Create(o => { o.QueueCapacity = 1; o.Journeys.Add(Cart(1)); });
            await host.TrackAsync(EventTypes.CartItemAdded, [Cust], new { cart_id = "c1", product_id = "p" });
            var track = host.TrackAsync(EventTypes.CartItemAdded, [Identifier.CustomerId("bob")], new { cart_id = "c1", product_id = "p" });
            var publish = host.Engine.PublishJourneyAsync(Cart(2));
            var remove = round % 2 == 0 ? host.Engine.RemoveJourneyAsync("cart") : Task.FromResult(true);
            var dispose = host.DisposeAsync().AsTask();

            await dispose.WaitAsync(Hang);
            foreach (var t in new Task[] { publish, remove, track })
            {
                try
                {
                    await t.WaitAsync(Hang);
                }
                catch (ObjectDisposedException)
                {
                }
            }
        }
    }

    [Fact]
    public async Task APublishFromARendererOnAWorker_FailsFast_InsteadOfDeadlocking()
    {
        OmnichannelTestHost? self = null;
        Exception? seen = null;
        var renderer = new CallbackRenderer(async ct =>
        {
            try
            {
                await self!.Engine.PublishJourneyAsync(Cart(2), ct);
            }
            catch (Exception ex)
            {
                seen = ex;
                throw;
            }
        });
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 1; o.QueueCapacity = 1; o.Journeys.Add(Cart(1)); },
            delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", new RecordingTransport(ChannelNames.Email)));
        self = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);

        var result = await host.Client.SendAsync(Known, Receipt("r-1", ChannelNames.Email)).AsTask().WaitAsync(Hang);

        Assert.Equal(SendStatus.Skipped, result.Status);
        Assert.IsType<InvalidOperationException>(seen);
        Assert.Contains("deadlock", seen!.Message);
        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync("page.viewed", [Known]).WaitAsync(Hang)).Status);
    }

    [Fact]
    public async Task AnUpsertFromARendererOnAWorker_DoesNotHang()
    {
        OmnichannelTestHost? self = null;
        Task? completion = null;
        var renderer = new CallbackRenderer(async ct =>
        {
            var backfill = await self!.Client.UpsertSegmentAsync(Gold(1), cancellationToken: ct);
            completion = backfill.Completion;
        });
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = 1; o.QueueCapacity = 1; },
            delivery: new DeliverySetup { Renderer = renderer }.AddTransport("rec", new RecordingTransport(ChannelNames.Email)));
        self = host;
        await host.TrackAsync("user.signed_up", [Known, Ann]);

        await host.Client.SendAsync(Known, Receipt("r-1", ChannelNames.Email)).AsTask().WaitAsync(Hang);
        if (completion is not null)
        {
            try
            {
                await completion.WaitAsync(Hang);
            }
            catch (InvalidOperationException ex)
            {
                Assert.Contains("deadlock", ex.Message);
            }
        }

        Assert.Equal(TrackStatus.Accepted, (await host.TrackAsync("page.viewed", [Known]).WaitAsync(Hang)).Status);
    }

    private sealed class CallbackRenderer(Func<CancellationToken, Task> before) : IMessageRenderer
    {
        public async ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
        {
            await before(cancellationToken);
            return await new StubMessageRenderer().RenderAsync(request, channel, address, profile, now, cancellationToken);
        }
    }

    // ---- Round-trip refusals ----

    [Theory]
    [InlineData("""{"id": "wait", "type": "delayUntilLocalTime", "localTime": "09:30:00.5"}""", "$.steps[0].localTime")]
    [InlineData("""{"id": "wait", "type": "delay", "duration": "PT0.5S"}""", "$.steps[0].duration")]
    [InlineData("""{"id": "wait", "type": "delay", "duration": "PT1,5S"}""", "$.steps[0].duration")]
    [InlineData("""{"id": "wait", "type": "delayUntilLocalTime", "localTime": "24:00"}""", "$.steps[0].localTime")]
    public void AJsonDefinitionWithAFractionOfASecond_IsRefusedWithItsPath(string step, string path)
    {
        var json = $$"""{"id": "w", "name": "W", "trigger": {"type": "event", "event": "page.viewed"}, "steps": [{{step}}, {"id": "done", "type": "exit"}]}""";

        var read = JourneyJson.Parse(json);

        Assert.False(read.IsValid);
        Assert.Contains(read.Errors, e => e.Path == path);
    }

    [Fact]
    public void ASegmentDurationWithAFraction_IsRefusedWithItsPath()
    {
        var read = SegmentJson.Parse("""{"id": "recent", "name": "Recent", "rule": {"lastEvent": "app.opened", "op": "withinLast", "value": "PT0.5S"}}""");

        Assert.False(read.IsValid);
        Assert.NotEmpty(read.Errors);
    }

    [Fact]
    public void ALocalTimeWithTicks_InCSharp_IsRefusedWithItsPath()
    {
        var ex = Assert.Throws<JourneyDefinitionException>(() => Journey.Define("w", "W").TriggeredBy(t => t.Event("page.viewed"))
            .Steps(s => s.DelayUntilLocalTime("wait", new TimeOnly(new TimeOnly(9, 30).Ticks + 1)).Exit("done")).Build());

        Assert.Contains(ex.Errors, e => e.Path == "$.steps[0].localTime" && e.Message.Contains("fraction", StringComparison.Ordinal));
    }

    // ---- Order re-dating ----

    private static readonly Identifier Her = Identifier.CustomerId("c-mr");
    private static readonly DateTimeOffset Placed = new(2026, 1, 4, 23, 55, 0, TimeSpan.Zero);

    private static async Task<List<(string, DateOnly, long, double)>> ConversionRows(OmnichannelTestHost host) =>
        (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = "conversion" }))
            .Where(r => r.Count != 0 || r.Sum != 0)
            .Select(r => (r.Key.Metric, r.Key.Day, r.Count, Math.Round(r.Sum, 6)))
            .OrderBy(r => r.Metric).ThenBy(r => r.Day).ToList();

    [Fact]
    public async Task AnOrdersOriginalArrivingAfterAnUpdateAndAReturn_CountsAsInOrder()
    {
        var events = new (string Type, object Props, DateTimeOffset At)[]
        {
            (EventTypes.OrderPlaced, new { order_id = "o-1", total = 20 }, Placed),
            (EventTypes.OrderPlaced, new { order_id = "o-1", total = 35 }, Placed.AddMinutes(10)),
            (EventTypes.OrderReturned, new { order_id = "o-1", total = 35 }, Placed.AddMinutes(20)),
        };

        await using var inOrder = OmnichannelTestHost.Create();
        foreach (var e in events)
        {
            await inOrder.TrackAsync(e.Type, [Her], e.Props, at: e.At);
        }

        await using var outOfOrder = OmnichannelTestHost.Create();
        foreach (var e in new[] { events[1], events[2], events[0] })
        {
            await outOfOrder.TrackAsync(e.Type, [Her], e.Props, at: e.At);
        }

        Assert.Equal(await ConversionRows(inOrder), await ConversionRows(outOfOrder));
    }

    [Fact]
    public async Task AnOrderResentWithTheSameInstant_CountsOnce()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.OrderPlaced, [Her], new { order_id = "o-1", total = 20 }, at: Placed);
        await host.TrackAsync(EventTypes.OrderPlaced, [Her], new { order_id = "o-1", total = 20 }, at: Placed);

        var rows = await ConversionRows(host);
        var row = Assert.Single(rows);
        Assert.Equal(1, row.Item3);
    }

    [Fact]
    public async Task OrdersWithoutAnOrderId_EachCount()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.OrderPlaced, [Her], new { total = 20 }, at: Placed.AddMinutes(10));
        await host.TrackAsync(EventTypes.OrderPlaced, [Her], new { total = 30 }, at: Placed);

        var rows = await ConversionRows(host);
        Assert.Equal(2, rows.Sum(r => r.Item3));
        Assert.Equal(50, rows.Sum(r => r.Item4), 6);
    }

    private static async Task<List<(string, string, DateOnly, long, double)>> AllRows(OmnichannelTestHost host) =>
        (await host.Engine.GetMeasurementsAsync(new MeasurementQuery()))
            .Where(r => r.Count != 0 || Math.Abs(r.Sum) > 1e-9)
            .Select(r => (r.Key.Metric, r.Key.JourneyId, r.Key.Day, r.Count, Math.Round(r.Sum, 6)))
            .OrderBy(r => r.Metric).ThenBy(r => r.Day).ThenBy(r => r.JourneyId).ToList();

    [Theory]
    [InlineData(0, 1, 2)]
    [InlineData(0, 2, 1)]
    [InlineData(1, 0, 2)]
    [InlineData(1, 2, 0)]
    [InlineData(2, 0, 1)]
    [InlineData(2, 1, 0)]
    public async Task AClickedOrderUpdatedAndReturnedAcrossMidnight_MeasuresTheSame_WhateverTheArrivalOrder(int a, int b, int c)
    {
        var events = new (string Type, object Props, DateTimeOffset At)[]
        {
            (EventTypes.OrderPlaced, new { order_id = "o-1", total = 20 }, Placed),
            (EventTypes.OrderPlaced, new { order_id = "o-1", total = 35 }, Placed.AddMinutes(10)),
            (EventTypes.OrderReturned, new { order_id = "o-1", total = 35 }, Placed.AddDays(1)),
        };
        var click = new { message_id = "m-1", channel = "email", journey_id = "j" };

        await using var inOrder = OmnichannelTestHost.Create(start: Placed.AddDays(3));
        await inOrder.TrackAsync(EventTypes.MessageClicked, [Her], click, at: Placed.AddMinutes(-30));
        foreach (var e in events)
        {
            await inOrder.TrackAsync(e.Type, [Her], e.Props, at: e.At);
        }

        await using var shuffled = OmnichannelTestHost.Create(start: Placed.AddDays(3));
        await shuffled.TrackAsync(EventTypes.MessageClicked, [Her], click, at: Placed.AddMinutes(-30));
        foreach (var i in new[] { a, b, c })
        {
            await shuffled.TrackAsync(events[i].Type, [Her], events[i].Props, at: events[i].At);
        }

        Assert.Equal(await AllRows(inOrder), await AllRows(shuffled));
    }

    [Fact]
    public async Task ThreeCopiesOfAnOpen_ArrivingNewestFirst_CountOnceOnTheEarliestDay()
    {
        await using var host = OmnichannelTestHost.Create(start: Placed.AddDays(3));
        var message = new { message_id = "m-1", channel = "email", journey_id = "j" };
        await host.TrackAsync(EventTypes.MessageOpened, [Her], message, at: Placed.AddDays(2));
        await host.TrackAsync(EventTypes.MessageOpened, [Her], message, at: Placed.AddDays(1));
        await host.TrackAsync(EventTypes.MessageOpened, [Her], message, at: Placed);
        await host.TrackAsync(EventTypes.MessageOpened, [Her], message, at: Placed.AddDays(1)); // a retry of the middle one

        var rows = (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j", MetricPrefix = "opened" }))
            .Where(r => r.Key.Metric == "opened" && r.Count != 0).ToList();
        var row = Assert.Single(rows);
        Assert.Equal((DateOnly.FromDateTime(Placed.UtcDateTime), 1L), (row.Key.Day, row.Count));
    }

    [Fact]
    public async Task ASentCopyNamingAnotherChannel_ArrivingEarlier_LeavesOneSentRow()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.MessageSent, [Her], new { message_id = "m-1", channel = "sms", journey_id = "j" }, at: Placed.AddMinutes(10));
        await host.TrackAsync(EventTypes.MessageSent, [Her], new { message_id = "m-1", channel = "email", journey_id = "j" }, at: Placed);

        var rows = (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j", MetricPrefix = "sent" }))
            .Where(r => r.Key.Metric == "sent" && r.Count != 0).ToList();
        var row = Assert.Single(rows); // was: sms 01-05 +1, email 01-05 -1, email 01-04 +1
        Assert.Equal(("email", DateOnly.FromDateTime(Placed.UtcDateTime), 1L), (row.Key.Channel, row.Key.Day, row.Count));
    }
}
