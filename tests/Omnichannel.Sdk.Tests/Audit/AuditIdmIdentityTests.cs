using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit Idm: identifier normalisation, merge limits and arrival order, against bugs reported for comparable systems.</summary>
public sealed class AuditIdmIdentityTests
{
    // A checkout form that requires a phone: customers who have none type the placeholder in whatever notation the field
    // shows. Each spelling is the all-zeros number, which never matches; it must not join Ann and Bob (two emails are
    // within the email limit, so a match would merge them).
    [Theory]
    [InlineData("(000) 000-0000")]
    [InlineData("000.000.0000")]
    [InlineData("+1 000 000 0000")]
    [InlineData("+44 (0) 000 000 0000")]
    public async Task APlaceholderPhoneOfZeros_InAnyNotation_DoesNotMergeTwoCustomers(string placeholder)
    {
        await using var host = OmnichannelTestHost.Create();
        var ann = await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.Email("ann@x.io"), Identifier.Phone(placeholder)], new { order_id = "o1", total = 10 });
        var bob = await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.Email("bob@x.io"), Identifier.Phone(placeholder)], new { order_id = "o2", total = 20 });

        Assert.Equal(TrackStatus.Accepted, bob.Status);
        Assert.NotEqual(ann.ProfileId, bob.ProfileId);
        var a = await host.ProfileAsync(Identifier.Email("ann@x.io"));
        Assert.Empty(a.IdentifierValues(IdentifierTypes.Phone));
        Assert.Equal(1, a.Statistics.OrderCount);
        Assert.Null(await host.Client.GetProfileAsync(Identifier.Phone(placeholder)));
    }

    // The shop's front desk number typed by every walk-in without a phone: the host blocks it once, in one notation; the
    // same number in another notation must be blocked too (values are compared after normalisation, as documented).
    [Theory]
    [InlineData("+1 415 555 0100", "(415) 555-0100")]
    [InlineData("(415) 555-0100", "+14155550100")]
    [InlineData("415.555.0100", "1-415-555-0100")]
    public async Task APhoneTheHostBlocked_InAnotherNotation_NeverMatches(string blocked, string written)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.BlockedValues.Add(blocked));
        var ann = await host.TrackAsync("x.signed_up", [Identifier.Email("ann@x.io"), Identifier.Phone(written)]);
        var bob = await host.TrackAsync("x.signed_up", [Identifier.Email("bob@x.io"), Identifier.Phone(written)]);

        Assert.NotEqual(ann.ProfileId, bob.ProfileId);
        Assert.Empty((await host.ProfileAsync(Identifier.Email("ann@x.io"))).IdentifierValues(IdentifierTypes.Phone));
        Assert.Null(await host.Client.GetProfileAsync(Identifier.Phone(blocked)));
    }

    // A link copied from a page often carries a subject or body (RFC 6068 hfields): the address is the same person.
    [Theory]
    [InlineData("mailto:ann@x.io?subject=Hello")]
    [InlineData("MAILTO:Ann@X.io?subject=Hi&body=there")]
    [InlineData("mailto:ann@x.io?")]
    public async Task AMailtoLinkWithASubjectOrBody_IsTheSameAddress(string written)
    {
        await using var host = OmnichannelTestHost.Create();
        var first = await host.TrackAsync("x.signed_up", [Identifier.Email("ann@x.io")]);
        var second = await host.TrackAsync("x.clicked", [Identifier.Email(written)]);

        Assert.Equal(first.ProfileId, second.ProfileId);
        Assert.Equal(["ann@x.io"], (await host.ProfileAsync(Identifier.Email("ann@x.io"))).IdentifierValues(IdentifierTypes.Email));
    }

    // A profile keeps its 50 newest identity conflicts. A merge appended the absorbed side's (older) records after the
    // kept side's and trimmed from the front, so it dropped the kept side's records, although newer, and kept the other's.
    [Fact]
    public async Task AMerge_KeepsTheNewestConflictRecords_NotTheAbsorbedSidesOlderOnes()
    {
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Identity.Rules[IdentifierTypes.Phone].Limit = 1;
            o.Identity.Rules[IdentifierTypes.LoyaltyCard].Limit = 1;
        });

        // Her email's profile: one card, and a second card refused (its one conflict), first of all.
        await host.TrackAsync("x.scan", [Identifier.Email("ann@x.io"), Identifier.LoyaltyCard("111")]);
        await host.TrackAsync("x.scan", [Identifier.Email("ann@x.io"), Identifier.LoyaltyCard("222")]);
        host.Time.Advance(TimeSpan.FromMinutes(1));

        // Her account: 50 refused phone numbers, each a minute later than the walk-in's conflict.
        await host.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.Phone("+14155550100")]);
        for (var i = 0; i < 50; i++)
        {
            host.Time.Advance(TimeSpan.FromMinutes(1));
            await host.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.Phone($"+1415555{1000 + i}")]);
        }

        host.Time.Advance(TimeSpan.FromMinutes(1));
        await host.TrackAsync("x.login", [Identifier.CustomerId("C-1"), Identifier.Email("ann@x.io")]);

        var p = await host.ProfileAsync(Identifier.CustomerId("C-1"));
        Assert.True(p.Has(Identifier.LoyaltyCard("111"))); // merged
        Assert.Equal(50, p.Conflicts.Count);
        Assert.All(p.Conflicts, c => Assert.Equal(IdentifierTypes.Phone, c.IdentifierType));
        Assert.Equal(p.Conflicts.OrderBy(c => c.At), p.Conflicts);
    }
}
