using Microsoft.Extensions.Logging;
using System.Text;
using System.Text.Json;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U25: inputs whose cost per event grew with the profile's history (docs/design-notes.md, "Audit U25"). These
/// tests assert the bounds and that the answers are unchanged; the speed itself is measured outside the test suite.
/// </summary>
public sealed class AuditU25Tests
{
    private static readonly DateTimeOffset T0 = OmnichannelTestHost.DefaultStart;

    private static CustomerEvent Event(string id, string type, DateTimeOffset at, string? properties = null, string? traits = null) => new()
    {
        Id = id,
        Type = type,
        Timestamp = at,
        Identifiers = [Identifier.CustomerId("c1")],
        Properties = properties is null ? default : JsonDocument.Parse(properties).RootElement.Clone(),
        Traits = traits is null ? default : JsonDocument.Parse(traits).RootElement.Clone(),
    };

    private static string Traits(int count, int from)
    {
        var sb = new StringBuilder("{");
        for (var i = 0; i < count; i++)
        {
            sb.Append(i == 0 ? "" : ",").Append("\"k").Append(from + i).Append("\":").Append(i);
        }

        return sb.Append('}').ToString();
    }

    [Fact]
    public void NewTraitPaths_PastTheDefaultLimit_AreNotKept_AndKnownPathsStillChange()
    {
        var p = new CustomerProfile("p", T0);
        ProfileCore.Apply(p, Event("e1", "identify", T0, traits: Traits(900, 0)), 200);
        ProfileCore.Apply(p, Event("e2", "identify", T0.AddMinutes(1), traits: Traits(300, 900)), 200);

        Assert.Equal(OmnichannelOptions.DefaultMaxTraitsPerProfile, p.TraitValues.Count);
        Assert.True(p.TryGetTrait("k999", out _));
        Assert.False(p.TryGetTrait("k1000", out _));

        // At the limit, a path it holds is still written and still removed.
        ProfileCore.Apply(p, Event("e3", "identify", T0.AddMinutes(2), traits: """{"k5": "new", "k6": null, "brand_new": 1}"""), 200);
        Assert.True(p.TryGetTrait("k5", out var k5));
        Assert.Equal("new", k5.GetString());
        Assert.False(p.TryGetTrait("k6", out _));
        Assert.False(p.TryGetTrait("brand_new", out _));
        Assert.Equal(OmnichannelOptions.DefaultMaxTraitsPerProfile, p.TraitValues.Count);
    }

    [Fact]
    public async Task Engine_KeepsAProfileAtMaxTraitsPerProfile_AndAppliesTheRestOfTheEvent()
    {
        await using var host = OmnichannelTestHost.Create(o => o.MaxTraitsPerProfile = 3);
        var ann = Identifier.CustomerId("ann");
        await host.TrackAsync("identify", [ann], traits: new { a = 1, b = 2 });
        var result = await host.TrackAsync(EventTypes.OrderPlaced, [ann], properties: new { order_id = "o1", total = 10, currency = "EUR" }, traits: new { a = 5, c = 3, d = 4, e = 5 });

        Assert.Equal(TrackStatus.Accepted, result.Status);
        var p = await host.ProfileAsync(ann);
        Assert.Equal(1, p.Statistics.OrderCount);
        Assert.True(p.TryGetTrait("a", out var a));
        Assert.Equal(5, a.GetInt32());
        Assert.True(p.TryGetTrait("c", out _));
        Assert.False(p.TryGetTrait("d", out _));
        Assert.False(p.TryGetTrait("e", out _));

        // Another customer's traits are not affected by hers.
        var bob = Identifier.CustomerId("bob");
        await host.TrackAsync("identify", [bob], traits: new { x = 1, y = 2, z = 3 });
        Assert.Equal(3, (await host.ProfileAsync(bob)).Traits.Count);
    }

    [Fact]
    public async Task TraitPathsNotKept_AreLoggedAsACount_WithoutTheirNamesOrValues()
    {
        var logs = new List<string>();
        using var factory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(new Omnichannel.Sdk.Tests.Delivery.ListLogger(logs)));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 5, 12, 0, 0, TimeSpan.Zero));
        var options = new OmnichannelOptions { MaxTraitsPerProfile = 2 };
        options.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
        await using var engine = new OmnichannelEngine(options, new Omnichannel.Sdk.Storage.InMemoryOmnichannelStore(), time, factory);
        var ann = Identifier.CustomerId("ann");

        await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = "identify", Timestamp = time.GetUtcNow(), Identifiers = [ann], Traits = JsonData.From(new { a = 1, b = 2 }) });
        Assert.DoesNotContain(logs, l => l.Contains("MaxTraitsPerProfile", StringComparison.Ordinal));
        await engine.TrackAsync(new CustomerEvent { Id = "e2", Type = "identify", Timestamp = time.GetUtcNow(), Identifiers = [ann], Traits = JsonData.From(new { secret_note = "ann@example.com", shoe = 38, a = 3 }) });

        var line = Assert.Single(logs, l => l.Contains("MaxTraitsPerProfile", StringComparison.Ordinal));
        Assert.Contains("(2) trait paths; 2 new paths were not kept", line, StringComparison.Ordinal);
        Assert.DoesNotContain("secret_note", line, StringComparison.Ordinal);
        Assert.DoesNotContain("ann@", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100_001)]
    public void MaxTraitsPerProfile_OutOfRange_IsAnOptionsError(int value)
    {
        var o = new OmnichannelOptions { MaxTraitsPerProfile = value };
        Assert.Contains(o.Validate(), e => e.Contains(nameof(OmnichannelOptions.MaxTraitsPerProfile), StringComparison.Ordinal));
    }

    [Fact]
    public void Merge_KeepsTheAbsorbingProfilesTraitsFirst_WithinTheLimit()
    {
        var target = new CustomerProfile("a", T0);
        var other = new CustomerProfile("b", T0);
        ProfileCore.Apply(target, Event("e1", "identify", T0, traits: Traits(2, 0)), 200, maxTraits: 3);
        ProfileCore.Apply(other, Event("e2", "identify", T0.AddMinutes(1), traits: """{"k1": "theirs", "x": 1, "y": 2}"""), 200, maxTraits: 3);

        ProfileCore.Merge(target, other, new MergeRecord("b", Identifier.CustomerId("c1"), "e3", "test", T0), 200, maxTraits: 3);

        Assert.Equal(3, target.TraitValues.Count);
        Assert.True(target.TryGetTrait("k1", out var k1));
        Assert.Equal("theirs", k1.GetString()); // a path both hold: the newer write, as before
    }

    [Fact]
    public void OneProductAddedThousandsOfTimes_KeepsABoundedListOfChanges_AndTheRightQuantity()
    {
        var p = new CustomerProfile("p", T0);
        for (var i = 0; i < 2_000; i++)
        {
            ProfileCore.Apply(p, Event($"e{i:D5}", EventTypes.CartItemAdded, T0.AddSeconds(i), $$"""{"product_id": "sku", "quantity": 1, "name": "Socks", "price": {{(i < 1_000 ? 2 : 3)}}}"""), 200);
            Assert.True(p.CartOps["sku"].Count <= 100, $"{p.CartOps["sku"].Count} changes kept after {i + 1} additions");
        }

        var line = Assert.Single(p.Cart);
        Assert.Equal(2_000, line.Quantity);
        Assert.Equal(3, line.UnitPrice);
        Assert.Equal("Socks", line.Name);
        Assert.Equal(T0.AddSeconds(1_999), line.UpdatedAt);

        // Later changes still count, and a late change newer than the folded ones goes to its place.
        ProfileCore.Apply(p, Event("r1", EventTypes.CartItemRemoved, T0.AddSeconds(5_000), """{"product_id": "sku", "quantity": 500}"""), 200);
        ProfileCore.Apply(p, Event("r0", EventTypes.CartItemRemoved, T0.AddSeconds(1_990), """{"product_id": "sku", "quantity": 1}"""), 200);
        Assert.Equal(1_499, Assert.Single(p.Cart).Quantity);

        // An order empties it, as before.
        ProfileCore.Apply(p, Event("o1", EventTypes.OrderPlaced, T0.AddSeconds(6_000), """{"order_id": "o1", "total": 1}"""), 200);
        Assert.Empty(p.Cart);
    }

    [Fact]
    public void OneProductAddedAndRemovedThousandsOfTimes_EndsWithTheLineOfTheLastChanges()
    {
        var p = new CustomerProfile("p", T0);
        for (var i = 0; i < 1_001; i++)
        {
            var type = i % 2 == 0 ? EventTypes.CartItemAdded : EventTypes.CartItemRemoved;
            ProfileCore.Apply(p, Event($"e{i:D5}", type, T0.AddSeconds(i), """{"product_id": "sku", "quantity": 2}"""), 200);
        }

        Assert.True(p.CartOps["sku"].Count <= 100);
        Assert.Equal(2, Assert.Single(p.Cart).Quantity);
    }

    [Fact]
    public void Merge_OfProfilesWithThousandsOfCookies_LinksEachIdentifierOnce()
    {
        var target = new CustomerProfile("a", T0);
        var other = new CustomerProfile("b", T0);
        for (var i = 0; i < 5_000; i++)
        {
            target.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.AnonymousId, "a" + i, T0));
            other.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.AnonymousId, "b" + i, T0));
        }

        other.IdentifierList.Add(new LinkedIdentifier(IdentifierTypes.AnonymousId, "a7", T0.AddDays(1))); // both hold it

        ProfileCore.Merge(target, other, new MergeRecord("b", Identifier.AnonymousId("a7"), "e1", "test", T0), 200);

        Assert.Equal(10_000, target.IdentifierList.Count);
        Assert.Equal(10_000, target.IdentifierList.Select(i => (i.Type, i.Value)).Distinct().Count());
        Assert.Equal(T0, target.IdentifierList.Single(i => i.Value == "a7").LinkedAt); // the target's own record stays
        Assert.Equal("b0", target.IdentifierList[5_000].Value); // appended in the other's order, as before
    }
}
