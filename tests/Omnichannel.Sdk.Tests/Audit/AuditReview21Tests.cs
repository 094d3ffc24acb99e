using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Omnichannel.Sdk.Tests.Journeys;
using Omnichannel.Sdk.Tests.Templates;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of the twenty-first session's changes: an event trigger's maxAge, a batch's order across partitions, numbers and engine errors in templates.</summary>
public sealed class AuditReview21Tests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);
    private static readonly Identifier Ann = Identifier.CustomerId("ann-r21");
    private static readonly Identifier AnnMail = Identifier.Email("ann-r21@example.com");

    private static JourneyDefinition Cart(string extra = "", string entry = "") => JourneyRig.Parse($$"""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"{{extra}}},
         {{entry}}
         "exit": [{"event": "order.placed"}],
         "steps": [{"id": "wait", "type": "delay", "duration": "PT1H"},
                   {"id": "mail", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
        """);

    private static async Task<JourneyRig> SignedUpAsync(JourneyDefinition journey, DateTimeOffset? start = null)
    {
        var rig = JourneyRig.Create([journey], start: start);
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        return rig;
    }

    // ---- maxAge ----

    [Fact]
    public async Task AFutureDatedCart_StartsTheJourney()
    {
        await using var rig = await SignedUpAsync(Cart());
        var r = await rig.Host.TrackAsync("cart.item_added", [Ann], new { product_id = "p" }, at: rig.Host.Time.GetUtcNow().AddMinutes(4));
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:cart"], rig.Sent());
    }

    [Theory]
    [InlineData(0, true)] // Jan 31 + P1M is Feb 28 (the month's last day): exactly as old as maxAge
    [InlineData(1, false)]
    public async Task AMonthlyMaxAge_AcrossAShortMonth_IsCalendarInclusive(int secondsOlder, bool sent)
    {
        var start = new DateTimeOffset(2027, 2, 28, 10, 0, 0, TimeSpan.Zero);
        await using var rig = await SignedUpAsync(Cart(", \"maxAge\": \"P1M\""), start);
        var r = await rig.Host.TrackAsync("cart.item_added", [Ann], new { product_id = "p" }, at: new DateTimeOffset(2027, 1, 31, 10, 0, 0, TimeSpan.Zero).AddSeconds(-secondsOlder));
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(sent ? ["email:cart"] : [], rig.Sent());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnOldCart_InTheSameBatchOrRunAsAFreshOne_LeavesNoEntryBehind_ReEntryNever(bool freshFirst)
    {
        await using var rig = await SignedUpAsync(Cart(entry: "\"entry\": {\"reEntry\": \"never\", \"correlationKey\": \"cart_id\"},"));
        var now = rig.Host.Time.GetUtcNow();
        var old = rig.Host.Event("cart.item_added", [Ann], new { product_id = "p", cart_id = "c1" }) with { Id = "old-cart", Timestamp = now.AddDays(-30) };
        var fresh = rig.Host.Event("cart.item_added", [Ann], new { product_id = "p", cart_id = "c1" }) with { Id = "fresh-cart", Timestamp = now.AddMinutes(-5) };
        var results = await rig.Host.Client.TrackBatchAsync(freshFirst ? [fresh, old] : [old, fresh]);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));

        Assert.Equal(["email:cart"], rig.Sent());
        var stats = await rig.Engine.GetJourneyStatisticsAsync("cart");
        Assert.Equal(1, stats.Entered);
    }

    [Fact]
    public async Task AnOldCartThatMergesTwoProfiles_StartsNothing_AndAFreshOneAfterStillDoes()
    {
        await using var rig = await SignedUpAsync(Cart());
        var visitor = Identifier.AnonymousId("anon-r21");
        await rig.TrackAsync("page.viewed", [visitor], new { url = "https://shop.example/" });
        var r = await rig.Host.TrackAsync("cart.item_added", [Ann, visitor], new { product_id = "p" }, at: rig.Host.Time.GetUtcNow().AddDays(-3));
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Empty(rig.Sent());

        await rig.TrackAsync("cart.item_added", [visitor], new { product_id = "q" });
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:cart"], rig.Sent());
    }

    [Fact]
    public async Task AJourneyPublishedAtRunTime_WithABuilderMaxAge_IsHeldToIt()
    {
        await using var rig = await SignedUpAsync(Cart(", \"maxAge\": null"));
        var journey = Cart() with { Version = 2, Trigger = new EventTrigger("cart.item_added") { MaxAge = IsoDuration.FromTime(TimeSpan.FromHours(4)) } };
        await rig.Engine.PublishJourneyAsync(journey);

        var now = rig.Host.Time.GetUtcNow();
        await rig.Host.TrackAsync("cart.item_added", [Ann], new { product_id = "p" }, at: now.AddHours(-5));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Empty(rig.Sent());
        await rig.Host.TrackAsync("cart.item_added", [Ann], new { product_id = "q" }, at: rig.Host.Time.GetUtcNow().AddHours(-3));
        await rig.AdvanceAsync(TimeSpan.FromHours(2));
        Assert.Equal(["email:cart"], rig.Sent());
    }

    [Fact]
    public void ATriggerWithoutALimit_StillDrawsAsMermaid()
    {
        Assert.Contains("cart.item_added", JourneyMermaid.ToFlowchart(Cart(", \"maxAge\": null")), StringComparison.Ordinal);
    }

    // ---- a batch's order across partitions ----

    private static List<CustomerEvent> Chain(OmnichannelTestHost host, int n)
    {
        // Each event shares an anonymous id with the one before it under another customer id: every one waits for the last.
        var events = new List<CustomerEvent>(n);
        for (var i = 0; i < n; i++)
        {
            events.Add(host.Event("page.viewed", [Identifier.CustomerId($"u{i % 7}"), Identifier.AnonymousId($"a{i / 2}")], new { url = "https://shop.example/" }) with { Id = $"chain-{i}" });
        }

        return events;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 1)]
    [InlineData(16, 2)]
    public async Task ALinkedBatch_OnTinyQueues_Completes(int partitions, int capacity)
    {
        await using var host = OmnichannelTestHost.Create(o => { o.Partitions = partitions; o.QueueCapacity = capacity; });
        var results = await host.Client.TrackBatchAsync(Chain(host, 300)).WaitAsync(Hang);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
    }

    [Fact]
    public async Task AnEarlierEventWhoseCommitFails_DoesNotHoldBackTheLinkedOnes()
    {
        var store = new FlakyStore(new Storage.InMemoryOmnichannelStore()) { FailCommitsFor = "user.signed_up" };
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 8, store: store);
        var batch = new List<CustomerEvent>();
        for (var i = 0; i < 20; i++)
        {
            batch.Add(host.Event("user.signed_up", [Identifier.CustomerId($"f{i}"), Identifier.AnonymousId($"fa{i}")]) with { Id = $"su-{i}" });
            batch.Add(host.Event("page.viewed", [Identifier.AnonymousId($"fa{i}"), Identifier.Email($"f{i}@example.com")], new { url = "https://shop.example/" }) with { Id = $"pv-{i}" });
        }

        var results = await host.Client.TrackBatchAsync(batch).WaitAsync(Hang);
        Assert.Equal(40, results.Count);
        Assert.All(results.Where((_, i) => i % 2 == 1), r => Assert.Equal(TrackStatus.Accepted, r.Status));
    }

    [Fact]
    public async Task ABatchCancelledWhileWaitingForALinkedEvent_IsAppliedWhole_AndTheNextBatchRuns()
    {
        var store = new FlakyStore(new Storage.InMemoryOmnichannelStore());
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 16, store: store);
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("held"), Identifier.AnonymousId("held-a")]);
        var profileId = (await host.ProfileAsync(Identifier.CustomerId("held"))).Id;
        store.HoldLoadOf = profileId;

        // Each later event carries "held" but is routed by its other customer id, almost always to another partition: it waits.
        using var cts = new CancellationTokenSource();
        var batch = new List<CustomerEvent> { host.Event("page.viewed", [Identifier.CustomerId("held")], new { url = "https://shop.example/1" }) with { Id = "h-1" } };
        for (var i = 0; i < 50; i++)
        {
            batch.Add(host.Event("page.viewed", [Identifier.CustomerId($"other-{i}"), Identifier.CustomerId("held")], new { url = "https://shop.example/2" }) with { Id = $"h-o-{i}" });
        }

        var running = host.Client.TrackBatchAsync(batch, cts.Token);
        await store.LoadWaiting.Task.WaitAsync(Hang);
        cts.Cancel();
        // Audit U29: a worker started the batch, so it is applied whole and reported, not "cancelled" half done.
        Assert.False(running.IsCompleted);
        store.LoadRelease.TrySetResult();
        Assert.All(await running.WaitAsync(Hang), r => Assert.Equal(TrackStatus.Accepted, r.Status));

        var next = await host.Client.TrackBatchAsync([host.Event("page.viewed", [Identifier.CustomerId("after")], new { url = "https://shop.example/3" }) with { Id = "after-1" }]).WaitAsync(Hang);
        Assert.Equal(TrackStatus.Accepted, Assert.Single(next).Status);
    }

    [Fact]
    public async Task AnEngineDisposedWhileABatchWaitsForALinkedEvent_EndsTheBatch_AndDisposes()
    {
        var store = new FlakyStore(new Storage.InMemoryOmnichannelStore());
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 16, store: store);
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("held")]);
        store.HoldLoadOf = (await host.ProfileAsync(Identifier.CustomerId("held"))).Id;
        var batch = new List<CustomerEvent> { host.Event("page.viewed", [Identifier.CustomerId("held")], new { url = "https://shop.example/1" }) with { Id = "d-1" } };
        for (var i = 0; i < 50; i++)
        {
            batch.Add(host.Event("page.viewed", [Identifier.CustomerId($"d-other-{i}"), Identifier.CustomerId("held")], new { url = "https://shop.example/2" }) with { Id = $"d-o-{i}" });
        }

        var running = host.Client.TrackBatchAsync(batch);
        await store.LoadWaiting.Task.WaitAsync(Hang);
        var disposing = host.Engine.DisposeAsync().AsTask();
        store.LoadRelease.TrySetResult();

        await disposing.WaitAsync(Hang);
        var ended = await Record.ExceptionAsync(() => running.WaitAsync(Hang));
        Assert.True(ended is null or ObjectDisposedException, ended?.ToString());
    }

    [Fact]
    public async Task OneKnownPersonsCartByEmail_ThenHerOrderByCustomerId_InOneBatch_LeaveNoCart()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 64);
        var batch = new List<CustomerEvent>();
        var now = host.Time.GetUtcNow();
        for (var i = 0; i < 40; i++)
        {
            await host.TrackAsync("user.signed_up", [Identifier.CustomerId($"k{i}"), Identifier.Email($"k{i}@example.com")], at: now.AddHours(-1));
            batch.Add(host.Event("cart.item_added", [Identifier.Email($"k{i}@example.com")], new { product_id = "p", price = 5 }) with { Id = $"kc-{i}", Timestamp = now });
            batch.Add(host.Event("order.placed", [Identifier.CustomerId($"k{i}")], new { order_id = $"ko-{i}", total = 5, currency = "EUR", items = new[] { new { product_id = "p", quantity = 1, price = 5 } } }) with { Id = $"ko-{i}", Timestamp = now });
        }

        var results = await host.Client.TrackBatchAsync(batch).WaitAsync(Hang);
        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        var left = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            if ((await host.ProfileAsync(Identifier.CustomerId($"k{i}"))).Cart.Count > 0)
            {
                left.Add($"k{i}");
            }
        }

        Assert.Empty(left);
    }

    // ---- templates ----

    [Theory]
    [InlineData("line\n{% capture c %}x{% endcapture (99:99) %}", 2, 17)]
    [InlineData("a\nb\n{% for i in (1..2) %}{% endfor (5:5) %}", 3, 22)]
    public void AnEngineErrorWithAPositionLikeTextInTheTag_IsReportedAtTheEnginesPosition(string source, int line, int column)
    {
        var error = Assert.Single(TemplateTestData.Validate(source));
        Assert.Equal((line, column), (error.Line, error.Column));
    }

    [Fact]
    public void DoublesAtTheEdges_PrintAsTheirValue()
    {
        var context = TemplateTestData.Context() with
        {
            Journey = new Dictionary<string, object?> { ["big"] = 7.8999e28, ["negzero"] = -0.0, ["tiny"] = double.Epsilon, ["price"] = 12.5, ["past"] = -7.95e28 },
        };
        var body = TemplateTestData.RenderSms("{{ journey.big }}|{{ journey.negzero }}|{{ journey.tiny }}|{{ journey.price | times: 2 }}|{{ journey.past }}", context);
        Assert.Equal("78999000000000000000000000000|0|0|25|-7.95E+28", body.Replace("25.0|", "25|", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("line one\nline two\n{% capture c %}x{% endcapture | nofilter %}", 3)]
    [InlineData("line one\r\nline two\r\n{% capture c %}x{% endcapture | nofilter %}", 3)]
    public void AnEngineOnlyErrorInATextPart_IsReportedOnItsLine_WithoutTheSource(string source, int line)
    {
        var errors = TemplateTestData.Validate(source);
        var error = Assert.Single(errors);
        Assert.Equal(TemplateErrorKind.Syntax, error.Kind);
        Assert.Equal(line, error.Line);
        Assert.InRange(error.Column, 1, 60);
        Assert.DoesNotContain("Source:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("line one", error.Message, StringComparison.Ordinal);
    }
}
