using System.Diagnostics;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Shared;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit U50's seeds: one int per case; every generator below is deterministic in it (a failing seed replays).</summary>
public static class U50Seeds
{
    /// <summary>Any seed.</summary>
    public static Arbitrary<int> Seeds() => Gen.Choose(0, int.MaxValue - 1).ToArbitrary();
}

/// <summary>
/// Audit U50: hostile input at every public entry point, property-based. Valid inputs (definitions from
/// <see cref="DefinitionGen"/>, events, templates) are mutated by <see cref="AuditU50JsonMutator"/> and the others below;
/// the promise checked is the README's: a bad input is refused with its field or JSON path, one bad event never stops the
/// others, and nothing crashes or stalls (no exception but the documented argument ones, within seconds).
/// </summary>
public sealed class AuditU50Tests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static T Bounded<T>(Func<T> work, string what)
    {
        var task = Task.Run(work);
        Assert.True(task.Wait(Deadline), $"stalled: {what}");
        return task.Result;
    }

    private static void AssertReadOrRefused<T>(ParseResult<T> result, string json)
        where T : class
    {
        if (result.IsValid)
        {
            Assert.NotNull(result.Value);
            return;
        }

        Assert.NotEmpty(result.Errors);
        Assert.All(result.Errors, e =>
        {
            Assert.StartsWith("$", e.Path, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(e.Message), Shorten(json));
        });
    }

    private static JsonElement? ElementOf(string json)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 100_000 }).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Shorten(string s) => s.Length <= 400 ? s : s[..400] + "…";

    private static string ValidSegmentJson(Random r, int seed)
    {
        var gen = new DefinitionGen(seed, r.Next(5));
        for (var i = 0; i < 20; i++)
        {
            try
            {
                return SegmentJson.Serialize(Segment.Define("s-" + i, "Name").Where(gen.Rule()).Build());
            }
            catch (SegmentDefinitionException)
            {
            }
        }

        return """{"id":"s","name":"x","rule":{"all":[{"trait":"tier","op":"eq","value":"vip"},{"event":"order.placed","count":{"op":"gte","value":3},"within":"P365D"}]}}""";
    }

    private static string ValidJourneyJson(Random r, int seed)
    {
        var gen = new DefinitionGen(seed, r.Next(5));
        for (var i = 0; i < 20; i++)
        {
            try
            {
                return JourneyJson.Serialize(gen.Journey());
            }
            catch (JourneyDefinitionException)
            {
            }
        }

        return """{"id":"j","version":1,"name":"x","trigger":{"type":"event","event":"page.viewed"},"steps":[{"id":"d","type":"delay","duration":"PT1H"},{"id":"e","type":"exit"}]}""";
    }

    /// <summary>A mutated segment definition is read, or refused with errors whose paths start at <c>$</c>; never an exception, never a stall.</summary>
    [Property(Arbitrary = [typeof(U50Seeds)], MaxTest = 150)]
    public void AMutatedSegmentDefinition_IsReadOrRefusedWithPaths(int seed)
    {
        var r = new Random(seed);
        var json = AuditU50JsonMutator.Mutate(ValidSegmentJson(r, seed), r);
        var (one, many) = Bounded(() => (SegmentJson.Parse(json), SegmentJson.ParseMany("[" + json + "]")), Shorten(json));
        AssertReadOrRefused(one, json);
        AssertReadOrRefused(many, json);
        if (ElementOf(json) is { } element)
        {
            // A host's own document (any depth it chose to allow) through the element overload.
            AssertReadOrRefused(Bounded(() => SegmentJson.Parse(element), Shorten(json)), json);
        }
        if (one.IsValid)
        {
            // What loads writes back and reads again (no half-read definition).
            Assert.True(SegmentJson.Parse(SegmentJson.Serialize(one.Value!)).IsValid, Shorten(json));
        }
    }

    /// <summary>A mutated journey definition is read, or refused with errors whose paths start at <c>$</c>; never an exception, never a stall.</summary>
    [Property(Arbitrary = [typeof(U50Seeds)], MaxTest = 150)]
    public void AMutatedJourneyDefinition_IsReadOrRefusedWithPaths(int seed) => CheckMutatedJourney(seed);

    /// <summary>Seeds the property above once failed with (fifty-second session: a duplicated step id threw from the reader).</summary>
    [Theory]
    [InlineData(1326171830)]
    public void AMutatedJourneyDefinition_FromAFailingSeed_IsReadOrRefusedWithPaths(int seed) => CheckMutatedJourney(seed);

    private static void CheckMutatedJourney(int seed)
    {
        var r = new Random(seed);
        var json = AuditU50JsonMutator.Mutate(ValidJourneyJson(r, seed), r);
        var (one, many) = Bounded(() => (JourneyJson.Parse(json), JourneyJson.ParseMany("[" + json + "]")), Shorten(json));
        AssertReadOrRefused(one, json);
        AssertReadOrRefused(many, json);
        if (ElementOf(json) is { } element)
        {
            AssertReadOrRefused(Bounded(() => JourneyJson.Parse(element), Shorten(json)), json);
        }
        if (one.IsValid)
        {
            Assert.True(JourneyJson.Parse(JourneyJson.Serialize(one.Value!)).IsValid, Shorten(json));
        }
    }

    // ---- events through the engine ----

    private static readonly string[] EventBodies =
    [
        EventTypes.OrderPlaced + """|{"order_id":"o-1","total":42.5,"currency":"GBP","items":[{"product_id":"p-1","quantity":2,"price":21.25,"category":"toys"}]}""",
        EventTypes.CartItemAdded + """|{"product_id":"p-1","quantity":1,"price":9.99,"cart_id":"c-1","name":"Mouse"}""",
        EventTypes.ConsentChanged + """|{"channel":"email","topic":"offers","granted":true}""",
        EventTypes.LoyaltyPointsEarned + """|{"points":50,"reason":"order"}""",
        EventTypes.OrderReturned + """|{"order_id":"o-1","total":9.0,"currency":"GBP"}""",
        EventTypes.WishlistItemAdded + """|{"product_id":"p-2"}""",
        EventTypes.PreferencesUpdated + """|{"channels":{"email":{"frequency":"weekly"}},"quiet_hours":{"start":"22:00","end":"07:00"}}""",
        "page.viewed|{\"url\":\"https://shop.example/\",\"referrer\":null}",
    ];

    private const string ValidTraits = """{"first_name":"Ann","email":"ann@example.com","address":{"city":"Leeds","country":"GB"},"birthday":"1990-02-01","tier":"vip","timezone":"Europe/London"}""";

    private static readonly string[] HostileTexts =
    [
        "", " ", "\u0000", "a\u0000b", "\ud800", "x\udc00", "\u202e\u200b", "\uFEFF", new string('z', 100_000), "../../etc/passwd",
        "Europe/London\u0000", "NaN", "-0", "1e308", "😀", "e\u0301",
    ];

    private static JsonElement Element(string json) => JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 100_000 }).RootElement.Clone();

    private static string Pick(Random r, string[] items) => items[r.Next(items.Length)];

    // A valid event, then one to three hostile members (the mutator on its JSON members, or a hostile member value).
    internal static CustomerEvent HostileEvent(OmnichannelTestHost host, Random r, Identifier who)
    {
        var body = Pick(r, EventBodies).Split('|', 2);
        var e = host.Event(body[0], [who], Element(body[1]), traits: body[0] == "page.viewed" ? Element(ValidTraits) : null);
        var count = r.Next(1, 4);
        for (var i = 0; i < count; i++)
        {
            e = r.Next(9) switch
            {
                0 or 1 => e with { Properties = Element(AuditU50JsonMutator.Mutate(body[1], r, textMutations: false)) },
                2 => e with { Traits = Element(AuditU50JsonMutator.Mutate(ValidTraits, r, textMutations: false)) },
                3 => e with
                {
                    Identifiers = r.Next(4) switch
                    {
                        0 => [],
                        1 => [who, new Identifier(Pick(r, ["email", "phone", "customer_id", "", "x\u0000", "anonymous_id"]), Pick(r, HostileTexts))],
                        2 => [who, default],
                        _ => [who, .. Enumerable.Range(0, r.Next(1, 300)).Select(k => Identifier.AnonymousId("u50-" + k))],
                    },
                },
                4 => e with
                {
                    Timestamp = r.Next(6) switch
                    {
                        0 => DateTimeOffset.MinValue,
                        1 => DateTimeOffset.MaxValue,
                        2 => default,
                        3 => new DateTimeOffset(9999, 12, 31, 9, 0, 0, TimeSpan.FromHours(-14)),
                        4 => new DateTimeOffset(1, 1, 1, 14, 0, 0, TimeSpan.FromHours(14)),
                        _ => host.Time.GetUtcNow().AddYears(-200),
                    },
                },
                5 => e with
                {
                    Context = new EventContext
                    {
                        Locale = Pick(r, HostileTexts),
                        TimeZone = Pick(r, HostileTexts),
                        DeviceType = Pick(r, HostileTexts),
                        Country = Pick(r, HostileTexts),
                        Campaign = Pick(r, HostileTexts),
                    },
                },
                6 => e with { Type = Pick(r, HostileTexts) },
                7 => e with { Channel = Pick(r, HostileTexts) },
                _ => e with { Id = Pick(r, HostileTexts) },
            };
        }

        return e;
    }

    // Segments and a journey that read what a hostile event carries (sums, averages, comparisons, dates, anniversaries),
    // and a template that prints it: an accepted hostile value goes through evaluation, a journey and a render.
    private const string RichSegments = """
        [
          {"id":"spend","name":"x","rule":{"aggregate":"sum","event":"order.placed","property":"total","within":"P30D","op":"gt","value":10}},
          {"id":"avg-price","name":"x","rule":{"aggregate":"avg","event":"cart.item_added","property":"price","within":"P30D","op":"gte","value":1}},
          {"id":"distinct","name":"x","rule":{"aggregate":"distinct","event":"wishlist.item_added","property":"product_id","op":"gte","value":1}},
          {"id":"max-points","name":"x","rule":{"aggregate":"max","event":"loyalty.points_earned","property":"points","within":"P7D","op":"gt","value":5}},
          {"id":"vip","name":"x","rule":{"all":[{"trait":"tier","op":"in","value":["vip","gold"]},{"trait":"address.city","op":"startsWith","value":"Le"}]}},
          {"id":"birthday","name":"x","rule":{"trait":"birthday","op":"anniversaryWithin","value":"P7D"}},
          {"id":"spent","name":"x","rule":{"stat":"totalSpent","op":"between","value":[1,1000]}},
          {"id":"big-order","name":"x","rule":{"event":"order.placed","where":[{"property":"total","op":"gt","value":40},{"property":"currency","op":"eq","value":"GBP"}],"count":{"op":"gte","value":1},"within":"P1D"}},
          {"id":"recent","name":"x","rule":{"lastEvent":"order.placed","op":"withinLast","value":"P1D"}},
          {"id":"reachable","name":"x","rule":{"reachable":"email"}}
        ]
        """;

    private const string RichJourney = """
        {"id":"confirm","version":1,"name":"Confirm","trigger":{"type":"event","event":"order.placed"},
         "steps":[{"id":"send","type":"send","channels":["email"],"template":"confirm","class":"transactional"},
                  {"id":"wait","type":"delay","duration":"PT1H"},
                  {"id":"again","type":"send","channels":["email"],"template":"confirm","class":"transactional"}]}
        """;

    private static OmnichannelTestHost RichHost() => OmnichannelTestHost.Create(services => services
        .AddOmnichannel(o => o.Delivery.EmailFrom = "Shop <hello@shop.example>")
        .AddSegmentsFromJson(RichSegments)
        .AddJourneysFromJson("[" + RichJourney + "]")
        .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("confirm",
            [TemplateVariant.Email("Order {{ journey.trigger.order_id }} {{ journey.trigger.total | times: 2 }}",
                "<p>{% for i in journey.trigger.items %}{{ i.product_id }} {{ i.price | plus: 1 }} x {{ i.quantity }}{% endfor %} {{ profile.traits.first_name }} {{ profile.traits.address.city | upcase }}</p>")]))));

    private static void AssertAnswered(TrackResult result, string what)
    {
        Assert.True(result.Status is TrackStatus.Accepted or TrackStatus.Duplicate or TrackStatus.Rejected, $"{what}: {result.Status} {result.FailureReason}");
        if (result.Status == TrackStatus.Rejected)
        {
            Assert.NotEmpty(result.Errors);
            Assert.All(result.Errors, x => Assert.False(string.IsNullOrWhiteSpace(x.Field), what));
        }
    }

    private static string Describe(CustomerEvent e) =>
        Shorten($"{e.Type} {e.Timestamp:o} [{string.Join(",", e.Identifiers?.Select(i => i.Type ?? "null") ?? [])}] props={(e.Properties.ValueKind == JsonValueKind.Undefined ? "" : e.Properties.GetRawText())} traits={(e.Traits.ValueKind == JsonValueKind.Undefined ? "" : e.Traits.GetRawText())}");

    /// <summary>
    /// A hostile event, alone and among good ones in a batch, is accepted or refused with its field; the good ones are all
    /// applied, the engine takes a good event after it, and the profiles stay readable.
    /// </summary>
    [Property(Arbitrary = [typeof(U50Seeds)], MaxTest = 300)]
    public void AHostileEvent_IsAnsweredWithItsField_AndNeverStopsAGoodOne(int seed) => RunHostileEvent(seed).GetAwaiter().GetResult();

    private static async Task RunHostileEvent(int seed)
    {
        var r = new Random(seed);
        await using var host = RichHost();
        using var timeout = new CancellationTokenSource(Deadline);
        var who = Identifier.CustomerId("c-" + seed);
        await host.Client.TrackAsync(host.Event("user.signed_up", [who, Identifier.Email($"c{seed}@example.com")], traits: new { tier = "vip" }), timeout.Token);
        var hostile = HostileEvent(host, r, who);
        var what = Describe(hostile);

        var alone = await host.Client.TrackAsync(hostile, timeout.Token);
        AssertAnswered(alone, what);

        var good = Enumerable.Range(0, 3).Select(i => host.Event(EventTypes.OrderPlaced, [Identifier.CustomerId($"good-{seed}-{i}")], new { order_id = "o-" + i, total = 10 })).ToList();
        var hostile2 = HostileEvent(host, r, who);
        var batch = new List<CustomerEvent>(good);
        batch.Insert(r.Next(batch.Count + 1), hostile2);
        var results = await host.Client.TrackBatchAsync(batch, timeout.Token);
        Assert.Equal(batch.Count, results.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            if (ReferenceEquals(batch[i], hostile2))
            {
                AssertAnswered(results[i], Describe(hostile2));
            }
            else
            {
                Assert.True(results[i].Status == TrackStatus.Accepted, $"good event next to {Describe(hostile2)}: {results[i].Status} {string.Join("; ", results[i].Errors)} {results[i].FailureReason}");
            }
        }

        foreach (var g in good)
        {
            Assert.Equal(1, (await host.ProfileAsync(g.Identifiers[0])).Statistics.OrderCount);
        }

        var after = await host.Client.TrackAsync(host.Event("page.viewed", [who]), timeout.Token);
        Assert.True(after.Status == TrackStatus.Accepted, $"after {what}: {after.Status} {string.Join("; ", after.Errors)} {after.FailureReason}");
        var profile = await host.ProfileAsync(who);
        _ = JsonSerializer.Serialize(profile);
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.NotNull(await host.Client.GetProfileAsync(who, timeout.Token));

        // A good order after the hostile ones still runs its journey and renders its template.
        var address = $"c{seed}@example.com";
        var before = host.Sent.SentTo(address).Count;
        var order = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [who], new { order_id = "after", total = 5, items = new[] { new { product_id = "p", price = 1, quantity = 1 } } }), timeout.Token);
        Assert.True(order.Status == TrackStatus.Accepted, $"after {what}: {order.Status} {string.Join("; ", order.Errors)} {order.FailureReason}");
        await host.AdvanceAsync(TimeSpan.Zero);
        Assert.Contains(host.Sent.SentTo(address).Skip(before), m => m is EmailMessage e && e.Subject.StartsWith("Order after 10", StringComparison.Ordinal));
    }

    /// <summary>
    /// The reading calls (profile by identifier or id, export, suppression, unsubscribe token, segment members) with
    /// hostile arguments answer (nothing, false, unknown) or throw an <see cref="ArgumentException"/>; never another
    /// exception, and the engine still takes a good event after them.
    /// </summary>
    [Property(Arbitrary = [typeof(U50Seeds)], MaxTest = 40)]
    public void AHostileArgument_ToAReadingCall_IsAnsweredOrAnArgumentException(int seed) => RunHostileReads(seed).GetAwaiter().GetResult();

    private static async Task RunHostileReads(int seed)
    {
        var r = new Random(seed);
        await using var host = RichHost();
        using var timeout = new CancellationTokenSource(Deadline);
        var who = Identifier.CustomerId("c-" + seed);
        await host.TrackAsync(EventTypes.OrderPlaced, [who, Identifier.Email($"c{seed}@example.com")], new { order_id = "o", total = 50, currency = "GBP" });
        for (var i = 0; i < 8; i++)
        {
            var text = Pick(r, HostileTexts);
            var id = new Identifier(Pick(r, ["email", "phone", "customer_id", "anonymous_id", "", "Email", "x\u0000"]), text);
            Func<Task> call = r.Next(7) switch
            {
                0 => async () => await host.Client.GetProfileAsync(id, timeout.Token),
                1 => async () => await host.Client.GetProfileByIdAsync(text, timeout.Token),
                2 => async () => await host.Client.ExportProfileAsync(id, timeout.Token),
                3 => async () => await host.Client.IsSuppressedAsync(id, timeout.Token),
                4 => async () => await host.Client.UnsubscribeAsync(text, timeout.Token),
                5 => async () => await host.Client.GetSegmentMembersAsync(Pick(r, ["spend", "vip", text]), r.Next(2) == 0 ? null : text, new[] { 0, -1, 1, int.MaxValue, 100 }[r.Next(5)], timeout.Token),
                _ => async () => await host.Client.GetProfileAsync(default, timeout.Token),
            };
            try
            {
                await call();
            }
            catch (ArgumentException)
            {
                // documented for a malformed argument
            }
        }

        var after = await host.Client.TrackAsync(host.Event("page.viewed", [who]), timeout.Token);
        Assert.Equal(TrackStatus.Accepted, after.Status);
        Assert.Equal(1, (await host.ProfileAsync(who)).Statistics.OrderCount);
    }

    // ---- templates ----

    private static readonly string[] TemplatePieces =
    [
        "{{", "}}", "{%", "%}", "{{ profile.first_name }}", "{{ event.properties.total | times: 1e308 }}", "{{ 1 | divided_by: 0 }}",
        "{{ 1 | modulo: 0 }}", "{{ 'abc' | slice: 2147483647, 2147483647 }}", "{{ 'abc' | truncate: -5 }}", "{{ 'x' | date: '%Q%' }}",
        "{% for i in (1..2000000000) %}x{% endfor %}", "{% for i in (1..1000) %}{% for j in (1..1000) %}y{% endfor %}{% endfor %}",
        "{% assign a = 1e400 %}{{ a }}", "{{ journey.list[99999999999] }}", "{{ journey.deep.a.a.a.a.a }}", "{% cycle %}",
        "{% include 'x' %}", "{% render 'y' %}", "{% raw %}", "{% endraw %}", "{% comment %}", "{% if %}", "{% endif %}",
        "{{ 'a' | append: journey.big | upcase | size }}", "{{ journey.text | replace: 'a', journey.text }}",
        "{% capture c %}{{ c }}{{ c }}{% endcapture %}", "\ud800", "\u0000", "\uFEFF", "{{ -0 | abs }}", "{{ 'NaN' | plus: 1 }}",
        "{{ event.properties | json }}", "{{ journey.text | split: '' | join: journey.text }}",
        string.Concat(Enumerable.Repeat("{% if true %}", 300)) + string.Concat(Enumerable.Repeat("{% endif %}", 300)),
        string.Concat(Enumerable.Repeat("(", 500)), "{{ " + string.Concat(Enumerable.Repeat("a.", 3000)) + "b }}",
        "{% assign x = journey.list | sort | reverse | uniq | first %}{{ x }}", "{{ journey.list | map: 'a' | compact | size }}",
        "{{ profile.traits['\ud800'] }}", "{{ 'x' | url_decode | url_encode | base64_decode }}", "{% tablerow i in (1..100000) %}{{ i }}{% endtablerow %}",
    ];

    private static string HostileTemplate(Random r)
    {
        var text = "Hello {{ profile.first_name | default: 'there' }}, your total is {{ event.properties.total }}.";
        for (var i = r.Next(1, 4); i > 0; i--)
        {
            var at = r.Next(text.Length + 1);
            text = text[..at] + Pick(r, TemplatePieces) + text[at..];
        }

        return text;
    }

    /// <summary>
    /// Hostile template text is refused at load with its line and column, or loads and renders hostile data within the
    /// budget (rendered, or refused with a render error); never an exception, never a stall.
    /// </summary>
    [Property(Arbitrary = [typeof(U50Seeds)], MaxTest = 60)]
    public void AHostileTemplate_IsRefusedWithALocation_OrRendersWithinLimits(int seed)
    {
        var r = new Random(seed);
        var text = HostileTemplate(r);
        var subject = r.Next(3) == 0 ? HostileTemplate(r) : "Hi";
        var document = new TemplateDocument("t", [TemplateVariant.Email(subject, text, text), TemplateVariant.Sms(text), TemplateVariant.Push(subject, text, "https://shop.example/{{ journey.text }}")]);
        var loaded = Bounded(() => TemplateRenderer.Load([document], new TemplateRendererOptions { RenderTimeout = TimeSpan.FromSeconds(2) }), Shorten(text));
        foreach (var e in loaded.Errors)
        {
            Assert.True(e.Line >= 1 && e.Column >= 1 || e.Kind != TemplateErrorKind.Syntax, $"{e} in {Shorten(text)}");
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
        }

        if (!loaded.Succeeded)
        {
            return;
        }

        var hostileEvent = new CustomerEvent
        {
            Id = "e",
            Type = EventTypes.OrderPlaced,
            Timestamp = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero),
            Identifiers = [Identifier.CustomerId("c")],
            Properties = Element(AuditU50JsonMutator.Mutate("""{"order_id":"o","total":1.5,"items":[{"name":"a","price":1}]}""", r, textMutations: false)),
            Context = new EventContext { Locale = Pick(r, HostileTexts), TimeZone = Pick(r, HostileTexts), DeviceType = Pick(r, HostileTexts) },
        };
        var journey = new Dictionary<string, object?>
        {
            ["text"] = Pick(r, HostileTexts),
            ["big"] = r.Next(2) == 0 ? 1e308 : double.NaN,
            ["list"] = Element(AuditU50JsonMutator.Mutate("""[{"a":1},{"a":"x"},null]""", r, textMutations: false)),
            ["deep"] = Element(string.Concat(Enumerable.Repeat("{\"a\":", 500)) + "1" + new string('}', 500)),
        };
        foreach (var channel in new[] { ChannelNames.Email, ChannelNames.Sms, ChannelNames.Push })
        {
            var context = new RenderContext { Now = hostileEvent.Timestamp, Event = hostileEvent, Journey = journey, Locale = Pick(r, HostileTexts), TimeZone = Pick(r, HostileTexts) };
            var result = Bounded(() => loaded.Renderer.Render("t", channel, context), Shorten(text));
            if (!result.Succeeded)
            {
                Assert.NotEmpty(result.Errors);
                Assert.All(result.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Message)));
            }
        }
    }
}


/// <summary>Audit U50's deterministic regressions for what the properties above found in the core.</summary>
public sealed class AuditU50RegressionTests
{
    private static TemplateRenderer Renderer() =>
        TemplateRenderer.Load([new TemplateDocument("t", [TemplateVariant.Sms("Hi {{ profile.first_name | default: 'there' }}")])]).Renderer;

    [Fact]
    public void RenderData_NestedFiftyThousandLevelsDeep_FailsWithItsPath_InsteadOfOverflowingTheStack()
    {
        // Before: LiquidData converted the data recursively, and the stack overflowed: the process ended.
        var deep = JsonDocument.Parse(new string('[', 50_000) + "1" + new string(']', 50_000), new JsonDocumentOptions { MaxDepth = 60_000 }).RootElement;
        var context = new RenderContext { Now = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero), Journey = new Dictionary<string, object?> { ["deep"] = deep } };

        var result = Renderer().Render("t", ChannelNames.Sms, context);

        Assert.False(result.Succeeded);
        var error = Assert.Single(result.Errors);
        Assert.Equal(TemplateErrorKind.Render, error.Kind);
        Assert.StartsWith("The data at journey.deep[0][0]", error.Message, StringComparison.Ordinal);
        Assert.Contains("nested more than 64 levels deep", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderData_ADictionaryHoldingItself_FailsWithItsPath_InsteadOfOverflowingTheStack()
    {
        var loop = new Dictionary<string, object?>();
        loop["self"] = loop;
        var context = new RenderContext { Now = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero), Journey = new Dictionary<string, object?> { ["loop"] = loop } };

        var result = Renderer().Render("t", ChannelNames.Sms, context);

        Assert.StartsWith("The data at journey.loop.self.self", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderData_ThatCannotBeSerialized_FailsWithItsPath_InsteadOfThrowing()
    {
        // A host object with a cycle through JSON: the JsonException escaped Render.
        var node = new Node();
        node.Next = node;
        var context = new RenderContext { Now = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero), Journey = new Dictionary<string, object?> { ["order"] = new Dictionary<string, object?> { ["node"] = node } } };

        var result = Renderer().Render("t", ChannelNames.Sms, context);

        var message = Assert.Single(result.Errors).Message;
        Assert.StartsWith("The data at journey.order.node could not be converted", message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderData_SixtyThreeLevelsDeep_StillRenders()
    {
        var json = string.Concat(Enumerable.Repeat("{\"a\":", 63)) + "\"leaf\"" + new string('}', 63);
        var template = TemplateRenderer.Load([new TemplateDocument("t", [TemplateVariant.Sms("{{ journey.deep" + string.Concat(Enumerable.Repeat(".a", 63)) + " }}")])]).Renderer;
        var context = new RenderContext { Now = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero), Journey = new Dictionary<string, object?> { ["deep"] = JsonDocument.Parse(json).RootElement } };

        Assert.Equal("leaf", template.Render("t", ChannelNames.Sms, context).GetValueOrThrow().Body);
    }

    public sealed class Node
    {
        public Node? Next { get; set; }
    }
}


/// <summary>Audit U50: render data with text that cannot be decoded.</summary>
public sealed class AuditU50RenderTextTests
{
    [Theory]
    [InlineData("""{"items":[{"name":"\udc00"}]}""", "The data at event.properties.items[0].name is text that cannot be decoded")]
    [InlineData("""{"a":{"\ud800":1}}""", "The data at event.properties.a has a key that cannot be decoded")]
    public void EventProperties_WithALoneSurrogate_FailTheRenderWithThePath_InsteadOfThrowing(string properties, string expected)
    {
        // Before: the InvalidOperationException of JsonElement.GetString escaped TemplateRenderer.Render.
        var renderer = TemplateRenderer.Load([new TemplateDocument("t", [TemplateVariant.Sms("Hi")])]).Renderer;
        var e = new CustomerEvent
        {
            Id = "e",
            Type = EventTypes.OrderPlaced,
            Timestamp = new DateTimeOffset(2026, 5, 1, 10, 0, 0, TimeSpan.Zero),
            Identifiers = [Identifier.CustomerId("c")],
            Properties = JsonDocument.Parse(properties).RootElement,
        };

        var result = renderer.Render("t", ChannelNames.Sms, new RenderContext { Now = e.Timestamp, Event = e });

        Assert.StartsWith(expected, Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }
}
