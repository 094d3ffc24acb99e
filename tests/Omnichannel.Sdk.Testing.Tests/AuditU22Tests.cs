using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Testing.Tests;

/// <summary>
/// Audit U22: bug classes from public reports about test kits (MassTransit's harness, Orleans TestCluster, NServiceBus
/// testing, Quartz, FakeTimeProvider, WireMock.Net), each as what a serious user of <see cref="OmnichannelTestHost"/>
/// would expect.
/// </summary>
public sealed class AuditU22Tests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    private static OmnichannelTestHost Host(Func<JourneyStepsBuilder, JourneyStepsBuilder> steps, string body = "<p>Hi</p>", DateTimeOffset? start = null) =>
        OmnichannelTestHost.Create(
            services => services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
                .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("mail", [TemplateVariant.Email("Hello", body)])))
                .AddJourney(Journey.Define("j", "J").TriggeredBy(t => t.Event("go")).Steps(steps).Build()),
            new OmnichannelTestHostOptions { Start = start });

    private static async Task Consent(OmnichannelTestHost host, Identifier who) =>
        await host.TrackAsync(EventTypes.ConsentChanged, [who], new { channel = "email", granted = true });

    // MassTransit/Quartz: a scheduled step that schedules another one is not run by one advance of the clock.
    [Fact]
    public async Task AWaitThatSchedulesAnotherWait_OneAdvancePastBoth_SendsOnce_AndNotBefore()
    {
        await using var host = Host(s => s.Delay("first", "PT1H").Delay("second", "PT1H").Send("mail", [ChannelNames.Email], "mail", topic: "news"));
        await Consent(host, Ann);
        await host.TrackAsync("go", [Ann]);

        await host.AdvanceAsync(TimeSpan.FromMinutes(119));
        Assert.Empty(host.Sent.Messages);
        Assert.Contains((await host.ProfileAsync(Ann)).Timeline, t => t.Type == "journey.waiting");

        await host.AdvanceAsync(TimeSpan.FromHours(5));
        Assert.Single(host.Sent.SentTo("ann@example.com"));
    }

    // Polly/Hangfire: a retry scheduled after a transient failure is not run by advancing the fake clock.
    [Fact]
    public async Task ATransientFailure_IsRetriedWhenTheClockIsAdvancedPastTheRetryDelay_OnceOnly()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var flaky = new FailingTransport(email).FailTransiently(5); // three tries in the first attempt, two in the next
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("flaky", flaky));
        await host.TrackAsync("user.signed_up", [Ann]);
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "k1", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });

        await host.AdvanceAsync(TimeSpan.Zero);
        Assert.Empty(email.Messages);
        Assert.Equal(3, flaky.Attempts);

        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.Single(email.SentTo("ann@example.com"));
        Assert.Equal(6, flaky.Attempts);
        Assert.Empty(email.DuplicateMessageIds);
    }

    // FakeTimeProvider: a timer due exactly at the advanced instant fires (or not) depending on the comparison.
    [Fact]
    public async Task QuietHoursEnding_ExactlyAtTheAdvancedInstant_Sends_AndOneTickBeforeDoesNot()
    {
        var start = new DateTimeOffset(2026, 1, 5, 22, 0, 0, TimeSpan.Zero);
        await using var host = Host(s => s.Send("mail", [ChannelNames.Email], "mail", topic: "news"), start: start);
        await Consent(host, Ann);
        await host.TrackAsync("go", [Ann]);
        Assert.Empty(host.Sent.Messages);

        await host.AdvanceToAsync(new DateTimeOffset(2026, 1, 6, 8, 0, 0, TimeSpan.Zero).AddTicks(-1));
        Assert.Empty(host.Sent.Messages);

        await host.AdvanceAsync(TimeSpan.FromTicks(1));
        Assert.Single(host.Sent.SentTo("ann@example.com"));
        Assert.Equal(new DateTimeOffset(2026, 1, 6, 8, 0, 0, TimeSpan.Zero), host.Time.GetUtcNow());
    }

    // FakeTimeProvider keeps the offset it was given: GetUtcNow() then answers a local time, which production never does.
    [Fact]
    public async Task AStartGivenWithAnOffset_IsTheSameInstant_AndTheClockAnswersUtc_AsTheSystemClockDoes()
    {
        // 22:30 in Athens is 20:30 UTC: outside quiet hours (21:00-08:00 UTC, her default zone), so the mail goes at once.
        var start = new DateTimeOffset(2026, 1, 5, 22, 30, 0, TimeSpan.FromHours(2));
        await using var host = Host(s => s.Send("mail", [ChannelNames.Email], "mail", topic: "news"), start: start);
        await using var bare = OmnichannelTestHost.Create(start: start);

        Assert.Equal(TimeSpan.Zero, host.Time.GetUtcNow().Offset);
        Assert.Equal(TimeSpan.Zero, bare.Time.GetUtcNow().Offset);
        Assert.Equal(start, host.Time.GetUtcNow());
        Assert.Equal(new DateTime(2026, 1, 5, 20, 30, 0), host.Time.GetUtcNow().DateTime);
        Assert.Equal(TimeSpan.Zero, host.Event("x", [Ann]).Timestamp.Offset);

        await Consent(host, Ann);
        await host.TrackAsync("go", [Ann]);
        Assert.Single(host.Sent.SentTo("ann@example.com"));

        // Moved to an instant written in New York time: the same instant, answered in UTC.
        var later = new DateTimeOffset(2026, 1, 5, 18, 0, 0, TimeSpan.FromHours(-5));
        await host.AdvanceToAsync(later);
        await bare.AdvanceToAsync(later);
        Assert.Equal(later, host.Time.GetUtcNow());
        Assert.Equal(TimeSpan.Zero, host.Time.GetUtcNow().Offset);
        Assert.Equal(TimeSpan.Zero, bare.Time.GetUtcNow().Offset);
    }

    // A back-dated trigger: a delay counts from when the journey reaches it (as in production, so a catch-up is neither
    // lost nor a burst), not from the event's time; the timeline says until when, and one advance sends it.
    [Fact]
    public async Task ABackdatedTrigger_ItsDelayCountsFromTheEntry_TheTimelineSaysUntilWhen_AndOneAdvanceSends()
    {
        await using var host = Host(s => s.Delay("wait", "PT1H").Send("mail", [ChannelNames.Email], "mail", topic: "news"));
        await Consent(host, Ann);

        await host.TrackAsync("go", [Ann], at: host.Time.GetUtcNow().AddHours(-2));

        Assert.Empty(host.Sent.Messages);
        Assert.Contains((await host.ProfileAsync(Ann)).Timeline, t => t.Type == "journey.waiting" && t.Summary!.Contains("until 2026-01-05 10:00:00Z", StringComparison.Ordinal));
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Single(host.Sent.SentTo("ann@example.com"));
    }

    // Someone moved the FakeTimeProvider by hand: the next AdvanceAsync must still leave everything due sent.
    [Fact]
    public async Task TheClockMovedByHand_ThenAdvanceAsyncZero_LeavesEverythingDueSent()
    {
        await using var host = Host(s => s.Delay("wait", "PT1H").Send("mail", [ChannelNames.Email], "mail", topic: "news"));
        await Consent(host, Ann);
        await host.TrackAsync("go", [Ann]);

        host.Time.Advance(TimeSpan.FromHours(2));
        await host.AdvanceAsync(TimeSpan.Zero);

        Assert.Single(host.Sent.SentTo("ann@example.com"));
        Assert.Empty(host.Sent.DuplicateMessageIds);
    }

    // MassTransit's harness: a "sent" list that is a live view changes under an assertion made earlier.
    [Fact]
    public async Task WhatATestReadFromSent_IsASnapshot_NotChangedByLaterSends_AndClearEmptiesOnlyTheLog()
    {
        await using var host = Host(s => s.Send("mail", [ChannelNames.Email], "mail", @class: MessageClass.Transactional));
        var bob = Identifier.Email("bob@example.com");
        await host.TrackAsync("go", [Ann]);
        var before = host.Sent.Messages;
        var records = host.Sent.Records;

        await host.TrackAsync("go", [bob]);

        Assert.Single(before);
        Assert.Single(records);
        Assert.Equal(2, host.Sent.Messages.Count);
        host.Sent.Clear();
        Assert.Single(before);
        Assert.Empty(host.Sent.Messages);
    }

    // Orleans TestCluster/NServiceBus: two hosts in one process from the same registration share a recorder or a clock.
    [Fact]
    public async Task TwoHostsFromTheSameRegistration_InParallel_SeeOnlyTheirOwnSends_AndClocks()
    {
        async Task<(int Sent, DateTimeOffset Now)> Run(string address, int hours)
        {
            await using var host = Host(s => s.Delay("wait", "PT1H").Send("mail", [ChannelNames.Email], "mail", @class: MessageClass.Transactional, next: "wait"));
            await host.TrackAsync("go", [Identifier.Email(address)]);
            await host.AdvanceAsync(TimeSpan.FromHours(hours));
            Assert.All(host.Sent.Messages, m => Assert.Equal(address, Assert.IsType<EmailMessage>(m).To));
            return (host.Sent.Messages.Count, host.Time.GetUtcNow());
        }

        var results = await Task.WhenAll(Task.Run(() => Run("ann@example.com", 5)), Task.Run(() => Run("bob@example.com", 9)));

        Assert.Equal(5, results[0].Sent);
        Assert.Equal(9, results[1].Sent);
        Assert.Equal(OmnichannelTestHost.DefaultStart.AddHours(5), results[0].Now);
        Assert.Equal(OmnichannelTestHost.DefaultStart.AddHours(9), results[1].Now);
    }

    // Async dispose twice (an explicit DisposeAsync inside `await using`) must not throw; a disposed host refuses work.
    [Fact]
    public async Task DisposingTwice_IsHarmless_AndADisposedHostRefusesNewEvents()
    {
        var host = Host(s => s.Delay("wait", "PT1H").Send("mail", [ChannelNames.Email], "mail", @class: MessageClass.Transactional));
        await host.TrackAsync("go", [Ann]);

        await host.DisposeAsync();
        await host.DisposeAsync();

        await Assert.ThrowsAnyAsync<Exception>(() => host.TrackAsync("go", [Ann]));
    }

    // Culture: a CI agent in Turkey or Thailand changes case folding and calendars.
    [Theory]
    [InlineData("tr-TR")]
    [InlineData("th-TH")]
    [InlineData("ar-SA")]
    public async Task ATestMachineInAnotherCulture_SendsAndFindsTheSameMessages(string culture)
    {
        var saved = CultureInfo.CurrentCulture;
        var savedUi = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(culture);
            await using var host = Host(
                s => s.Send("mail", [ChannelNames.Email], "mail", @class: MessageClass.Transactional),
                body: "<p>{{ now | date: '%Y-%m-%d' }}</p>");
            await host.TrackAsync("go", [Identifier.Email("INFO@EXAMPLE.COM")]);

            var mail = Assert.IsType<EmailMessage>(Assert.Single(host.Sent.SentTo("info@example.com")));
            Assert.Contains("2026-01-05", mail.HtmlBody, StringComparison.Ordinal);
            Assert.Contains("2026-01-05T09:00:00.0000000+00:00",
                (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => host.AdvanceAsync(TimeSpan.FromSeconds(-1)))).Message, StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
            CultureInfo.CurrentUICulture = savedUi;
        }
    }

    // The failure of a wrong test: it says what was wrong, and does not dump the customer's data.
    [Fact]
    public async Task ARejectedEvent_SaysWhichFieldAndWhy_WithoutEchoingTheValue()
    {
        await using var host = Host(s => s.Send("mail", [ChannelNames.Email], "mail", topic: "news"));

        var ex = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync("go", [Identifier.Email("ann.secret@@example.com")]));
        Assert.Contains("identifiers[0]", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ann.secret", ex.Message, StringComparison.Ordinal);

        var future = await Assert.ThrowsAsync<EventRejectedException>(() => host.TrackAsync("go", [Ann], at: host.Time.GetUtcNow().AddHours(1)));
        Assert.Contains("future", future.Message, StringComparison.OrdinalIgnoreCase);
    }

    // The kit's events must be ones production accepts: the same event, built by host.Event, on an engine with
    // production's defaults (no test key, the system's validation).
    [Fact]
    public async Task AnEventBuiltByTheKit_IsAcceptedByAnEngineWithProductionDefaults()
    {
        await using var host = OmnichannelTestHost.Create();
        var e = host.Event(EventTypes.CartItemAdded, [Ann, Identifier.AnonymousId("a1")], new { product_id = "p1", quantity = 1 }, traits: new { first_name = "Ann" });
        await using var production = new OmnichannelEngine(new OmnichannelOptions(), new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore(), new Microsoft.Extensions.Time.Testing.FakeTimeProvider(host.Time.GetUtcNow()));

        var result = await production.TrackAsync(e);

        Assert.Equal(TrackStatus.Accepted, result.Status);
    }

    // The kit's stubs against production's start checks: the template checks run where the templates are loaded, so a
    // host with StubTemplates (which never loads them) starts with a typo that stops production; the README says so and
    // that one test without stubs is the guard.
    [Fact]
    public void AJourneyNamingATemplateTheSourceLacks_StopsTheHostWithoutStubs_ButNotWithStubTemplates_AsDocumented()
    {
        static void Register(IServiceCollection services) => services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("cart-reminder", [TemplateVariant.Email("Your cart", "<p>Waiting.</p>")])))
            .AddJourney(Journey.Define("abandoned-cart", "Abandoned cart").TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
                .Steps(s => s.Send("reminder", [ChannelNames.Email], "cart-remider", topic: "cart")).Build());

        var ex = Assert.Throws<JourneyDefinitionException>(() => OmnichannelTestHost.Create(Register));
        Assert.Contains("'cart-remider'", Assert.Single(ex.Errors).Message, StringComparison.Ordinal);

        using var stubbed = new DisposeOnExit(OmnichannelTestHost.Create(Register, new OmnichannelTestHostOptions { StubTemplates = true }));
        Assert.NotNull(stubbed.Host.Engine);
    }

    private sealed class DisposeOnExit(OmnichannelTestHost host) : IDisposable
    {
        public OmnichannelTestHost Host { get; } = host;

        public void Dispose() => Host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    // NServiceBus/MassTransit harnesses: an exception thrown in the pipeline is swallowed and the test passes. Here the
    // application's own renderer throws: nothing is sent, and her timeline says why, so a test asserting the reason
    // fails loudly rather than passing on an empty Sent.
    [Fact]
    public async Task TheApplicationsRendererThrows_NothingIsSent_AndTheTimelineNamesTheFailure()
    {
        await using var host = OmnichannelTestHost.Create(services =>
        {
            services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
                .AddJourney(Journey.Define("j", "J").TriggeredBy(t => t.Event("go")).Steps(s => s.Send("mail", [ChannelNames.Email], "mail", @class: MessageClass.Transactional)).Build());
            services.AddSingleton<IMessageRenderer>(new ThrowingRenderer());
        });

        await host.TrackAsync("go", [Ann]);
        await host.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Empty(host.Sent.Messages);
        var timeline = (await host.ProfileAsync(Ann)).Timeline;
        var skipped = Assert.Single(timeline, t => t.Type == "message.skipped");
        Assert.Contains("rendering failed", skipped.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("RenderTimeout", skipped.Summary, StringComparison.Ordinal);
    }

    // Found by the test above: a TimeoutException the renderer itself threw (its CMS client timed out), at once or after
    // an await, was reported as the engine's RenderTimeout ("did not answer within 00:00:30"), so the fix a reader would
    // try (raising RenderTimeout) could not help.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARendererThatThrowsItsOwnTimeout_IsNotReportedAsTheEnginesRenderTimeout(bool afterAnAwait)
    {
        await using var host = OmnichannelTestHost.Create(services =>
        {
            services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
                .AddJourney(Journey.Define("j", "J").TriggeredBy(t => t.Event("go")).Steps(s => s.Send("mail", [ChannelNames.Email], "mail", @class: MessageClass.Transactional)).Build());
            services.AddSingleton<IMessageRenderer>(new ThrowingRenderer(afterAnAwait));
        });

        await host.TrackAsync("go", [Ann]);

        Assert.Empty(host.Sent.Messages);
        var skipped = Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == "message.skipped");
        Assert.DoesNotContain("RenderTimeout", skipped.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("did not answer within", skipped.Summary, StringComparison.Ordinal);
    }

    private sealed class ThrowingRenderer(bool afterAnAwait = false) : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            afterAnAwait ? ThrowLaterAsync() : throw new TimeoutException("the CMS did not answer");

        private static async ValueTask<OutboundMessage?> ThrowLaterAsync()
        {
            await Task.Yield();
            throw new TimeoutException("the CMS did not answer");
        }
    }
}
