using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Testing.Tests;

/// <summary>
/// Audit U69: the test kit as shop developers use it, drawing on public reports about comparable kits
/// (FakeTimeProvider timers and time-outs, MassTransit's harness, Orleans TestCluster, WebApplicationFactory).
/// Each test is written as a shop's own test would be.
/// </summary>
public sealed class AuditU69TestKitTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private static IServiceCollection AddCartShop(IServiceCollection services)
    {
        services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
            .UseTemplates(new InMemoryTemplateSource(
                new TemplateDocument("cart-reminder", [TemplateVariant.Email("You left something behind", "<p>Your cart is waiting.</p>")]),
                new TemplateDocument("birthday", [TemplateVariant.Email("Happy birthday", "<p>A gift for you.</p>")])))
            .AddJourney(Journey.Define("abandoned-cart", "Abandoned cart")
                .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .CorrelatedBy("cart_id")
                .ExitOn(EventTypes.OrderPlaced)
                .Steps(s => s.Delay("wait-1h", "PT1H").Send("reminder", [ChannelNames.Email], "cart-reminder", topic: "cart"))
                .Build())
            .AddJourney(Journey.Define("birthday", "Birthday")
                .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(9, 0), annual: true))
                .Steps(s => s.Send("wish", [ChannelNames.Email], "birthday", topic: "birthday"))
                .Build());
        return services;
    }

    private static async Task SubscribedAsync(OmnichannelTestHost host, Identifier who, EventContext? context = null) =>
        await host.TrackAsync(EventTypes.ConsentChanged, [who], new { channel = "email", granted = true }, context: context);

    // MassTransit harness reports: a second message of the same conversation doubles the consumer's work. Two items
    // added to one cart during the wait, the clock advanced in small steps and then far past: one reminder, at 1 h.
    [Fact]
    public async Task AnAbandonedCart_TwoItemsThenTheClockInSteps_ExactlyOneReminder_AtTheHour()
    {
        await using var host = OmnichannelTestHost.Create(s => AddCartShop(s));
        await SubscribedAsync(host, Ann);
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "tower-xl" });
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "scratcher" });

        for (var i = 0; i < 5; i++)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(9));
        }

        Assert.Empty(host.Sent.Messages); // 55 minutes after the first item
        await host.AdvanceAsync(TimeSpan.FromMinutes(5));
        var reminder = Assert.Single(host.Sent.SentTo("ann@example.com"));
        Assert.Equal("You left something behind", Assert.IsType<EmailMessage>(reminder).Subject);

        await host.AdvanceAsync(TimeSpan.FromDays(3));
        Assert.Single(host.Sent.Messages);
        Assert.Empty(host.Sent.DuplicateMessageIds);
    }

    // FakeTimeProvider reports: the fake clock's zone is UTC while the code under test expects local time, and a
    // schedule computed with the offset at planning time is an hour off after a DST change. Her birthday is 30 March;
    // Berlin moves to summer time on 29 March 2026, ten days after the test starts in winter time.
    [Fact]
    public async Task ABirthdayWish_AtNineLocal_InBerlin_AcrossTheSpringChange_GoesAtSevenUtc()
    {
        await using var host = OmnichannelTestHost.Create(s => AddCartShop(s),
            new OmnichannelTestHostOptions { Start = new DateTimeOffset(2026, 3, 20, 12, 0, 0, TimeSpan.Zero) });
        var berlin = new EventContext { TimeZone = "Europe/Berlin" };
        await SubscribedAsync(host, Ann, berlin);
        await host.TrackAsync("user.signed_up", [Ann], traits: new { birthday = "--03-30" }, context: berlin);

        await host.AdvanceToAsync(new DateTimeOffset(2026, 3, 30, 7, 0, 0, TimeSpan.Zero).AddTicks(-1)); // 08:59:59.9999999 CEST
        Assert.Empty(host.Sent.Messages);

        await host.AdvanceAsync(TimeSpan.FromTicks(1));
        Assert.Equal("Happy birthday", Assert.IsType<EmailMessage>(Assert.Single(host.Sent.SentTo("ann@example.com"))).Subject);
        Assert.Equal(new DateTimeOffset(2026, 3, 30, 7, 0, 0, TimeSpan.Zero), host.Time.GetUtcNow());

        // The next year's wish, in summer time again, once.
        await host.AdvanceToAsync(new DateTimeOffset(2027, 3, 30, 7, 0, 0, TimeSpan.Zero));
        Assert.Equal(2, host.Sent.SentTo("ann@example.com").Count);
    }

    // A hung provider, simulated with the kit's own FailingTransport.TimeOut, through the documented AdvanceAsync: the
    // send time-out runs on the fake clock, so the clock must move past it for the attempt to end (FakeTimeProvider
    // reports: Task.Delay / WaitAsync on a fake clock never completes unless someone advances it).
    [Fact]
    public async Task AHungProvider_IsTimedOutByAdvancingTheClock_AndTheMessageGoesOnTheRetry()
    {
        var provider = new FailingTransport(ChannelNames.Email).TimeOut(1);
        await using var host = OmnichannelTestHost.Create(
            s => AddCartShop(s).AddOmnichannel(o =>
            {
                o.Delivery.Retry = null;
                o.Delivery.SendTimeout = TimeSpan.FromSeconds(10);
                o.Delivery.RetryDelay = TimeSpan.FromMinutes(1);
            }).AddTransport("provider", ChannelNames.Email, _ => provider),
            new OmnichannelTestHostOptions { RecordTransports = false });
        await SubscribedAsync(host, Ann);
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "tower-xl" });

        // Bounded in real time only so that a regression fails instead of hanging the run.
        await host.AdvanceAsync(TimeSpan.FromHours(1)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, provider.TimeOuts);
        Assert.Empty(provider.Recorder!.Messages);

        await host.AdvanceAsync(TimeSpan.FromMinutes(2)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Single(provider.Recorder!.SentTo("ann@example.com"));
    }

    // Orleans TestCluster / MassTransit reports: metrics read by a test include another test's work when the meter is
    // process-wide. Two hosts in parallel; a listener scoped to one host's meter factory sees only that host's send.
    [Fact]
    public async Task TwoHostsInParallel_EachHostsMetrics_CountOnlyItsOwnSends()
    {
        await using var quiet = OmnichannelTestHost.Create(s => AddCartShop(s));
        await using var busy = OmnichannelTestHost.Create(s => AddCartShop(s));
        var factory = quiet.Services!.GetRequiredService<IMeterFactory>();
        Assert.NotSame(factory, busy.Services!.GetRequiredService<IMeterFactory>());
        long quietMessages = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Name == "omnichannel.messages")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref quietMessages, value));
        listener.Start();

        await Task.WhenAll(
            Task.Run(async () =>
            {
                await SubscribedAsync(busy, Ann);
                await busy.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "tower-xl" });
                await busy.AdvanceAsync(TimeSpan.FromHours(1));
            }),
            Task.Run(async () =>
            {
                await SubscribedAsync(quiet, Ann);
                await quiet.AdvanceAsync(TimeSpan.FromHours(1));
            }));

        Assert.Single(busy.Sent.Messages);
        Assert.Empty(quiet.Sent.Messages);
        Assert.Equal(0, Interlocked.Read(ref quietMessages));
    }
    // xUnit / WebApplicationFactory reports: a test that fails midway hangs in its disposal, and the run shows a hang
    // instead of the assertion. Here the provider hangs and the test stops before moving the clock past the time-out.
    [Fact]
    public async Task ATestThatStopsWhileASendHangs_DisposesItsHost_WithoutHanging()
    {
        var provider = new FailingTransport(ChannelNames.Email).TimeOut(1);
        var host = OmnichannelTestHost.Create(
            s => AddCartShop(s).AddOmnichannel(o => o.Delivery.Retry = null).AddTransport("provider", ChannelNames.Email, _ => provider),
            new OmnichannelTestHostOptions { RecordTransports = false });
        await SubscribedAsync(host, Ann);
        await host.TrackAsync(EventTypes.CartItemAdded, [Ann], new { cart_id = "c1", product_id = "tower-xl" });
        await host.AdvanceAsync(TimeSpan.FromHours(1)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, provider.TimeOuts); // the send is in flight: its 30 s time-out is after the clock's instant

        // Bounded in real time only so that a regression fails instead of hanging the run.
        await host.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Empty(provider.Recorder!.Messages);
    }

    // What a test that forgot something is told: no templates, no transport (with the recorders off). Both say what to call.
    [Fact]
    public async Task ATestThatForgetsTheTemplatesOrTheTransport_IsToldOnTheTimelineWhatToCall()
    {
        var journey = Journey.Define("welcome", "Welcome").TriggeredBy(t => t.Event("user.signed_up"))
            .Steps(x => x.Send("mail", [ChannelNames.Email], "welcome", topic: "news")).Build();
        await using (var noTemplates = OmnichannelTestHost.Create(s => s.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>").AddJourney(journey)))
        {
            await SubscribedAsync(noTemplates, Ann);
            await noTemplates.TrackAsync("user.signed_up", [Ann]);
            var skipped = Assert.Single((await noTemplates.ProfileAsync(Ann)).Timeline, t => t.Type == "message.skipped");
            Assert.Contains("call UseTemplates(source)", skipped.Summary, StringComparison.Ordinal);
        }

        await using var noTransport = OmnichannelTestHost.Create(
            s => s.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
                .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("welcome", [TemplateVariant.Email("Hi", "<p>Hi</p>")])))
                .AddJourney(journey),
            new OmnichannelTestHostOptions { RecordTransports = false });
        await SubscribedAsync(noTransport, Ann);
        await noTransport.TrackAsync("user.signed_up", [Ann]);
        var failed = Assert.Single((await noTransport.ProfileAsync(Ann)).Timeline, t => t.Type == "message.failed");
        Assert.Contains("register one with AddTransport(name, \"email\", ...)", failed.Summary, StringComparison.Ordinal);
    }
}
