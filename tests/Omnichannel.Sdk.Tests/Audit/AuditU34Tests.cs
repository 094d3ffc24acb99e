using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U34: bug classes from public reports (round 34: live profile state other than identity and consent): the
/// wishlist, contact preferences, lifecycle stage, traits (nulls, nested objects, arrays, numbers, merges), the timeline
/// and the export. Each test names the reports it comes from; everything runs through the public API on a fake clock.
/// </summary>
public sealed class AuditU34Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly Identifier Cookie = Identifier.AnonymousId("cookie-1");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);

    private static OmnichannelTestHost Host() => OmnichannelTestHost.Create(start: Start);

    // ---- 1. A null in a preference centre's update removes that preference ----
    // grouparoo/grouparoo#279 (profile properties removed by nulling them), exodev/social#358 ("profile attributes were
    // not updated if the new value was null. This did not allow to reset profile values"), Meeds-io/social#3549 (a
    // removed profile property was not removed). Before: `max_messages: null` was accepted and changed nothing, so a
    // customer who lifted her limit of 2 a week stayed capped at 2 for ever; `preferred_channels: null` kept "sms" first.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ANullInAPreferencesUpdate_RemovesThatPreference_InEitherArrivalOrder(bool lateFirst)
    {
        await using var host = Host();
        await host.AdvanceAsync(TimeSpan.FromHours(2));
        var set = host.Event(EventTypes.PreferencesUpdated, [Ann], JsonData.Parse("""{"preferred_channels": ["sms"], "max_messages": 2, "period": "P7D"}"""), at: Start.AddMinutes(10));
        var cleared = host.Event(EventTypes.PreferencesUpdated, [Ann], JsonData.Parse("""{"preferred_channels": null, "max_messages": null}"""), at: Start.AddMinutes(20));
        foreach (var e in lateFirst ? new[] { cleared, set } : [set, cleared])
        {
            Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(e)).Status);
        }

        var prefs = (await host.ProfileAsync(Ann)).Preferences;
        Assert.NotNull(prefs);
        Assert.Empty(prefs.PreferredChannels);
        Assert.Null(prefs.MaxMessages);
        Assert.Equal(TimeSpan.FromDays(7), prefs.Period); // left out of the update: kept
        Assert.Equal(Start.AddMinutes(20), prefs.UpdatedAt);
    }

    // The rule for every history: any arrival order of the same preference updates (values, nulls, parts left out) gives
    // the preferences that time order gives.
    [Property(MaxTest = 40)]
    public bool PreferenceUpdates_InAnyArrivalOrder_GiveTheTimeOrderPreferences(int[] picks, int seed)
    {
        string[] bodies =
        [
            """{"preferred_channels": ["email", "sms"]}""", """{"preferred_channels": null}""", """{"preferred_channels": []}""",
            """{"max_messages": 3, "period": "P7D"}""", """{"max_messages": null}""", """{"period": "P1D"}""", """{"period": null}""",
            """{"preferred_channels": ["push"], "max_messages": 1}""",
        ];
        var history = (picks ?? []).Take(8).Select((x, i) => (At: Start.AddMinutes(i % 3 == 2 ? i - 1 : i), Body: bodies[Math.Abs(x % bodies.Length)])).ToList();
        if (history.Count == 0)
        {
            return true;
        }

        var shuffled = history.OrderBy(_ => 0).ToList();
        var rng = new Random(seed);
        for (var i = shuffled.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
        }

        return Run(history).GetAwaiter().GetResult() == Run(shuffled).GetAwaiter().GetResult();

        static async Task<string> Run(List<(DateTimeOffset At, string Body)> events)
        {
            await using var host = Host();
            await host.AdvanceAsync(TimeSpan.FromHours(1));
            foreach (var (at, body) in events)
            {
                // Ids by time, so both runs send the same events.
                await host.Client.TrackAsync(new CustomerEvent
                {
                    Id = $"pref-{at.Minute:D2}-{body.GetHashCode(StringComparison.Ordinal):X8}",
                    Type = EventTypes.PreferencesUpdated,
                    Timestamp = at,
                    Identifiers = [Ann],
                    Properties = JsonData.Parse(body),
                });
            }

            var p = (await host.ProfileAsync(Ann)).Preferences;
            return p is null ? "none" : $"{string.Join(",", p.PreferredChannels)}|{p.MaxMessages}|{p.Period}|{p.UpdatedAt:O}";
        }
    }

    // ---- 2. A wishlist item shows the product's newest name ----
    // stores-cedcommerce/...#20 ("Product name not showing on wishlist"), openfoodfoundation/openfoodnetwork#5274
    // ("Product item name not updating"), d-Rickyy-b/Python-GeizhalsBot#29 (the old name still shown after a rename).
    // Before: the item kept its first add's name, so an add from a client that sent no name (a bare product id from the
    // app) left it nameless after the web sent "Red scarf", and a renamed product kept its old name. The item is still
    // dated by its first add, as the cart's line keeps the newest name.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AWishlistItem_ShowsTheNewestNameSent_AndIsDatedByItsFirstAdd(bool lateFirst)
    {
        await using var host = Host();
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        var events = new[]
        {
            host.Event(EventTypes.WishlistItemAdded, [Ann], new { product_id = "p1" }, at: Start.AddMinutes(5)),
            host.Event(EventTypes.WishlistItemAdded, [Ann], new { product_id = "p1", name = "Red scarf" }, at: Start.AddMinutes(10)),
            host.Event(EventTypes.WishlistItemAdded, [Ann], new { product_id = "p2", name = "Lamp" }, at: Start.AddMinutes(11)),
            host.Event(EventTypes.WishlistItemAdded, [Ann], new { product_id = "p2", name = "Desk lamp" }, at: Start.AddMinutes(12)),
            host.Event(EventTypes.WishlistItemAdded, [Ann], new { product_id = "p2" }, at: Start.AddMinutes(13)),
        };
        foreach (var e in lateFirst ? events.Reverse() : events)
        {
            await host.TrackAsync(e);
        }

        var wishlist = (await host.ProfileAsync(Ann)).Wishlist;
        Assert.Equal([("p1", "Red scarf", Start.AddMinutes(5)), ("p2", "Desk lamp", Start.AddMinutes(11))],
            wishlist.Select(w => (w.ProductId, w.Name, w.AddedAt)).ToArray());
    }

    // ---- 3. A removed wishlist item stays removed, and one added again is back, in any arrival order ----
    // Swym/Wishlist Plus "removed item reappears after sync" (the class U16 pinned for one late add), here as a rule over
    // any history of adds and removals of two products delivered in any order (PostHog/posthog#6834 "ingest events
    // backwards": the same state whatever the order).
    [Property(MaxTest = 40)]
    public bool AWishlistHistory_InAnyArrivalOrder_GivesTheTimeOrderWishlist(int[] picks, int seed)
    {
        var history = (picks ?? []).Take(10).Select((x, i) => (At: Start.AddMinutes(i), Remove: (x & 1) == 1, Product: (x & 2) == 0 ? "p1" : "p2", Name: "N" + Math.Abs(x % 3))).ToList();
        if (history.Count == 0)
        {
            return true;
        }

        var shuffled = history.ToList();
        var rng = new Random(seed);
        for (var i = shuffled.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
        }

        var inOrder = Run(history).GetAwaiter().GetResult();
        var expected = string.Join(";", history.GroupBy(h => h.Product).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            (DateTimeOffset At, string Name)? item = null;
            foreach (var h in g)
            {
                item = h.Remove ? null : item is { } it ? (it.At, h.Name) : (h.At, h.Name);
            }

            return item is { } x ? $"{g.Key}:{x.Name}:{x.At:O}" : null;
        }).Where(s => s is not null));
        return inOrder == expected && Run(shuffled).GetAwaiter().GetResult() == expected;

        static async Task<string> Run(List<(DateTimeOffset At, bool Remove, string Product, string Name)> events)
        {
            await using var host = Host();
            await host.AdvanceAsync(TimeSpan.FromHours(1));
            foreach (var (at, remove, product, name) in events)
            {
                await host.Client.TrackAsync(new CustomerEvent
                {
                    Id = $"w-{at.Minute:D2}",
                    Type = remove ? EventTypes.WishlistItemRemoved : EventTypes.WishlistItemAdded,
                    Timestamp = at,
                    Identifiers = [Ann],
                    Properties = remove ? JsonData.From(new { product_id = product }) : JsonData.From(new { product_id = product, name }),
                });
            }

            var p = await host.Client.GetProfileAsync(Ann);
            return string.Join(";", (p?.Wishlist ?? []).OrderBy(w => w.ProductId, StringComparer.Ordinal).Select(w => $"{w.ProductId}:{w.Name}:{w.AddedAt:O}"));
        }
    }

    // ---- 4. The timeline's summary of a huge value is bounded ----
    // datalust/seq-tickets#220 ("massive event payloads cause problems for both querying and rendering"),
    // chrisrocco/tempo#148 (history carries references, not payloads). Before: a product name or search of 30,000
    // characters was copied whole into the summary of every timeline entry, so 200 such views made a 6 MB profile that
    // every commit wrote again. The summary is now cut at 200 characters, the event is kept as it was.
    [Fact]
    public async Task ATimelineSummaryOfAHugeValue_IsCut_AndKeepsSurrogatePairsWhole()
    {
        await using var host = Host();
        var name = "🧣" + new string('x', 30_000);
        await host.TrackAsync(EventTypes.ProductViewed, [Ann], new { product_id = "p1", name });
        await host.TrackAsync(EventTypes.ProductSearched, [Ann], new { query = string.Concat(Enumerable.Repeat("😀", 2_000)) });
        await host.TrackAsync(EventTypes.WishlistItemAdded, [Ann], new { product_id = "p1", name = "Red scarf" });
        var p = await host.ProfileAsync(Ann);
        var summaries = p.Timeline.Select(t => t.Summary!).ToList();
        Assert.All(summaries, s => Assert.InRange(s.Length, 1, 201));
        Assert.All(summaries, s => Assert.False(char.IsHighSurrogate(s[^1]) || (s.EndsWith('…') && char.IsHighSurrogate(s[^2]))));
        Assert.StartsWith("🧣xxx", summaries[0], StringComparison.Ordinal);
        Assert.EndsWith("…", summaries[0], StringComparison.Ordinal);
        Assert.Equal("Red scarf", summaries[2]); // a short one as it was
    }

    // ---- 5. Nested traits on both sides of a merge keep the leaves of both; a conflict stays a value ----
    // apache/unomi#262 (UNOMI-443: "when merging profiles, nested properties overrides"; fixed by flattening),
    // Tracardi/tracardi#474 ("merging should not change field from string to array of strings"). Held.
    [Fact]
    public async Task AMerge_KeepsNestedLeavesOfBothSides_AndAConflictingValueStaysOneValue()
    {
        await using var host = Host();
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync("profile.updated", [Cookie], traits: new { address = new { city = "Lyon" }, plan = "free" }, at: Start.AddMinutes(10));
        await host.TrackAsync("profile.updated", [Ann], traits: new { address = new { zip = "69001" }, plan = "pro" }, at: Start.AddMinutes(20));
        await host.TrackAsync("user.logged_in", [Ann, Cookie], at: Start.AddMinutes(30));
        var traits = (await host.ProfileAsync(Cookie)).Traits;
        Assert.Equal("""{"address":{"city":"Lyon","zip":"69001"},"plan":"pro"}""", traits.ToJsonString());
    }

    // ---- 6. Numbers are kept as sent: large integers, trailing zeros, exponents ----
    // cline/cline#9589 (7960607143101464576 passed on as 7960607143101465000), langgenius/dify#35115 (integers through
    // float lose their last digits), awslabs/deequ#527 (a 19-digit long read as a double). Held: a trait is kept as its
    // JSON text, in the profile, its JSON and the export.
    [Fact]
    public async Task NumericTraits_AreKeptDigitForDigit_InTheProfileAndTheExport()
    {
        await using var host = Host();
        await host.TrackAsync("profile.updated", [Ann], traits: JsonData.Parse("""{"crm_id": 7960607143101464577, "big": 25227143063332189585438, "ratio": 0.10, "sci": 1E2, "neg": -0.0}"""));
        var p = await host.ProfileAsync(Ann);
        Assert.True(p.TryGetTrait("crm_id", out var id));
        Assert.Equal("7960607143101464577", id.GetRawText());
        Assert.Equal("""{"big":25227143063332189585438,"crm_id":7960607143101464577,"neg":-0.0,"ratio":0.10,"sci":1E2}""", p.Traits.ToJsonString());
        var export = await host.Client.ExportProfileAsync(Ann);
        Assert.Equal("25227143063332189585438", export!["traits"]!["big"]!.ToJsonString());
        Assert.Equal("0.10", export["traits"]!["ratio"]!.ToJsonString());
    }

    // ---- 7. Arrays are values: kept whole with their nulls, and replaced whole ----
    // dhis2/d2#96 (attribute values removed when one of them is null or empty), grouparoo/grouparoo#621 (the export
    // serializer threw on a null property value), Tracardi/tracardi#474. Held: a null inside an array is an element, not
    // a removal; a newer array replaces the older one (no union), an older one arriving late changes nothing.
    [Fact]
    public async Task AnArrayTrait_KeepsItsNulls_AndIsReplacedWhole_ByTime()
    {
        await using var host = Host();
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync("profile.updated", [Ann], traits: JsonData.Parse("""{"tags": ["b", null, {"k": null}], "sizes": [38, 39]}"""), at: Start.AddMinutes(20));
        await host.TrackAsync("profile.updated", [Ann], traits: JsonData.Parse("""{"tags": ["a", "z"], "sizes": []}"""), at: Start.AddMinutes(10));
        var p = await host.ProfileAsync(Ann);
        Assert.Equal("""{"sizes":[38,39],"tags":["b",null,{"k":null}]}""", p.Traits.ToJsonString());
        var export = await host.Client.ExportProfileAsync(Ann);
        Assert.Equal("""["b",null,{"k":null}]""", export!["traits"]!["tags"]!.ToJsonString());
    }

    // ---- 8. Lifecycle stage after a merge counts her orders once, and the export says the same ----
    // PostHog/posthog#9157 and #7454 (properties of a merged person taken from one side), unchainedshop/unchained#478.
    // Held: a visitor's cookie profile merged with a lead who ordered once is a customer; one order id on both sides is
    // one order; a second order makes her a repeat customer; the export's lifecycleStage agrees.
    [Fact]
    public async Task TheLifecycleStage_AfterAMerge_CountsHerOrdersOnce_AndTheExportAgrees()
    {
        await using var host = Host();
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o1", total = 20, currency = "EUR" }, at: Start.AddMinutes(5));
        Assert.Equal(LifecycleStage.Customer, (await host.ProfileAsync(Cookie)).LifecycleStage);
        await host.TrackAsync(EventTypes.OrderPlaced, [AnnMail], new { order_id = "o1", total = 20, currency = "EUR" }, at: Start.AddMinutes(6));
        await host.TrackAsync("user.logged_in", [AnnMail, Cookie], at: Start.AddMinutes(10));
        var p = await host.ProfileAsync(Cookie);
        Assert.Equal((1, LifecycleStage.Customer), (p.Statistics.OrderCount, p.LifecycleStage));
        await host.TrackAsync(EventTypes.OrderPlaced, [Cookie], new { order_id = "o2", total = 5, currency = "EUR" }, at: Start.AddMinutes(20));
        p = await host.ProfileAsync(AnnMail);
        Assert.Equal(LifecycleStage.RepeatCustomer, p.LifecycleStage);
        var export = await host.Client.ExportProfileAsync(AnnMail);
        Assert.Equal(JsonSerializer.Serialize(p.LifecycleStage), export!["lifecycleStage"]!.ToJsonString());
    }

    // ---- 9. A newer null hides an older value arriving late, nested and flat; an empty string is a value ----
    // segmentio/analytics-java#351 and PostHog/posthog#37000 ("only set person properties if timestamp is newer"),
    // keycloak/keycloak#27831 (only empty values remove an attribute there; here only null does). Held.
    [Fact]
    public async Task ANewerNull_HidesAnOlderValueArrivingLate_AndAnEmptyStringIsKeptAsAValue()
    {
        await using var host = Host();
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync("profile.updated", [Ann], traits: JsonData.Parse("""{"address": null, "nickname": ""}"""), at: Start.AddMinutes(30));
        await host.TrackAsync("profile.updated", [Ann], traits: JsonData.Parse("""{"address": {"city": "Lyon", "geo": {"lat": 45.7}}, "nickname": "Annie"}"""), at: Start.AddMinutes(10));
        var p = await host.ProfileAsync(Ann);
        Assert.Equal("""{"nickname":""}""", p.Traits.ToJsonString());
        Assert.False(p.TryGetTrait("address.geo.lat", out _));
    }
    // ---- 10. An empty channel list reads back as an empty list, not null ----
    // grouparoo/grouparoo#621 (the export serializer threw on a null profile property value), grouparoo/grouparoo#279.
    // Before: the stored document leaves empty lists out, so after `preferred_channels: []` (she unticked every channel)
    // the profile read back held PreferredChannels = null, typed as a list that is never null: a host's
    // `prefs.PreferredChannels.Count` threw a NullReferenceException and the export wrote nothing for it.
    [Fact]
    public async Task AnEmptyPreferredChannelList_ReadsBackAsAnEmptyList_InTheProfileAndTheExport()
    {
        await using var host = Host();
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.TrackAsync(EventTypes.PreferencesUpdated, [Ann], JsonData.Parse("""{"preferred_channels": ["sms"]}"""), at: Start.AddMinutes(10));
        await host.TrackAsync(EventTypes.PreferencesUpdated, [Ann], JsonData.Parse("""{"preferred_channels": [], "max_messages": 4, "period": "P7D"}"""), at: Start.AddMinutes(20));
        var prefs = (await host.ProfileAsync(Ann)).Preferences!;
        Assert.NotNull(prefs.PreferredChannels);
        Assert.Empty(prefs.PreferredChannels);
        Assert.Equal(4, prefs.MaxMessages);
        var export = await host.Client.ExportProfileAsync(Ann);
        Assert.Equal("[]", export!["preferences"]!["preferredChannels"]!.ToJsonString());
    }
}
