using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Privacy;
using Omnichannel.Sdk.StoreParity;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U103: an erasure on one engine while another on the same SQLite file holds her profile hot (held, kept as a test).</summary>
public sealed class AuditU103SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnErasureOnOneEngine_WhileTheOtherHoldsHerHot_LeavesNothingItCanReadOrBringBack(bool allowReturn)
    {
        var path = _folder.File();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var a = Build(path, time, new RecordingTransport());
        await using var b = Build(path, time, new RecordingTransport());
        var first = a.GetRequiredService<OmnichannelEngine>();
        var second = b.GetRequiredService<OmnichannelEngine>();
        var cookie = Identifier.AnonymousId("v-u103");
        var ann = Identifier.CustomerId("ann-u103");
        var mail = Identifier.Email("ann-u103@example.com");
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Ev(time, "s1", "user.signed_up", new { first_name = "Annabel" }, ann, mail, cookie))).Status);
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Ev(time, "c1", EventTypes.ConsentChanged, new { channel = "email", granted = true }, ann))).Status);
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Ev(time, "o1", EventTypes.OrderPlaced, new { order_id = "o-1", total = 10, currency = "EUR" }, ann))).Status);
        time.Advance(TimeSpan.FromMinutes(5));
        var oldId = (await second.GetProfileAsync(ann))!.Id;
        Assert.True(await first.EraseProfileAsync(ann, new EraseOptions { AllowReturn = allowReturn }));
        Assert.Null(await second.GetProfileByIdAsync(oldId));
        Assert.Null(await second.ExportProfileAsync(mail));
        Assert.Null(await second.GetProfileAsync(ann));
        var late = await second.TrackAsync(new CustomerEvent { Id = "late1", Type = "page.viewed", Timestamp = time.GetUtcNow().AddMinutes(-7), Identifiers = [cookie], Properties = JsonData.From(new { x = 1 }) });
        Assert.Equal(TrackStatus.Erased, late.Status);
        var late2 = await second.TrackAsync(new CustomerEvent { Id = "late2", Type = EventTypes.ConsentChanged, Timestamp = time.GetUtcNow().AddMinutes(-6), Identifiers = [mail], Properties = JsonData.From(new { channel = "email", granted = true }) });
        Assert.Equal(TrackStatus.Erased, late2.Status);
        Assert.Empty(await first.Store.ListProfileIdsAsync(null, 10));
        time.Advance(TimeSpan.FromMinutes(5));
        var back = await second.TrackAsync(Ev(time, "v2", "page.viewed", null, cookie));
        var back2 = await second.TrackAsync(Ev(time, "v3", "page.viewed", null, mail));
        if (!allowReturn)
        {
            Assert.Equal(TrackStatus.Erased, back.Status);
            Assert.Equal(TrackStatus.Erased, back2.Status);
            Assert.Null(await second.GetProfileAsync(cookie));
            Assert.Null(await second.GetProfileAsync(mail));
            Assert.Empty(await first.Store.ListProfileIdsAsync(null, 10));
        }
        else
        {
            foreach (var e in new[] { first, second })
            {
                var p = await e.GetProfileAsync(mail);
                if (p is null) continue;
                Assert.False(p.Traits.ContainsKey("first_name"));
                Assert.Equal(0, p.Statistics.OrderCount);
                Assert.Empty(p.Consents);
                Assert.DoesNotContain(p.Timeline, t => t.Type == "user.signed_up");
            }
        }
    }

    private static CustomerEvent Ev(TimeProvider time, string id, string type, object? props, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = time.GetUtcNow(),
        Identifiers = identifiers,
        Properties = props is null ? default : JsonData.From(props),
    };

    private static ServiceProvider Build(string path, TimeProvider time, Omnichannel.Sdk.Delivery.IChannelTransport transport)
    {
        var services = new ServiceCollection();
        TwoProcessStoreScenario.Engine(services, time, transport, wait: true).UseSqliteStore(path);
        return services.BuildServiceProvider();
    }
}

/// <summary>Audit U103: two engines on one SQLite file, one holding her profile hot while the other merges, records an opt-out or erases her.</summary>
public sealed class AuditU103SqliteTwoEngineTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task AnOptOutAsAVisitor_MergedOnEitherEngine_IsReadAndHonouredByBoth(bool mergeOnFirst, bool reverseLogin)
    {
        var path = _folder.File();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var ta = new RecordingTransport();
        var tb = new RecordingTransport();
        await using var a = Build(path, time, ta);
        await using var b = Build(path, time, tb);
        var first = a.GetRequiredService<OmnichannelEngine>();
        var second = b.GetRequiredService<OmnichannelEngine>();
        var cookie = Identifier.AnonymousId("v-u103");
        var ann = Identifier.CustomerId("ann-u103");
        var mail = Identifier.Email("ann-u103@example.com");
        var t0 = time.GetUtcNow();
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Ev(t0, "s1", "user.signed_up", null, ann, mail))).Status);
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Ev(t0.AddMinutes(1), "c1", EventTypes.ConsentChanged, new { channel = "email", granted = true }, ann))).Status);
        Assert.Equal(TrackStatus.Accepted, (await first.TrackAsync(Ev(t0.AddMinutes(2), "v1", "page.viewed", null, cookie))).Status);
        Assert.Equal(TrackStatus.Accepted, (await first.TrackAsync(Ev(t0.AddMinutes(3), "u1", EventTypes.ConsentChanged, new { channel = "email", topic = "offers", granted = false }, cookie))).Status);
        time.Advance(TimeSpan.FromMinutes(10));
        var merger = mergeOnFirst ? first : second;
        Assert.Equal(TrackStatus.Accepted, (await merger.TrackAsync(Ev(time.GetUtcNow(), "l1", "user.logged_in", null, reverseLogin ? [cookie, ann] : [ann, cookie]))).Status);
        foreach (var e in new[] { first, second })
        {
            var p = await e.GetProfileAsync(mail);
            Assert.False(p!.GetConsent("email", "offers")!.Granted);
            var r = await e.SendAsync(mail, new Omnichannel.Sdk.Delivery.MessageRequest { Key = "k-" + (e == first ? "a" : "b"), Channels = ["email"], TemplateId = "cart", Topic = "offers" });
            Assert.Equal(Omnichannel.Sdk.Delivery.SendStatus.Skipped, r.Status);
        }
    }


    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AJourneyWaitingOnTheEngineThatHoldsHerHot_SendsNothing_AfterTheOtherErasedHer(bool allowReturn)
    {
        var path = _folder.File();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var ta = new RecordingTransport();
        var tb = new RecordingTransport();
        await using var a = Build(path, time, ta);
        await using var b = Build(path, time, tb);
        var first = a.GetRequiredService<OmnichannelEngine>();
        var second = b.GetRequiredService<OmnichannelEngine>();
        var cookie = Identifier.AnonymousId("v-u103w");
        var ann = Identifier.CustomerId("ann-u103w");
        var mail = Identifier.Email("ann-u103w@example.com");
        var t0 = time.GetUtcNow();
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Ev(t0, "s1", "user.signed_up", null, ann, mail, cookie))).Status);
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Ev(t0, "c1", EventTypes.CartItemAdded, new { cart_id = "c1", product_id = "p1" }, ann))).Status);
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(await first.EraseProfileAsync(mail, new EraseOptions { AllowReturn = allowReturn }));
        time.Advance(TimeSpan.FromMinutes(10));
        await second.TrackAsync(Ev(time.GetUtcNow(), "v9", "page.viewed", null, cookie));
        time.Advance(TimeSpan.FromHours(2));
        await first.RunDueAsync();
        await second.RunDueAsync();
        await first.RunDispatchAsync();
        await second.RunDispatchAsync();
        Assert.Empty(ta.Messages);
        Assert.Empty(tb.Messages);
        if (allowReturn && await second.GetProfileAsync(cookie) is { } back)
        {
            Assert.Equal(0, back.Statistics.OrderCount);
            Assert.Empty(back.Cart);
            Assert.DoesNotContain(back.Timeline, t => t.Type == EventTypes.CartItemAdded);
        }
    }

    [Fact]
    public async Task HerOneClickLink_ClickedOnTheEngineThatHoldsHerHot_AfterTheOtherErasedHer_FindsNobody()
    {
        var path = _folder.File();
        var start = new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
        var email = new RecordingTransport(ChannelNames.Email);
        await using var storeA = await SqliteTestStores.Open(path);
        await using var storeB = await SqliteTestStores.Open(path);
        void Configure(OmnichannelOptions o)
        {
            o.Delivery.MarketingQuietHours = Omnichannel.Sdk.Delivery.QuietHoursAction.Ignore;
            o.Delivery.Unsubscribe.Endpoint = new Uri("https://shop.example/u");
        }

        await using var a = OmnichannelTestHost.Create(Configure, start, storeA, new Omnichannel.Sdk.Delivery.DeliverySetup { Renderer = new Omnichannel.Sdk.Testing.StubMessageRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
        await using var b = OmnichannelTestHost.Create(Configure, start, storeB, new Omnichannel.Sdk.Delivery.DeliverySetup { Renderer = new Omnichannel.Sdk.Testing.StubMessageRenderer() }.AddTransport("email", email));
        var ann = Identifier.CustomerId("ann-tok");
        await b.TrackAsync(b.Event("user.signed_up", [ann, Identifier.Email("ann-tok@example.com")]));
        await b.TrackAsync(b.Event(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true }));
        Assert.Equal(Omnichannel.Sdk.Delivery.SendStatus.Queued, (await b.Client.SendAsync(ann, new Omnichannel.Sdk.Delivery.MessageRequest { Key = "n1", Channels = ["email"], TemplateId = "n", Topic = "news" })).Status);
        await b.AdvanceAsync(TimeSpan.Zero);
        await b.Engine.RunDispatchAsync();
        var sent = (Omnichannel.Sdk.Delivery.EmailMessage)Assert.Single(email.Messages);
        var header = sent.Headers["List-Unsubscribe"];
        var token = Uri.UnescapeDataString(header[(header.IndexOf("t=", StringComparison.Ordinal) + 2)..].TrimEnd('>'));
        Assert.NotNull(await b.Client.GetProfileAsync(ann)); // hot in B
        Assert.True(await a.Client.EraseProfileAsync(ann));
        Assert.Equal(Omnichannel.Sdk.Delivery.UnsubscribeStatus.ProfileNotFound, await b.Engine.UnsubscribeAsync(token));
        Assert.NotEqual(Omnichannel.Sdk.Delivery.SendStatus.Queued, (await b.Client.SendAsync(ann, new Omnichannel.Sdk.Delivery.MessageRequest { Key = "n2", Channels = ["email"], TemplateId = "n", Topic = "news" })).Status);
        Assert.Empty(await storeA.ListProfileIdsAsync(null, 10));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMessageHeldOnTheEngineThatHoldsHerHot_IsNotSent_AfterTheOtherRecordedHerOptOut(bool viaMerge)
    {
        var path = _folder.File();
        var night = new DateTimeOffset(2026, 3, 1, 23, 0, 0, TimeSpan.Zero);
        var email = new RecordingTransport(ChannelNames.Email);
        await using var storeA = await SqliteTestStores.Open(path);
        await using var storeB = await SqliteTestStores.Open(path);
        void Configure(OmnichannelOptions o)
        {
            o.Delivery.MarketingQuietHours = Omnichannel.Sdk.Delivery.QuietHoursAction.Defer;
        }

        await using var a = OmnichannelTestHost.Create(Configure, night, storeA, new Omnichannel.Sdk.Delivery.DeliverySetup { Renderer = new Omnichannel.Sdk.Testing.StubMessageRenderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email)));
        await using var b = OmnichannelTestHost.Create(Configure, night, storeB, new Omnichannel.Sdk.Delivery.DeliverySetup { Renderer = new Omnichannel.Sdk.Testing.StubMessageRenderer() }.AddTransport("email", email));
        var ann = Identifier.CustomerId("ann-held");
        var cookie = Identifier.AnonymousId("ann-held-cookie");
        await b.TrackAsync(b.Event("user.signed_up", [ann, Identifier.Email("ann-held@example.com")]));
        await b.TrackAsync(b.Event(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true }));
        var queued = await b.Client.SendAsync(ann, new Omnichannel.Sdk.Delivery.MessageRequest { Key = "h1", Channels = ["email"], TemplateId = "n", Topic = "news" });
        Assert.Equal(Omnichannel.Sdk.Delivery.SendStatus.Queued, queued.Status);
        Assert.True(queued.DueAt > night);
        await b.Client.GetProfileAsync(ann); // hot in B
        a.Time.Advance(TimeSpan.FromMinutes(5));
        b.Time.Advance(TimeSpan.FromMinutes(5));
        if (viaMerge)
        {
            Assert.Equal(TrackStatus.Accepted, (await a.TrackAsync(a.Event(EventTypes.ConsentChanged, [cookie], new { channel = "email", topic = "news", granted = false }) with { Id = "a-1" })).Status);
            Assert.Equal(TrackStatus.Accepted, (await a.TrackAsync(a.Event("user.logged_in", [cookie, ann]) with { Id = "a-2" })).Status);
        }
        else
        {
            Assert.Equal(TrackStatus.Accepted, (await a.TrackAsync(a.Event(EventTypes.ConsentChanged, [ann], new { channel = "email", topic = "news", granted = false }) with { Id = "a-1" })).Status);
        }

        var fromA = await a.Client.GetProfileAsync(ann);
        var beforeDue = email.Messages.Count;
        await b.AdvanceToAsync(queued.DueAt!.Value.AddMinutes(1));
        await b.Engine.RunDispatchAsync();
        var fromB = await b.Client.GetProfileAsync(ann);
        Assert.True(email.Messages.Count == 0, $"sent {email.Messages.Count} (before due {beforeDue}); due {queued.DueAt}; A consent news: {fromA!.GetConsent("email", "news")?.Granted}; B: {fromB!.GetConsent("email", "news")?.Granted}; timeline: {string.Join(" | ", fromB.Timeline.Select(t => t.Timestamp.ToString("HH:mm") + " " + t.Type + " " + t.Summary))}");
    }

    private static CustomerEvent Ev(DateTimeOffset at, string id, string type, object? props, params Identifier[] identifiers) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = identifiers,
        Properties = props is null ? default : JsonData.From(props),
    };

    private static ServiceProvider Build(string path, TimeProvider time, Omnichannel.Sdk.Delivery.IChannelTransport transport)
    {
        var services = new ServiceCollection();
        TwoProcessStoreScenario.Engine(services, time, transport, wait: true).UseSqliteStore(path);
        return services.BuildServiceProvider();
    }
}
