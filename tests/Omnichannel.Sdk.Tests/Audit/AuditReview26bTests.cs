using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Tests.Journeys;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// A hostile review of the twenty-sixth session's changes (shared documents in memory, audits U9 and U10);
/// docs/design-notes.md, "Review of the twenty-sixth session's changes", lists what held and what was fixed.
/// </summary>
public sealed class AuditReview26bTests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-r26b");
    private static readonly Identifier Ann = Identifier.Email("ann-r26b@example.com");
    private const string HashKey = "r26b-key-0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);

    // ---- Shared documents (in memory) ----

    // Any mix of views, orders, merges and erasure (then the same identifiers again) keeps every stored document, read
    // while commits happen and after, byte for byte what a contiguous write of the profile it holds gives; the engine
    // reads it back (a profile, an export) and a cold engine goes on from it.
    [Property(MaxTest = 25)]
    public void SharedDocuments_UnderAnyMixOfCommits_ReadAsTheContiguousOnes(byte[] ops) =>
        SharedDocumentsHold(ops ?? []).GetAwaiter().GetResult();

    private static async Task SharedDocumentsHold(byte[] ops)
    {
        var time = new FakeTimeProvider(T0);
        var store = new InMemoryOmnichannelStore();
        var options = new OmnichannelOptions { TimelineLength = 20 };
        var customers = new[] { "a", "b", "c" };
        var seq = 0;
        CustomerEvent Event(string type, Identifier[] ids, object properties) => new()
        {
            Id = $"e{seq++}", Type = type, Timestamp = time.GetUtcNow(), Identifiers = ids, Properties = JsonData.From(properties),
        };

        using var stop = new CancellationTokenSource();
        var readErrors = new List<string>();
        await using (var engine = new OmnichannelEngine(options, store, time))
        {
            var reader = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    foreach (var id in await store.ListProfileIdsAsync(null, 100))
                    {
                        if (await store.LoadProfileAsync(id) is { } s)
                        {
                            var bytes = s.Document;
                            var again = ProfileSerializer.Serialize(ProfileSerializer.Deserialize(s));
                            if (!bytes.AsSpan().SequenceEqual(again))
                            {
                                lock (readErrors)
                                {
                                    readErrors.Add(id);
                                }
                            }
                        }
                    }

                    await Task.Yield();
                }
            });

            foreach (var op in ops.Take(60))
            {
                var who = customers[op % 3];
                var cid = Identifier.CustomerId("r26b-" + who);
                switch ((op / 3) % 5)
                {
                    case 0:
                    case 1:
                        // A run of views: the timeline crosses the 16-element threshold and is trimmed at 20.
                        await engine.TrackBatchAsync(Enumerable.Range(0, 1 + (op % 9)).Select(i => Event("product.viewed", [cid], new { product_id = $"sku-{i}", note = "Zoë 😺 \"<b>\\" })).ToList());
                        break;
                    case 2:
                        await engine.TrackBatchAsync(Enumerable.Range(0, 1 + (op % 11)).Select(i => Event(EventTypes.OrderPlaced, [cid], new { order_id = $"o-{who}-{seq}-{i}", total = 10 + i })).ToList());
                        break;
                    case 3:
                        // A merge: this customer and the next share an email.
                        var next = Identifier.CustomerId("r26b-" + customers[(op + 1) % 3]);
                        await engine.TrackAsync(Event("user.updated", [cid, Identifier.Email($"{who}@r26b.example")], new { }));
                        await engine.TrackAsync(Event("user.updated", [next, Identifier.Email($"{who}@r26b.example")], new { }));
                        break;
                    default:
                        await engine.EraseProfileAsync(cid);
                        await engine.TrackAsync(Event("product.viewed", [cid], new { product_id = "after" }));
                        break;
                }

                time.Advance(TimeSpan.FromMinutes(1));
            }

            stop.Cancel();
            await reader;

            foreach (var who in customers)
            {
                var cid = Identifier.CustomerId("r26b-" + who);
                if (await engine.GetProfileAsync(cid) is { } profile)
                {
                    Assert.NotNull(await engine.ExportProfileAsync(cid));
                    var stored = (await store.LoadProfileAsync(profile.Id))!;
                    Assert.Equal(stored.Document, ProfileSerializer.Serialize(profile));
                }
            }
        }

        Assert.Empty(readErrors);

        // A cold engine over the same store reads each profile as the stored bytes say.
        await using var cold = new OmnichannelEngine(options, store, time);
        foreach (var id in await store.ListProfileIdsAsync(null, 100))
        {
            var stored = (await store.LoadProfileAsync(id))!;
            var profile = (await cold.GetProfileByIdAsync(id))!;
            Assert.Equal(stored.Document, ProfileSerializer.Serialize(profile));
            Assert.Equal(stored.Document.Length, stored.DocumentLength);
        }
    }

    // A very large profile (traits of 1 MB, the most a host may allow, past the buffer a thread keeps, and 1,500 orders) is stored shared and
    // reads back byte for byte; the next commit shares the same order bytes.
    [Fact]
    public async Task AVeryLargeProfile_IsSharedAndReadsAsTheContiguousOne()
    {
        var time = new FakeTimeProvider(T0);
        var store = new InMemoryOmnichannelStore();
        await using var engine = new OmnichannelEngine(new OmnichannelOptions { MaxTraitsBytes = 1 << 20 }, store, time);
        var cid = Identifier.CustomerId("r26b-large");
        var big = await engine.TrackAsync(new CustomerEvent
        {
            Id = "big", Type = "user.updated", Timestamp = T0, Identifiers = [cid],
            Traits = JsonData.From(new { notes = new string('x', 1_040_000) }),
        });
        Assert.Equal(TrackStatus.Accepted, big.Status);
        await engine.TrackBatchAsync(Enumerable.Range(0, 1500).Select(i => new CustomerEvent
        {
            Id = $"o{i}", Type = EventTypes.OrderPlaced, Timestamp = T0, Identifiers = [cid], Properties = JsonData.From(new { order_id = $"o{i}", total = i }),
        }).ToList());
        time.Advance(TimeSpan.FromMinutes(1));
        await engine.TrackAsync(new CustomerEvent { Id = "last", Type = "product.viewed", Timestamp = time.GetUtcNow(), Identifiers = [cid] });

        var profile = (await engine.GetProfileAsync(cid))!;
        var stored = (await store.LoadProfileAsync(profile.Id))!;
        Assert.NotNull(stored.Shared);
        Assert.True(stored.DocumentLength > 1 << 20, $"{stored.DocumentLength} bytes");
        Assert.Equal(stored.Document, ProfileSerializer.Serialize(ProfileSerializer.Deserialize(stored)));
        Assert.Equal(1500, ProfileSerializer.Deserialize(stored).Orders.Count);
    }

    // ---- Audit U9: the consent clamp with merges and SMS keywords ----

    // A grant from a fast device on her cookie profile is recorded at receipt; the opt-out she then made on her account
    // (a right clock) is newer, and stays in force when the two profiles merge, whichever survives.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AClampedGrantOnAnotherProfile_DoesNotOutrankTheOptOut_WhenTheyMerge(bool accountFirst)
    {
        await using var host = OmnichannelTestHost.Create();
        var cookie = Identifier.AnonymousId("cookie-r26b");
        var t0 = host.Time.GetUtcNow();
        if (accountFirst)
        {
            await host.TrackAsync("user.signed_up", [Known, Ann]);
        }

        await host.TrackAsync(EventTypes.ConsentChanged, [cookie], new { channel = "email", granted = true }, at: t0.AddMinutes(4));
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.ConsentChanged, [Known, Ann], new { channel = "email", granted = false });
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.logged_in", [cookie, Known]);

        Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email)!.Granted);
        await host.AdvanceAsync(TimeSpan.FromMinutes(10));
        Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email)!.Granted);
    }

    // An SMS START from a phone whose clock runs fast, then STOP a minute later from the gateway: STOP stands.
    [Fact]
    public async Task AFastStampedSmsStart_ThenStop_LeavesHerOptedOut()
    {
        await using var host = OmnichannelTestHost.Create();
        var phone = Identifier.Phone("+33612345678");
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync(EventTypes.ConsentChanged, [Known, phone], new { channel = "sms", granted = true }, at: t0.AddMinutes(-30));
        await host.TrackAsync(EventTypes.MessageReplied, [phone], new Dictionary<string, object?> { ["channel"] = "sms", ["text"] = "START", [SmsReplyKeywords.KeywordProperty] = "START" }, channel: ChannelNames.Sms, at: t0.AddMinutes(4));
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync(EventTypes.MessageReplied, [phone], new Dictionary<string, object?> { ["channel"] = "sms", ["text"] = "STOP", [SmsReplyKeywords.KeywordProperty] = "STOP" }, channel: ChannelNames.Sms);

        Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Sms)!.Granted);
    }

    // ---- Audit U9: a one-off date cleared and given again ----

    // A one-off date (a renewal reminder) fires once per value. Cleared and given again the same day with a zone where its
    // 09:00 is still to come, the same value fired again: the cleared trait kept what fired, but a value given after a
    // clear was read as new, and only an annual date looked at what had fired.
    [Fact]
    public async Task AOneOffDateClearedAndGivenAgain_InAZoneToTheWest_DoesNotFireTwice()
    {
        var renewal = Journey.Define("renewal", "Renewal")
            .TriggeredBy(t => t.Date("renewal_on", "P0D", new TimeOnly(9, 0)))
            .Steps(s => s.Send("remind", [ChannelNames.Email], "renewal", topic: null, MessageClass.Transactional))
            .Build();
        await using var rig = JourneyRig.Create([renewal], start: new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, Known], traits: new { renewal_on = "2026-03-12" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 10, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());

        await rig.TrackAsync("user.updated", [Known], traits: new { renewal_on = (string?)null });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync("user.updated", [Known], traits: new { renewal_on = "2026-03-12" }, context: new EventContext { TimeZone = "Pacific/Honolulu" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 14, 0, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());

        // Another value is a new date, and fires.
        await rig.TrackAsync("user.updated", [Known], traits: new { renewal_on = "2026-03-20" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 21, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(2, rig.Sent().Count);
    }

    private static JourneyDefinition Renewal() => Journey.Define("renewal", "Renewal")
        .TriggeredBy(t => t.Date("renewal_on", "P0D", new TimeOnly(9, 0)))
        .Steps(s => s.Send("remind", [ChannelNames.Email], "renewal", topic: null, MessageClass.Transactional))
        .Build();

    // Her account fired the one-off date, then a sync cleared it; her phone's profile (Honolulu) has the same value still
    // due. Merged, she is not reminded again of the value that already fired.
    [Fact]
    public async Task AOneOffDateFiredThenCleared_MergedWithAProfileStillDueForIt_DoesNotFireTwice()
    {
        await using var rig = JourneyRig.Create([Renewal()], start: new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, Known], traits: new { renewal_on = "2026-03-12" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 10, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());
        await rig.TrackAsync("user.updated", [Known], traits: new { renewal_on = (string?)null });

        var phone = Identifier.AnonymousId("phone-r26b");
        await rig.TrackAsync("app.opened", [phone], traits: new { renewal_on = "2026-03-12" }, context: new EventContext { TimeZone = "Pacific/Honolulu" });
        await rig.TrackAsync("user.logged_in", [phone, Known]);
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 14, 0, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());
    }

    private static JourneyDefinition Birthday(int hour) => Journey.Define("birthday", "Birthday")
        .TriggeredBy(t => t.Date("birthday", "P0D", new TimeOnly(hour, 0), annual: true))
        .Steps(s => s.Send("wish", [ChannelNames.Email], "happy-birthday", topic: null, MessageClass.Transactional))
        .Build();

    // New Year's Eve birthday, wished at 09:00 UTC; cleared; the journey is republished for 11:00 while it is cleared; given
    // again in Honolulu the same day. Wished once that day, once the next year.
    [Fact]
    public async Task ABirthdayClearedAcrossARepublishAndAZoneChange_AtTheYearsEnd_IsWishedOncePerYear()
    {
        await using var rig = JourneyRig.Create([Birthday(9)], start: new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, Known], traits: new { birthday = "1990-12-31" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 12, 31, 10, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());

        await rig.TrackAsync("user.updated", [Known], traits: new { birthday = (string?)null });
        await rig.Engine.PublishJourneyAsync(Birthday(11) with { Version = 2 });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(5));
        await rig.TrackAsync("user.updated", [Known], traits: new { birthday = "--12-31" }, context: new EventContext { TimeZone = "Pacific/Honolulu" });
        await rig.AdvanceToAsync(new DateTimeOffset(2027, 12, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());

        await rig.AdvanceToAsync(new DateTimeOffset(2028, 1, 2, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(2, rig.Sent().Count);
    }

    // The annual case of the same merge: wished on her account at 09:00 UTC, cleared there, and her phone's profile
    // (Honolulu) still has the day due. Merged, she is wished once that day and once the next year.
    [Fact]
    public async Task ABirthdayWishedThenCleared_MergedWithAProfileStillDueForIt_IsWishedOncePerYear()
    {
        await using var rig = JourneyRig.Create([Birthday(9)], start: new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        await rig.TrackAsync("user.signed_up", [Ann, Known], traits: new { birthday = "1990-03-12" });
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 10, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());
        await rig.TrackAsync("user.updated", [Known], traits: new { birthday = (string?)null });

        var phone = Identifier.AnonymousId("phone-r26b-2");
        await rig.TrackAsync("app.opened", [phone], traits: new { birthday = "--03-12" }, context: new EventContext { TimeZone = "Pacific/Honolulu" });
        await rig.TrackAsync("user.logged_in", [phone, Known]);
        await rig.AdvanceToAsync(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Single(rig.Sent());

        await rig.AdvanceToAsync(new DateTimeOffset(2027, 3, 14, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(2, rig.Sent().Count);
    }

    // ---- Audit U10: unsubscribe tokens ----

    // Keys with quotes, backslashes, controls, U+2028, a lone surrogate (SendAsync takes any non-blank key), and tokens the
    // previous code wrote (the payload escaped by JsonSerializer) all unsubscribe.
    [Theory]
    [InlineData("promo-\"q\"\\b")]
    [InlineData("promo-a\u2028b\u2029c")]
    [InlineData("promo-注文-😀")]
    [InlineData("promo-\ud83d-lone")]
    [InlineData("promo-<&>'+")]
    public async Task AnyKey_NewTokenAndPreviousCodesToken_BothUnsubscribe(string key)
    {
        var (host, email) = await UnsubscribeHostAsync();
        await using var _ = host;
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, new MessageRequest { Key = key, Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" })).Status);
        await host.Engine.RunDispatchAsync();
        var token = TokenOf((EmailMessage)Assert.Single(email.Messages));
        var fields = JsonNode.Parse(Base64Url.DecodeFromChars(token.AsSpan(0, token.IndexOf('.', StringComparison.Ordinal))))!.AsArray();
        Assert.Equal(key.Replace("\ud83d-", "\ufffd-", StringComparison.Ordinal), fields[1]!.GetValue<string>());
        Assert.Equal(new UnsubscribeLink(ChannelNames.Email, "newsletter"), host.Engine.ReadUnsubscribeLink(token));

        // What the previous code wrote for the same message, signed with the same key.
        var previous = JsonSerializer.SerializeToUtf8Bytes(new JsonArray(fields[0]!.GetValue<string>(), key, ChannelNames.Email, "newsletter"));
        var hasher = new Sdk.Privacy.IdentifierHasher(Encoding.UTF8.GetBytes(HashKey), []);
        var old = Base64Url.EncodeToString(previous) + "." + Base64Url.EncodeToString(hasher.Sign(UnsubscribeToken.Purpose, previous));
        Assert.NotNull(host.Engine.ReadUnsubscribeLink(old));
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(old));
        Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email, "newsletter")!.Granted);
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token));
    }

    // An internationalised host with a port, a path and a query: the header is ASCII and keeps all of them.
    [Theory]
    [InlineData("https://bücher.example:8443/ab meldung?liste=été&x=1", "https://xn--bcher-kva.example:8443/ab%20meldung?liste=%C3%A9t%C3%A9&x=1&t=")]
    [InlineData("https://bücher.example/abmelden", "https://xn--bcher-kva.example/abmelden?t=")]
    [InlineData("https://BÜCHER.example:443/a?b", "https://xn--bcher-kva.example/a?b&t=")]
    public async Task AnIdnEndpoint_WithAPortPathAndQuery_KeepsThemInTheHeader(string endpoint, string prefix)
    {
        var (host, email) = await UnsubscribeHostAsync(new Uri(endpoint));
        await using var _ = host;
        await host.Client.SendAsync(Known, new MessageRequest { Key = "p1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });
        await host.Engine.RunDispatchAsync();
        var sent = (EmailMessage)Assert.Single(email.Messages);

        Assert.True(Ascii.IsValid(sent.Headers["List-Unsubscribe"]), sent.Headers["List-Unsubscribe"]);
        Assert.StartsWith(prefix, HeaderUrl(sent), StringComparison.Ordinal);
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(TokenOf(sent)));
    }

    // ---- Audit U10: SMS line endings and cuts ----

    [Theory]
    [InlineData("Hi\r", "Hi\n")]
    [InlineData("€\r\n[x]\r\n\r\n{y}", "€\n[x]\n\n{y}")]
    [InlineData("a\r\r\nb", "a\n\nb")]
    public void AnSmsBody_HasOnlyLf_AfterACrLfOrALoneCr(string value, string expected)
    {
        var renderer = Renderer(Single("t", TemplateVariant.Sms("{{ journey.v }}")));
        var context = Context() with { Journey = new Dictionary<string, object?> { ["v"] = value } };
        Assert.Equal(expected, renderer.Render("t", ChannelNames.Sms, context).GetValueOrThrow().Body);
    }

    [Theory]
    [InlineData("{{ journey.v | slice: -1 }}", "a😀", "")]
    [InlineData("{{ journey.v | slice: -2 }}", "a😀", "")] // slice's length is 1: half of the pair, left out
    [InlineData("{{ journey.v | slice: -2, 2 }}", "a😀", "😀")]
    [InlineData("{{ journey.v | slice: -2, 1 }}", "a😀", "")]
    [InlineData("{{ journey.v | slice: -3, 2 }}", "a😀b", "😀")]
    [InlineData("{{ journey.v | truncate: 6 }}", "Hi😀xyz", "Hi...")]
    [InlineData("{{ journey.v | truncate: 3, '😀' }}", "Hi😀xyz", "H😀")]
    public void SliceWithNegativeIndexes_AndTruncateBetweenTheHalves_KeepWholeCharacters(string source, string value, string expected)
    {
        var renderer = Renderer(Single("t", TemplateVariant.Sms(source)));
        var context = Context() with { Journey = new Dictionary<string, object?> { ["v"] = value } };
        Assert.Equal(expected, renderer.Render("t", ChannelNames.Sms, context).GetValueOrThrow().Body);
    }

    // ---- helpers ----

    private static async Task<(OmnichannelTestHost Host, RecordingTransport Email)> UnsubscribeHostAsync(Uri? endpoint = null)
    {
        var renderer = Renderer(Single("news", TemplateVariant.Email("News", "<p>Hi</p>", "{{ journey.unsubscribe_url }}")));
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                o.Delivery.Unsubscribe.Endpoint = endpoint ?? new Uri("https://shop.example/unsubscribe");
                o.Privacy.HashKey = HashKey;
            },
            store: new InMemoryOmnichannelStore(),
            delivery: new DeliverySetup { Renderer = new TemplateMessageRenderer(renderer, "Kitty Supplies <shop@kitty.example>") }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann], traits: new { first_name = "Ann" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        return (host, email);
    }

    private static string HeaderUrl(EmailMessage message) =>
        message.Headers["List-Unsubscribe"].Split(',').Select(s => s.Trim().TrimStart('<').TrimEnd('>')).Single(u => u.StartsWith("http", StringComparison.Ordinal));

    private static string TokenOf(EmailMessage message)
    {
        var url = HeaderUrl(message);
        return Uri.UnescapeDataString(url[(url.LastIndexOf("t=", StringComparison.Ordinal) + 2)..]);
    }
}
