using System.Text;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Left alone by the review of audit U65: a trait path an older version stored past <c>MaxJsonDepth</c> could not be
/// removed by its own path (an event's <c>{"a.a.…": null}</c> was refused as too deep, and a journey's
/// <c>updateProfile</c> <c>unset</c> of it refused at load). Removing personal data by its key must work.
/// </summary>
public sealed class TwoItemsLeftAloneFortyThirdTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann-n43");

    private static readonly JourneyDefinition Cart = JourneyRig.Parse("""
        {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
         "steps": [{"id": "mail", "type": "send", "channels": ["email"], "template": "cart"}]}
        """);

    private static string Deep(int names) => string.Join(".", Enumerable.Range(0, names).Select(i => "n" + i));

    // A profile document as an older version wrote it: a trait of `names` dotted names (traits are stored as flat paths).
    private static async Task<InMemoryOmnichannelStore> StoredPastTheLimitAsync(string deep)
    {
        var store = new InMemoryOmnichannelStore();
        await using (var before = JourneyRig.Create([Cart], store: store))
        {
            await before.TrackAsync("user.identified", [Ann, Identifier.Email("ann.n43@example.com")], traits: new { first_name = "Ann", placeholder = 7 });
        }

        var profileId = Assert.Single(await store.ListProfileIdsAsync(null, 10));
        var stored = (await store.LoadProfileAsync(profileId))!;
        var document = Encoding.UTF8.GetString(stored.Document).Replace("\"placeholder\"", "\"" + deep + "\"", StringComparison.Ordinal);
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new ProfileCommit { ProfileId = profileId, ExpectedVersion = stored.Version, Document = Encoding.UTF8.GetBytes(document) })).Status);
        return store;
    }

    [Theory]
    [InlineData(70)]
    [InlineData(1_500)]
    public async Task ATraitPathStoredPastTheLimit_IsRemovedByItsOwnPath_ASetOfItStaysRefused(int names)
    {
        var deep = Deep(names);
        var store = await StoredPastTheLimitAsync(deep);
        await using var rig = JourneyRig.Create([Cart], store: store);
        Assert.Equal(7, (int)Flatten((await rig.Host.Client.ExportProfileAsync(Ann))!["traits"]!.AsObject())[deep]!);

        var set = await Assert.ThrowsAsync<EventRejectedException>(() => rig.TrackAsync("user.identified", [Ann], traits: new Dictionary<string, object?> { [deep] = 8 }));
        Assert.Contains("traits.n0.n1.", set.Message, StringComparison.Ordinal);

        var removal = await rig.TrackAsync("user.identified", [Ann], traits: new Dictionary<string, object?> { [deep] = null });

        Assert.Equal(TrackStatus.Accepted, removal.Status);
        var profile = (await rig.Host.Client.GetProfileAsync(Ann))!;
        Assert.DoesNotContain(deep, Flatten(profile.Traits).Keys);
        Assert.Equal("Ann", (string?)profile.Traits["first_name"]);
        var export = (await rig.Host.Client.ExportProfileAsync(Ann))!;
        Assert.DoesNotContain(deep, Flatten(export["traits"]!.AsObject()).Keys);
        Assert.DoesNotContain("n0", export["traits"]!.AsObject().Select(m => m.Key));
        Assert.DoesNotContain("\"n0\":", export.ToJsonString(), StringComparison.Ordinal);
    }

    // A journey step removing the same path: refused at load before ("nests 70 dotted names … at most 48"); a set of it
    // is still refused.
    [Fact]
    public async Task AJourneysUnsetOfAPathStoredPastTheLimit_Loads_AndRemovesIt()
    {
        var deep = Deep(70);
        var forget = """
            {"id": "forget", "version": 1, "name": "Forget", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "up", "type": "updateProfile", "unset": ["PATH"]}]}
            """.Replace("PATH", deep, StringComparison.Ordinal);
        var parsed = JourneyJson.Parse(forget);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        Assert.False(JourneyJson.Parse(forget.Replace("\"unset\": [\"" + deep + "\"]", "\"set\": {\"" + deep + "\": 1}", StringComparison.Ordinal)).IsValid);

        var store = await StoredPastTheLimitAsync(deep);
        await using var rig = JourneyRig.Create([JourneyRig.Parse(forget)], store: store);
        await rig.TrackAsync(EventTypes.CartItemAdded, [Ann], new { product_id = "p1" });
        await rig.AdvanceAsync(TimeSpan.FromMinutes(1));

        var export = (await rig.Host.Client.ExportProfileAsync(Ann))!;
        Assert.DoesNotContain(deep, Flatten(export["traits"]!.AsObject()).Keys);
        Assert.Equal("Ann", (string?)export["traits"]!["first_name"]);
    }

    // Dotted path → value, each key joined to its parent's with a dot.
    private static Dictionary<string, JsonNode?> Flatten(JsonObject traits)
    {
        var flat = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var pending = new Stack<(string Prefix, JsonObject Node)>();
        pending.Push((string.Empty, traits));
        while (pending.Count > 0)
        {
            var (prefix, node) = pending.Pop();
            foreach (var (key, value) in node)
            {
                var path = prefix.Length == 0 ? key : prefix + "." + key;
                if (value is JsonObject child)
                {
                    pending.Push((path, child));
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
