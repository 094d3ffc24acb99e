using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit ID: identity resolution against the bugs reported for comparable systems.</summary>
public sealed class AuditIdIdentityTests
{
    // A family iPad (device id) used by Ann and then Bob, each typing only an email: two people, not one.
    [Fact]
    public async Task ASharedDevice_DoesNotMergeTwoKnownPeople()
    {
        await using var host = OmnichannelTestHost.Create();
        var ann = await host.TrackAsync("x.signed_in", [Identifier.Email("ann@x.io"), Identifier.DeviceId("family-ipad")]);
        var bob = await host.TrackAsync("x.signed_in", [Identifier.Email("bob@x.io"), Identifier.DeviceId("family-ipad")]);

        Assert.Equal(TrackStatus.Accepted, bob.Status);
        var a = await host.ProfileAsync(Identifier.Email("ann@x.io"));
        var b = await host.ProfileAsync(Identifier.Email("bob@x.io"));
        Assert.NotEqual(a.Id, b.Id);
        Assert.Equal(ann.ProfileId, a.Id);
        Assert.Equal(bob.ProfileId, b.Id);
        Assert.False(a.Has(Identifier.Email("bob@x.io")));
        Assert.Equal(a.Id, (await host.ProfileAsync(Identifier.DeviceId("family-ipad"))).Id); // the device stays where it was
        Assert.Equal(IdentifierTypes.DeviceId, Assert.Single(b.Conflicts).IdentifierType);
    }

    // A shop kiosk cookie: every walk-in types a different email; no "super profile".
    [Fact]
    public async Task AKioskCookie_UsedByFiveCustomers_GivesFiveProfiles()
    {
        await using var host = OmnichannelTestHost.Create();
        for (var i = 0; i < 5; i++)
        {
            await host.TrackAsync("x.newsletter", [Identifier.AnonymousId("kiosk-7"), Identifier.Email($"walkin{i}@x.io")]);
        }

        var ids = new HashSet<string>();
        for (var i = 0; i < 5; i++)
        {
            var p = await host.ProfileAsync(Identifier.Email($"walkin{i}@x.io"));
            ids.Add(p.Id);
            Assert.Single(p.IdentifierValues(IdentifierTypes.Email));
        }

        Assert.Equal(5, ids.Count);
    }

    // Two known people joined by nothing but two cookies/devices (each one's): still two people.
    [Fact]
    public async Task TwoKnownProfiles_BridgedOnlyByDevices_StayApart()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("x.a", [Identifier.Email("ann@x.io"), Identifier.DeviceId("d1")]);
        await host.TrackAsync("x.a", [Identifier.Email("bob@x.io"), Identifier.AnonymousId("c2")]);
        var r = await host.TrackAsync("x.a", [Identifier.DeviceId("d1"), Identifier.AnonymousId("c2")]);

        Assert.NotEqual((await host.ProfileAsync(Identifier.Email("ann@x.io"))).Id, (await host.ProfileAsync(Identifier.Email("bob@x.io"))).Id);
        Assert.Empty((await host.ProfileAsync(Identifier.Email("ann@x.io"))).Merges);
        Assert.Equal("identifiers[1]", Assert.Single(r.NotLinked).Field);
    }

    // What a device is for: the anonymous history of a device and a cookie joins the person who logs in on it.
    [Fact]
    public async Task ASharedDevice_StillJoinsAnonymousHistory_OnLogin()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.CartItemAdded, [Identifier.DeviceId("ipad")], new { product_id = "p1", quantity = 1 });
        await host.TrackAsync("x.seen", [Identifier.AnonymousId("cookie")]);
        await host.TrackAsync("x.seen", [Identifier.AnonymousId("cookie"), Identifier.DeviceId("ipad")]);
        await host.TrackAsync("x.login", [Identifier.Email("ann@x.io"), Identifier.DeviceId("ipad")]);

        var p = await host.ProfileAsync(Identifier.Email("ann@x.io"));
        Assert.Equal(p.Id, (await host.ProfileAsync(Identifier.AnonymousId("cookie"))).Id);
        Assert.Equal(4, p.Statistics.EventCount);
        Assert.Empty(p.Conflicts);
    }

    // A refused identifier is told to the caller, by position and reason, without its value.
    [Fact]
    public async Task ALimitThatRefusesAnIdentifier_IsToldToTheCaller()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.Rules[IdentifierTypes.Email].Limit = 1);
        var first = await host.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.Email("one@x.io")]);
        Assert.Empty(first.NotLinked);
        var r = await host.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.Email(" TWO@x.io")]);

        Assert.Equal(TrackStatus.Accepted, r.Status);
        var notLinked = Assert.Single(r.NotLinked);
        Assert.Equal("identifiers[1]", notLinked.Field);
        Assert.Contains("limit is 1", notLinked.Message);
        Assert.DoesNotContain("two", notLinked.Message, StringComparison.OrdinalIgnoreCase);
    }

    // Two customer ids in one event: which one wins must not depend on the order they are listed in.
    [Fact]
    public async Task TwoCustomerIdsInOneEvent_GiveTheSameProfile_InEitherOrder()
    {
        await using var one = OmnichannelTestHost.Create();
        await using var two = OmnichannelTestHost.Create();
        await one.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.CustomerId("C-2")]);
        await two.TrackAsync("x.a", [Identifier.CustomerId("C-2"), Identifier.CustomerId("C-1")]);

        Assert.Equal(
            (await one.ProfileAsync(Identifier.CustomerId("C-1"))).IdentifierValues(IdentifierTypes.CustomerId),
            (await two.ProfileAsync(Identifier.CustomerId("C-1"))).IdentifierValues(IdentifierTypes.CustomerId));
        Assert.Null(await one.Client.GetProfileAsync(Identifier.CustomerId("C-2")));
    }

    // Loyalty numbers: printed with spaces or dashes, read by a till that drops leading zeros.
    [Theory]
    [InlineData("0001234567", "1234567")]
    [InlineData("1234 567", "1234567")]
    [InlineData("1234-567", "1234567")]
    [InlineData("ab-1234", "AB1234")]
    public async Task ALoyaltyNumber_WrittenTwoWays_IsOneCard(string first, string second)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("x.a", [Identifier.LoyaltyCard(first), Identifier.Email("ann@x.io")]);
        await host.TrackAsync("x.b", [Identifier.LoyaltyCard(second)]);

        var p = await host.ProfileAsync(Identifier.Email("ann@x.io"));
        Assert.Equal(2, p.Statistics.EventCount);
        Assert.Single(p.IdentifierValues(IdentifierTypes.LoyaltyCard));
    }

    private static readonly Identifier[] Pool =
    [
        Identifier.CustomerId("C-1"), Identifier.CustomerId("C-2"), Identifier.Email("a@x.io"), Identifier.Email("b@x.io"),
        Identifier.Email("c@x.io"), Identifier.Phone("+14155550100"), Identifier.LoyaltyCard("L1"), Identifier.LoyaltyCard("L2"),
        Identifier.DeviceId("d1"), Identifier.AnonymousId("a1"), Identifier.AnonymousId("a2"),
    ];

    /// <summary>
    /// The plan for an event depends on its identifiers and the profiles they belong to, never on the order the event
    /// lists them in: generated owners (up to four profiles), limits of 1 and 2, and every rotation of the identifiers.
    /// </summary>
    [Property(MaxTest = 300)]
    public Property ThePlan_DoesNotDependOnTheOrderOfTheEventsIdentifiers() =>
        Prop.ForAll(
            (from picks in Gen.SubListOf(Pool).Where(l => l.Count > 0)
             from owners in Gen.ArrayOf(Gen.Choose(-1, 3), picks.Count)
             from shift in Gen.Choose(1, 10)
             select (picks.ToArray(), owners, shift)).ToArbitrary(),
            t =>
            {
                var (ids, ownerOf, shift) = t;
                var options = new IdentityOptions();
                options.Rules[IdentifierTypes.Email].Limit = 2;
                options.Rules[IdentifierTypes.LoyaltyCard].Limit = 1;
                var owners = new Dictionary<Identifier, string>();
                var involved = new InvolvedProfiles();
                var profiles = new Dictionary<string, CustomerProfile>();
                for (var i = 0; i < ids.Length; i++)
                {
                    if (ownerOf[i] < 0)
                    {
                        continue;
                    }

                    var pid = "p" + ownerOf[i];
                    if (!profiles.TryGetValue(pid, out var p))
                    {
                        profiles[pid] = p = new CustomerProfile(pid, DateTimeOffset.UnixEpoch);
                        involved.Add(pid, p);
                    }

                    p.IdentifierList.Add(new LinkedIdentifier(ids[i].Type, ids[i].Value, DateTimeOffset.UnixEpoch));
                    owners[ids[i]] = pid;
                }

                var rotated = ids.Skip(shift % ids.Length).Concat(ids.Take(shift % ids.Length)).Reverse().ToArray();
                var a = IdentityResolver.Plan(ids, owners, involved, options);
                var b = IdentityResolver.Plan(rotated, owners, involved, options);
                return a.TargetProfileId == b.TargetProfileId
                    && a.Absorb.Select(x => x.ProfileId).Order(StringComparer.Ordinal).SequenceEqual(b.Absorb.Select(x => x.ProfileId).Order(StringComparer.Ordinal))
                    && a.Link.Select(x => x.ToString()).Order(StringComparer.Ordinal).SequenceEqual(b.Link.Select(x => x.ToString()).Order(StringComparer.Ordinal))
                    && a.Conflicts.Select(c => c.Identifier.ToString()).Order(StringComparer.Ordinal).SequenceEqual(b.Conflicts.Select(c => c.Identifier.ToString()).Order(StringComparer.Ordinal));
            });
}
