using System.Text.Json;
using FsCheck.Xunit;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Session 62 (issue 14): one order event's id and currency are read about six times in its unit, and the in-memory
/// store answered a known customer's look-up with a new dictionary. The reads now give the last string read on the
/// thread again when the value is the same, the profile's order key likewise, and the store answers one owner without a
/// dictionary. None of it may change an answer.
/// </summary>
public sealed class RememberedStringsTests
{
    // Values that differ only in ways a cache keyed on the wrong thing would miss: escapes of the same text, case, a
    // trailing space, the empty string, a prefix of another.
    private static readonly string[] RawValues =
    [
        "\"ab\"", "\"a\\u0062\"", "\"AB\"", "\"ab \"", "\"\"", "\"a\"", "\"\\u00e9\"", "\"é\"", "\"a\\\"b\"", "\"ab\\/c\"", "12", "12.50", "null",
    ];

    private static string? Expected(JsonElement props, string name) =>
        props.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => NumericKey.Text(v),
            _ => null,
        } : null;

    [Property(MaxTest = 200)]
    public void OrderIdAndCurrency_ReadInAnyOrder_AreTheValuesTheEventHolds(int[] steps)
    {
        foreach (var step in steps)
        {
            var mix = WrittenListShiftProperties.Spread(step);
            var props = JsonData.Parse($"{{\"order_id\":{RawValues[mix % RawValues.Length]},\"currency\":{RawValues[(mix / 16) % RawValues.Length]}}}");
            foreach (var name in (mix & 1) == 0 ? new[] { "order_id", "currency", "order_id" } : ["currency", "order_id", "currency"])
            {
                var read = WellKnownProperties.String(props, name);
                Assert.Equal(Expected(props, name), read);
                if (name == "order_id" && read is not null)
                {
                    Assert.Equal("order:" + read, WellKnownProperties.OrderKey(read));
                }
            }
        }
    }

    [Fact]
    public void TheSameValueReadAgain_IsTheSameString_AndAnotherValueIsNot()
    {
        var first = WellKnownProperties.String(JsonData.Parse("""{"order_id":"o-1"}"""), "order_id")!;
        var again = WellKnownProperties.String(JsonData.Parse("""{"order_id":"o\u002d1"}"""), "order_id")!;
        Assert.Same(first, again);
        Assert.Same(WellKnownProperties.OrderKey(first), WellKnownProperties.OrderKey(again));
        var other = WellKnownProperties.String(JsonData.Parse("""{"order_id":"o-10"}"""), "order_id");
        Assert.Equal("o-10", other);
        Assert.Equal("order:o-10", WellKnownProperties.OrderKey(other!));
        Assert.Equal("order:o-1", WellKnownProperties.OrderKey("o-1")); // an equal id that is another string
    }

    [Fact]
    public async Task TheStoresLookUp_AnswersAsBefore_ForOneOwnerSeveralOwnersAndNone()
    {
        var store = new InMemoryOmnichannelStore();
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), store);
        var ann = Identifier.CustomerId("ann");
        var annMail = Identifier.Email("ann@example.com");
        var bob = Identifier.CustomerId("bob");
        var nobody = Identifier.CustomerId("nobody");
        await engine.TrackAsync(new CustomerEvent { Id = "a", Type = "user.signed_up", Timestamp = DateTimeOffset.UnixEpoch, Identifiers = [ann, annMail] });
        await engine.TrackAsync(new CustomerEvent { Id = "b", Type = "user.signed_up", Timestamp = DateTimeOffset.UnixEpoch, Identifiers = [bob] });
        var annId = (await engine.GetProfileAsync(ann))!.Id;
        var bobId = (await engine.GetProfileAsync(bob))!.Id;

        var asked = new List<Identifier> { ann, annMail, ann };
        var one = await store.ResolveIdentifiersAsync(asked);
        asked[0] = bob; // the caller's list changes afterwards: the answer does not
        Assert.Equal(2, one.Count);
        Assert.Equal(new Dictionary<Identifier, string> { [ann] = annId, [annMail] = annId }, one.ToDictionary());
        Assert.False(one.ContainsKey(bob));
        Assert.Equal(annId, one[annMail]);

        var two = await store.ResolveIdentifiersAsync([ann, bob]);
        Assert.Equal(new Dictionary<Identifier, string> { [ann] = annId, [bob] = bobId }, two.ToDictionary());

        var some = await store.ResolveIdentifiersAsync([ann, nobody]);
        Assert.Equal(new Dictionary<Identifier, string> { [ann] = annId }, some.ToDictionary());
        Assert.Empty(await store.ResolveIdentifiersAsync([nobody]));
        Assert.Empty(await store.ResolveIdentifiersAsync([]));
    }
}
