using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>One generated step of audit DV.</summary>
/// <param name="Kind">Which kind of step (see <see cref="AuditDefinitionChangeProperties.RunAsync"/>).</param>
/// <param name="Who">Which person (0–2).</param>
/// <param name="Variant">Picks values within the kind.</param>
/// <param name="Other">A second choice (an identifier, a slot, C# or JSON…).</param>
public sealed record DefinitionChangeStep(int Kind, int Who, int Variant, int Other);

/// <summary>FsCheck generators for audit DV.</summary>
public static class DefinitionChangeArbitrary
{
    public static Arbitrary<DefinitionChangeStep[]> Steps() =>
        Gen.ListOf(
                from kind in Gen.Frequency(
                    (3, Gen.Constant(0)),   // order placed
                    (2, Gen.Constant(1)),   // product viewed
                    (3, Gen.Constant(2)),   // cart item added (starts the journey)
                    (2, Gen.Constant(3)),   // trait update
                    (1, Gen.Constant(4)),   // login linking her cookie to her customer id
                    (4, Gen.Constant(5)),   // time passing
                    (4, Gen.Constant(6)),   // add or replace a segment (C# or JSON)
                    (2, Gen.Constant(7)),   // remove a segment
                    (3, Gen.Constant(8)),   // publish a journey version
                    (1, Gen.Constant(9)),   // remove the journey
                    (2, Gen.Constant(10)),  // publish or remove a journey that starts on segment s1
                    (2, Gen.Constant(11)),  // an event racing a segment change or a journey publish
                    (1, Gen.Constant(12)))  // a journey version published with its visit cancelled
                from who in Gen.Choose(0, 2)
                from variant in Gen.Choose(0, 11)
                from other in Gen.Choose(0, 7)
                select new DefinitionChangeStep(kind, who, variant, other))
            .Select(s => s.Take(60).ToArray())
            .ToArbitrary();
}

/// <summary>
/// Audit DV: definitions that change under live traffic, as a property. Three people (a customer id with an email, and a
/// cookie that a login links to her), events of every kind, time passing, and segments and journey versions added,
/// replaced and removed through the public API between them. After every step: each loaded segment's live membership
/// (on the profile and in the members list) equals a from-scratch evaluation of its current definition over the same
/// profiles; no message key reaches the transport twice; every running journey instance has a wake-up still to come and
/// sits on a step of its version that the newest version still has (the documented rule for a new version); after a
/// removal no instance of the journey runs and none that ran sends again. At the end, three days later, nothing runs.
/// </summary>
/// <remarks>
/// Anchor segments with no window over product views, cart adds and orders (with their totals) keep the whole history
/// of those types, so a slot segment added at run time is back-filled exactly (the documented limit of run-time
/// changes, "Segments (live, exact)", does not apply).
/// </remarks>
public sealed class AuditDefinitionChangeProperties
{
    private static readonly Identifier[] Customers = [Identifier.CustomerId("dv0"), Identifier.CustomerId("dv1"), Identifier.CustomerId("dv2")];
    private static readonly Identifier[] Emails = [Identifier.Email("dv0@example.com"), Identifier.Email("dv1@example.com"), Identifier.Email("dv2@example.com")];
    private static readonly Identifier[] Cookies = [Identifier.AnonymousId("dv-cookie-0"), Identifier.AnonymousId("dv-cookie-1"), Identifier.AnonymousId("dv-cookie-2")];

    private static readonly SegmentDefinition[] Anchors =
    [
        Segment.Define("a-views", "Ever viewed").Where(r => r.Event(EventTypes.ProductViewed).Count(c => c.Gte(1))).Build(),
        Segment.Define("a-carts", "Ever added").Where(r => r.Event(EventTypes.CartItemAdded).Count(c => c.Gte(1))).Build(),
        Segment.Define("a-orders", "Ever spent").Where(r => r.Sum(EventTypes.OrderPlaced, "total").Gte(1)).Build(),
    ];

    private static readonly string[] Slots = ["s0", "s1"];

    internal static SegmentDefinition SlotSegment(string id, int variant) => (variant % 9) switch
    {
        0 => Segment.Define(id, "vip").Where(r => r.Trait("tier").Eq("vip")).Build(),
        1 => Segment.Define(id, "vip or gold").Where(r => r.Trait("tier").In("vip", "gold")).Build(),
        2 => Segment.Define(id, "ordered in 7 days").Where(r => r.Event(EventTypes.OrderPlaced).Within("P7D")).Build(),
        3 => Segment.Define(id, "spent 150 in 30 days").Where(r => r.Sum(EventTypes.OrderPlaced, "total").Gte(150).Within("P30D")).Build(),
        4 => Segment.Define(id, "viewed in 3 days").Where(r => r.Event(EventTypes.ProductViewed).Within("P3D")).Build(),
        5 => Segment.Define(id, "cart, no order, 1 day").Where(r => r.All(
            r.Event(EventTypes.CartItemAdded).Within("P1D"),
            r.Not(r.Event(EventTypes.OrderPlaced).Within("P1D")))).Build(),
        6 => Segment.Define(id, "spent 100").Where(r => r.Stat(ProfileStatisticNames.TotalSpent).Gte(100)).Build(),
        7 => Segment.Define(id, "two orders").Where(r => r.Stat(ProfileStatisticNames.OrderCount).Gte(2)).Build(),
        _ => Segment.Define(id, "big order in 2 days").Where(r => r.Event(EventTypes.OrderPlaced).Where(r.Property("total").Gte(120)).Within("P2D")).Build(),
    };

    internal static JourneyDefinition CartJourney(int version, int variant)
    {
        var steps = (variant % 5) switch
        {
            0 => """
                 [{"id": "wait", "type": "delay", "duration": "PT1H"},
                  {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"},
                  {"id": "wait2", "type": "delay", "duration": "P1D"},
                  {"id": "again", "type": "send", "channels": ["email"], "template": "cart-again", "class": "transactional"}]
                 """,
            1 => """
                 [{"id": "wait", "type": "delay", "duration": "PT2H"},
                  {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]
                 """,
            2 => """
                 [{"id": "pause", "type": "delay", "duration": "PT30M"},
                  {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"},
                  {"id": "wait2", "type": "delay", "duration": "PT6H"},
                  {"id": "again", "type": "send", "channels": ["email"], "template": "cart-again", "class": "transactional"}]
                 """,
            3 => """
                 [{"id": "wait", "type": "waitForEvent", "branches": [{"event": "product.viewed", "next": "remind"}], "timeout": "PT4H", "timeoutNext": "remind"},
                  {"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"}]
                 """,
            _ => """
                 [{"id": "remind", "type": "send", "channels": ["email"], "template": "cart-reminder", "class": "transactional"},
                  {"id": "wait", "type": "delay", "duration": "PT3H"},
                  {"id": "again", "type": "send", "channels": ["email"], "template": "cart-again", "class": "transactional"}]
                 """,
        };
        return JourneyRig.Parse($$"""
            {"id": "cart", "version": {{version}}, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "entry": {{(variant % 3 == 0 ? CooldownEntry : "{}")}}, "exit": [{"event": "order.placed"}], "steps": {{steps}}}
            """);
    }

    private const string CooldownEntry = """{"reEntry": "afterCooldown", "cooldown": "PT12H"}""";

    internal static JourneyDefinition SegmentJourney(int version, int variant) => JourneyRig.Parse($$"""
        {"id": "seg", "version": {{version}}, "name": "Seg", "trigger": {"type": "segment", "segment": "s1", "on": "entered"},
         "steps": [{"id": "{{(variant % 2 == 0 ? "hold" : "pause")}}", "type": "delay", "duration": "PT{{1 + (variant % 5)}}H"},
                   {"id": "hello", "type": "send", "channels": ["email"], "template": "cart-again", "class": "transactional"}]}
        """);

    [Property(Arbitrary = [typeof(DefinitionChangeArbitrary)], MaxTest = 100)]
    public void LiveMembershipEqualsFromScratch_AndJourneysNeitherRepeatNorStrand_WhileDefinitionsChange(DefinitionChangeStep[] steps) =>
        RunAsync(steps).GetAwaiter().GetResult();

    // CI's failing case (2026-12-04): a removal ended her account's seg#1, her guest profile started its own seg#1 after
    // the journey was published again, and the login merged them; the running instance took the ended one's id.
    [Property(Arbitrary = [typeof(DefinitionChangeArbitrary)], MaxTest = 1, Replay = "(6807296621582565195,12489241852157411615,86)")]
    public void Replay_AMergedInstance_DoesNotTakeTheIdOfOneARemovalEnded(DefinitionChangeStep[] steps) =>
        RunAsync(steps).GetAwaiter().GetResult();

    internal static async Task RunAsync(DefinitionChangeStep[] steps)
    {
        // Version 1 names every template the variants use, so the rig loads them all.
        await using var rig = JourneyRig.Create([CartJourney(1, 0)], Anchors, o => o.Partitions = 2);
        var host = rig.Host;

        // The versions of the journey's current incarnation (what the engine keeps loaded), and the newest version number.
        var versions = new Dictionary<int, JourneyDefinition> { [1] = CartJourney(1, 0) };
        var nextVersion = 2;
        var segVersions = new Dictionary<int, JourneyDefinition>();
        var nextSegVersion = 1;
        var slots = new Dictionary<string, SegmentDefinition>(StringComparer.Ordinal);
        var seen = new List<Identifier>();
        var ended = new HashSet<string>(StringComparer.Ordinal); // profile:instance of instances a removal ended
        var sentBefore = new HashSet<string>(StringComparer.Ordinal); // keys handed over before the latest removal
        var stale = new HashSet<string>(StringComparer.Ordinal); // instances a cancelled visit left on a step the newest version lacks
        var log = new List<string>();

        for (var i = 0; i < 3; i++)
        {
            await rig.TrackAsync("user.signed_up", [Customers[i], Emails[i]]);
            seen.Add(Customers[i]);
        }

        var orderNo = 0;
        foreach (var step in steps)
        {
            var who = step.Who;
            var now = host.Time.GetUtcNow();
            switch (step.Kind)
            {
                case 0:
                    log.Add($"order {who} {10 * (step.Variant + 1)}");
                    await rig.TrackAsync(EventTypes.OrderPlaced, [Customers[who]], new { order_id = $"o{++orderNo}", total = 10 * (step.Variant + 1), currency = "GBP" });
                    break;
                case 1:
                    var viewer = step.Other % 2 == 0 ? Cookies[who] : Customers[who];
                    log.Add($"view {viewer}");
                    await rig.TrackAsync(EventTypes.ProductViewed, [viewer], new { product_id = "p" + step.Variant });
                    if (!seen.Contains(viewer))
                    {
                        seen.Add(viewer);
                    }

                    break;
                case 2:
                    log.Add($"cart {who}");
                    await rig.TrackAsync(EventTypes.CartItemAdded, [Customers[who]], new { cart_id = "c" + step.Variant, product_id = "p" });
                    break;
                case 3:
                    var tier = (step.Variant % 3) switch { 0 => "vip", 1 => "gold", _ => "basic" };
                    log.Add($"tier {who} {tier}");
                    await rig.TrackAsync("profile.updated", [Customers[who]], traits: new { tier });
                    break;
                case 4:
                    log.Add($"login {who}");
                    await rig.TrackAsync("user.logged_in", [Cookies[who], Customers[who]]);
                    if (!seen.Contains(Cookies[who]))
                    {
                        seen.Add(Cookies[who]);
                    }

                    break;
                case 5:
                    var by = (step.Variant % 4) switch
                    {
                        0 => TimeSpan.FromMinutes(20 + (7 * step.Other)),
                        1 => TimeSpan.FromHours(1 + step.Other),
                        2 => TimeSpan.FromHours(12 + (3 * step.Other)),
                        _ => TimeSpan.FromDays(2 + step.Other),
                    };
                    log.Add($"advance {by}");
                    await rig.AdvanceAsync(by);
                    break;
                case 6:
                    var slot = Slots[step.Other % 2];
                    var definition = SlotSegment(slot, step.Variant);
                    if (step.Other >= 4)
                    {
                        var parsed = SegmentJson.Parse(SegmentJson.Serialize(definition));
                        Assert.Empty(parsed.Errors);
                        definition = parsed.Value!;
                    }

                    log.Add($"upsert {slot} {step.Variant % 9} {(step.Other >= 4 ? "json" : "c#")}");
                    await (await host.Client.UpsertSegmentAsync(definition)).Completion;
                    slots[slot] = definition;
                    break;
                case 7:
                    var gone = Slots[step.Other % 2];
                    log.Add($"remove {gone}");
                    if (gone == "s1" && segVersions.Count > 0)
                    {
                        // Decided: a segment a journey starts on cannot be removed (remove the journey first).
                        await Assert.ThrowsAsync<SegmentDefinitionException>(async () => await host.Client.RemoveSegmentAsync(gone));
                        break;
                    }

                    Assert.Equal(slots.Remove(gone), await host.Client.RemoveSegmentAsync(gone));
                    break;
                case 8:
                    var version = versions.Count == 0 && step.Other % 2 == 0 ? 1 : nextVersion;
                    var journey = CartJourney(version, step.Variant);
                    log.Add($"publish v{version} variant {step.Variant % 4}");
                    await rig.Engine.PublishJourneyAsync(journey);
                    versions[version] = journey;
                    nextVersion = Math.Max(nextVersion, version + 1);
                    break;
                case 10:
                    if (segVersions.Count > 0 && step.Variant % 3 == 0)
                    {
                        log.Add("remove seg");
                        var runningSeg = new List<string>();
                        foreach (var p in await ProfilesAsync(host, seen))
                        {
                            runningSeg.AddRange(p.Journeys.Where(j => j.JourneyId == "seg").Select(j => p.Id + ":" + j.InstanceId));
                        }

                        Assert.True(await rig.Engine.RemoveJourneyAsync("seg"));
                        segVersions.Clear();
                        ended.UnionWith(runningSeg);
                        sentBefore.UnionWith(rig.Recorder.Records.Select(r => r.Message.MessageId));
                    }
                    else if (slots.ContainsKey("s1"))
                    {
                        var v = nextSegVersion++;
                        log.Add($"publish seg v{v} variant {step.Variant}");
                        await rig.Engine.PublishJourneyAsync(SegmentJourney(v, step.Variant));
                        segVersions[v] = SegmentJourney(v, step.Variant);
                    }
                    else
                    {
                        // Decided: a journey cannot start on a segment that is not loaded.
                        log.Add("publish seg refused");
                        await Assert.ThrowsAnyAsync<Exception>(() => rig.Engine.PublishJourneyAsync(SegmentJourney(nextSegVersion, step.Variant)));
                    }

                    break;
                case 11:
                    Task racer = (step.Other % 3) switch
                    {
                        0 => rig.TrackAsync(EventTypes.CartItemAdded, [Customers[who]], new { cart_id = "r" + step.Variant, product_id = "p" }),
                        1 => rig.TrackAsync(EventTypes.OrderPlaced, [Customers[who]], new { order_id = $"o{++orderNo}", total = 15 * (step.Variant + 1), currency = "GBP" }),
                        _ => rig.TrackAsync("profile.updated", [Customers[who]], traits: new { tier = step.Variant % 2 == 0 ? "vip" : "gold" }),
                    };
                    if (step.Variant % 2 == 0)
                    {
                        var raced = SlotSegment(Slots[step.Other % 2], step.Variant / 2);
                        log.Add($"race event {step.Other % 3} of {who} with upsert {raced.Id} {(step.Variant / 2) % 9}");
                        var backfill = await host.Client.UpsertSegmentAsync(raced);
                        await Task.WhenAll(racer, backfill.Completion);
                        slots[raced.Id] = raced;
                    }
                    else
                    {
                        var raceVersion = nextVersion++;
                        log.Add($"race event {step.Other % 3} of {who} with publish v{raceVersion} variant {(step.Variant / 2) % 5}");
                        var racedJourney = CartJourney(raceVersion, step.Variant / 2);
                        await Task.WhenAll(racer, rig.Engine.PublishJourneyAsync(racedJourney));
                        versions[raceVersion] = racedJourney;
                    }

                    break;
                case 12:
                    {
                        var v = nextVersion++;
                        var published = CartJourney(v, step.Variant);
                        log.Add($"publish v{v} variant {step.Variant % 5}, visit cancelled");
                        foreach (var p in await ProfilesAsync(host, seen))
                        {
                            // Left to their next wake-up: they may wait there, but must not send a step of the old version.
                            var left = p.Journeys.Where(j => j.JourneyId == "cart" && !published.Steps.Any(x => x.Id == j.StepId)).Select(j => p.Id + ":" + j.InstanceId).ToList();
                            stale.UnionWith(left);
                            ended.UnionWith(left);
                        }

                        sentBefore.UnionWith(rig.Recorder.Records.Select(r => r.Message.MessageId));
                        // Published without its visit (a pre-cancelled token did this before audit U29; it now does nothing).
                        rig.Engine.ChangeJourney(published, apply: true);

                        versions[v] = published;
                        break;
                    }

                default:
                    log.Add("remove journey");
                    var running = new List<string>();
                    foreach (var p in await ProfilesAsync(host, seen))
                    {
                        running.AddRange(p.Journeys.Where(j => j.JourneyId == "cart").Select(j => p.Id + ":" + j.InstanceId));
                    }

                    Assert.Equal(versions.Count > 0, await rig.Engine.RemoveJourneyAsync("cart"));
                    versions.Clear();
                    ended.UnionWith(running);
                    sentBefore.UnionWith(rig.Recorder.Records.Select(r => r.Message.MessageId));
                    break;
            }

            await CheckAsync(rig, seen, slots, versions, segVersions, ended, sentBefore, stale, log);
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(3));

        await CheckAsync(rig, seen, slots, versions, segVersions, ended, sentBefore, stale, log);
        foreach (var p in await ProfilesAsync(host, seen))
        {
            Assert.True(p.Journeys.Count == 0, $"{p.Id} still runs {string.Join(", ", p.Journeys)} three days on\n{string.Join("\n", log)}");
        }
    }

    private static async Task<List<CustomerProfile>> ProfilesAsync(Sdk.Testing.OmnichannelTestHost host, List<Identifier> seen)
    {
        var profiles = new List<CustomerProfile>();
        foreach (var id in seen)
        {
            var p = await host.ProfileAsync(id);
            if (!profiles.Exists(x => x.Id == p.Id))
            {
                profiles.Add(p);
            }
        }

        return profiles;
    }

    private static async Task CheckAsync(
        JourneyRig rig,
        List<Identifier> seen,
        Dictionary<string, SegmentDefinition> slots,
        Dictionary<int, JourneyDefinition> cartVersions,
        Dictionary<int, JourneyDefinition> segVersions,
        HashSet<string> ended,
        HashSet<string> sentBefore,
        HashSet<string> stale,
        List<string> log)
    {
        var host = rig.Host;
        var now = host.Time.GetUtcNow();
        var trail = "\n" + string.Join("\n", log);
        var profiles = await ProfilesAsync(host, seen);

        // (1) Live membership equals a from-scratch evaluation of the current definition, on the profile and in the list.
        foreach (var segment in Anchors.Concat(slots.Values))
        {
            var expected = profiles.Where(p => SegmentRuntime.Preview(p, segment, now)).Select(p => p.Id).Order(StringComparer.Ordinal).ToList();
            var onProfiles = profiles.Where(p => p.IsInSegment(segment.Id)).Select(p => p.Id).Order(StringComparer.Ordinal).ToList();
            var listed = (await host.Client.GetSegmentMembersAsync(segment.Id, limit: 1000)).Order(StringComparer.Ordinal).ToList();
            Assert.True(expected.SequenceEqual(onProfiles), $"{segment.Id} at {now:O}: from scratch [{string.Join(",", expected)}], on profiles [{string.Join(",", onProfiles)}]{trail}");
            Assert.True(expected.SequenceEqual(listed), $"{segment.Id} at {now:O}: from scratch [{string.Join(",", expected)}], listed [{string.Join(",", listed)}]{trail}");
        }

        // (3) A start on a version with a cooldown has no earlier start of the journey within it (versions share the records).
        foreach (var p in profiles)
        {
            var starts = p.Timeline.Where(t => t.Type == "journey.entered" && t.Summary!.StartsWith("Cart v", StringComparison.Ordinal))
                .Select(t => (t.Timestamp, Version: int.Parse(t.Summary!["Cart v".Length..t.Summary!.IndexOf(':', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture)))
                .OrderBy(t => t.Timestamp).ToList();
            for (var k = 1; k < starts.Count; k++)
            {
                if (cartVersions.TryGetValue(starts[k].Version, out var d) && d.Entry.ReEntry == ReEntryPolicy.AfterCooldown)
                {
                    Assert.True(starts[k].Timestamp - starts[k - 1].Timestamp >= TimeSpan.FromHours(12), $"{p.Id} entered v{starts[k].Version} at {starts[k].Timestamp:O}, {starts[k - 1].Timestamp:O} before (v{starts[k - 1].Version}){trail}");
                }
            }
        }

        // (2) No message key handed over twice; no instance that a removal ended sends again.
        var keys = rig.Recorder.Records.Select(r => r.Message.MessageId).ToList();
        Assert.True(keys.Count == keys.Distinct(StringComparer.Ordinal).Count(), $"a key went out twice: {string.Join(", ", keys)}{trail}");
        foreach (var key in keys)
        {
            // j:{profile}:{instance}:{step}:{visit}
            var parts = key.Split(':');
            Assert.False(parts.Length >= 3 && ended.Contains(parts[1] + ":" + parts[2]) && !sentBefore.Contains(key), $"{key}: its instance was ended by a removal, then sent{trail}");
        }

        // (2, 3) Every running instance has a wake-up to come, on a step its version has and the newest version still has.
        var next = await rig.Engine.GetNextWakeUpAsync();
        foreach (var p in profiles)
        {
            foreach (var j in p.Journeys)
            {
                var versions = j.JourneyId == "cart" ? cartVersions : segVersions;
                var newest = versions.Count == 0 ? null : versions[versions.Keys.Max()];
                var what = $"{p.Id} {j} at {now:O}";
                Assert.True(j.WakeAt is { } due && due > now, $"{what}: no wake-up to come{trail}");
                Assert.True(next is { } n0 && n0 <= j.WakeAt, $"{what}: the engine's next wake-up {next:O} is later{trail}");
                if (stale.Contains(p.Id + ":" + j.InstanceId))
                {
                    continue;
                }

                Assert.True(newest is not null, $"{what}: runs while the journey is removed{trail}");
                Assert.False(ended.Contains(p.Id + ":" + j.InstanceId), $"{what}: a removal ended it{trail}");
                Assert.True(versions.TryGetValue(j.Version, out var own), $"{what}: its version is not loaded{trail}");
                Assert.Contains(own!.Steps, s => s.Id == j.StepId);
                Assert.True(newest!.Steps.Any(s => s.Id == j.StepId), $"{what}: its step is gone from v{newest.Version}{trail}");
                Assert.True(j.WakeAt is { } wake && wake > now, $"{what}: no wake-up to come{trail}");
                Assert.True(next is { } n && n <= j.WakeAt, $"{what}: the engine's next wake-up {next:O} is later{trail}");
            }
        }
    }
}
