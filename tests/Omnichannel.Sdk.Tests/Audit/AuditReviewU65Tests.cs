using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audit U65 (a user upgrading, and an attacker). U65 refused, at the door, dotted trait keys that nest past
/// <c>MaxJsonDepth</c>, but left the profiles an older version had let hold one: her export (the answer to a data-access
/// request) still failed to be written as JSON and every render of her messages still failed. Over-long segment
/// references were reported as unknown segments, and a refused key of an identify's <c>context.traits</c> (see the
/// tracking tests) was named at a field the message did not have.
/// </summary>
public sealed class AuditReviewU65Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-r65");

    private static readonly JourneyDefinition Cart = JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "cart"}]}
        """);

    // ---- 1. A path stored before the limit. PostHog/posthog#25710 ("we removed the deeply nested key, [but] historical
    // events in the db may still contain it, so we should deal with that": its batch export failed on them). A profile
    // an older version wrote with a trait of 70 dotted names: her export could not be serialized (System.Text.Json's
    // default depth of 64, as an ASP.NET endpoint or the Orleans client reads it), with 1,500 not even by ToJsonString
    // (1,000), and no message to her rendered. The profile document is the one the older version wrote: only the trait's
    // name differs from what this version writes (traits are stored as flat paths). ----
    [Theory]
    [InlineData(70)]
    [InlineData(1_500)]
    public async Task ATraitPathAnOlderVersionStoredPastTheLimit_StillExports_AndHerMessagesRender(int names)
    {
        var store = new InMemoryOmnichannelStore();
        var deep = string.Join(".", Enumerable.Range(0, names).Select(i => "n" + i));
        await using (var before = JourneyRig.Create([Cart], store: store))
        {
            await before.TrackAsync("user.identified", [Ann, Identifier.Email("ann.r65@example.com")], traits: new { first_name = "Ann", placeholder = 7 });
            await before.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        }

        var profileId = Assert.Single(await store.ListProfileIdsAsync(null, 10));
        var stored = (await store.LoadProfileAsync(profileId))!;
        var document = Encoding.UTF8.GetString(stored.Document).Replace("\"placeholder\"", "\"" + deep + "\"", StringComparison.Ordinal);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit { ProfileId = profileId, ExpectedVersion = stored.Version, Document = Encoding.UTF8.GetBytes(document) })).Status);

        await using var rig = JourneyRig.Create([Cart], store: store);
        var export = (await rig.Host.Client.ExportProfileAsync(Ann))!;

        var written = JsonSerializer.Serialize(export); // default options: MaxDepth 64
        var read = JsonNode.Parse(export.ToJsonString())!; // as the Orleans client reads the grain's answer
        Assert.Contains("\"first_name\"", written, StringComparison.Ordinal);
        Assert.NotNull(read["traitSources"]![deep]);
        Assert.Equal(7, (int)Flatten(export["traits"]!.AsObject())[deep]!);
        Assert.Equal("Ann", (string?)export["traits"]!["first_name"]);

        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromHours(1));
        Assert.Equal(["email:cart"], rig.Sent());

        // Held: her erasure did not depend on it.
        Assert.True(await rig.Host.Client.EraseProfileAsync(Ann));
        Assert.Null(await rig.Host.Client.ExportProfileAsync(Ann));
    }

    // For any path (names of any kind, empty ones from "a..b" too) and a list value of any depth: the nested traits nest
    // at most 48 levels, each path and value is found again by joining the keys with dots, and a path within the limit
    // (names plus the value's depth at most 48, all a current version can write) nests exactly as before.
    [Property(MaxTest = 300)]
    public void Traits_NestAtMost48Levels_AndKeepEveryPathAndValue(int namesSeed, int depthSeed, int emptySeed)
    {
        var names = 1 + (int)((uint)namesSeed % 120);
        var valueDepth = (int)((uint)depthSeed % 48);
        var empty = (int)((uint)emptySeed % 5);
        var path = string.Join(".", Enumerable.Range(0, names).Select(i => empty > 0 && i % empty == 1 ? string.Empty : "n" + i));
        var value = new string('[', valueDepth) + "1" + new string(']', valueDepth);
        var p = new CustomerProfile("p-r65", OmnichannelTestHostStart);
        using var parsed = JsonDocument.Parse(value);
        ProfileCore.SetTrait(p, path, parsed.RootElement, OmnichannelTestHostStart, "e1");

        var traits = p.Traits;

        var depth = Depth(traits);
        Assert.InRange(depth, 1, JsonLimits.HighestMaxDepth);
        if (names + valueDepth <= JsonLimits.HighestMaxDepth)
        {
            Assert.Equal(names + valueDepth, depth);
        }

        var flat = Flatten(traits);
        Assert.Equal(path, Assert.Single(flat.Keys));
        Assert.Equal(value, flat[path]!.ToJsonString());
    }

    // ---- 2. Over-long references. A segment id is at most 200 characters (U65), so no segment can be named by a longer
    // reference: a rule `segment` or a journey's segment trigger of 201 characters was "unknown segment …" in a set, "names
    // segment …, which is not loaded" at the engine, and valid on its own. Each is now refused as too long at its path. ----
    [Fact]
    public void AnOverLongSegmentReference_IsRefusedAsTooLong_AtItsPath()
    {
        var tooLong = "x" + new string('y', SegmentDefinitionValidator.MaxIdLength);
        var rule = "{\"id\": \"a\", \"name\": \"A\", \"rule\": {\"segment\": \"" + tooLong + "\"}}";
        var trigger = "{\"id\": \"j\", \"version\": 1, \"name\": \"J\", \"trigger\": {\"type\": \"segment\", \"segment\": \"" + tooLong
            + "\", \"on\": \"entered\"}, \"steps\": [{\"id\": \"m\", \"type\": \"send\", \"channels\": [\"email\"], \"template\": \"t\"}]}";

        AssertTooLong(SegmentJson.Parse(rule).Errors, "$.rule.segment");
        AssertTooLong(SegmentJson.ParseMany("[" + rule + "]").Errors, "$[0].rule.segment");
        AssertTooLong(JourneyJson.Parse(trigger).Errors, "$.trigger.segment");
        var unsafeJourney = new JourneyDefinition("j", 1, "J", new SegmentTrigger(tooLong, SegmentTransition.Entered), [new SendStep("m", ["email"], "t")]);
        var atStart = Assert.ThrowsAny<Exception>(() => JourneyRig.Create([unsafeJourney]));
        Assert.Contains("201 characters long", atStart.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not loaded", atStart.Message, StringComparison.Ordinal);
    }

    private static readonly DateTimeOffset OmnichannelTestHostStart = Testing.OmnichannelTestHost.DefaultStart;

    private static void AssertTooLong(IReadOnlyList<DefinitionError> errors, string path)
    {
        var error = Assert.Single(errors);
        Assert.Equal(path, error.Path);
        Assert.Contains("201 characters long; at most 200", error.Message, StringComparison.Ordinal);
    }

    private static int Depth(JsonNode? node) => node switch
    {
        JsonObject o => 1 + o.Select(m => Depth(m.Value)).DefaultIfEmpty(0).Max(),
        JsonArray a => 1 + a.Select(Depth).DefaultIfEmpty(0).Max(),
        _ => 0,
    };

    // Dotted path → value, each key joined to its parent's with a dot (the root's keys as they are).
    private static Dictionary<string, JsonNode?> Flatten(JsonObject traits)
    {
        var flat = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var pending = new Stack<(JsonObject Node, string? Prefix)>();
        pending.Push((traits, null));
        while (pending.Count > 0)
        {
            var (node, prefix) = pending.Pop();
            foreach (var (key, value) in node)
            {
                var path = prefix is null ? key : prefix + "." + key;
                if (value is JsonObject child)
                {
                    pending.Push((child, path));
                }
                else
                {
                    flat[path] = value;
                }
            }
        }

        return flat;
    }
}
