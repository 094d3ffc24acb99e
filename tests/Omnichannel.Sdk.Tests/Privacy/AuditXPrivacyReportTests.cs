using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Privacy;

/// <summary>
/// Audit X: bug classes from public reports of comparable systems (PostHog, Segment, Unomi, Mautic, customer.io users),
/// pinned against the public API.
/// </summary>
public sealed class AuditXPrivacyReportTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    // PostHog: "deleted person re-created by a late event" — here an event whose only identifier is a phone number
    // written another way (spaces, dashes) must still meet the tombstone.
    [Fact]
    public async Task AfterErasure_HerPhoneInAnotherSpelling_IsRefusedAndSuppressed()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Phone("+447700900123")]);
        Assert.True(await host.Client.EraseProfileAsync(Identifier.Phone("+44 7700-900 123")));

        var late = await host.Client.TrackAsync(host.Event(EventTypes.ProductViewed, [Identifier.Phone("+44 (7700) 900-123")]));

        Assert.Equal(TrackStatus.Erased, late.Status);
        Assert.True(await host.Client.IsSuppressedAsync(Identifier.Phone("+44 7700 900123")));
        Assert.True(await host.Client.IsSuppressedAsync(Identifier.Email("ANN@example.com")));
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
    }

    // PostHog "distinct_id reuse": the same event (same id) re-sent under a fresh cookie after her erasure must not
    // rebuild her history on a new profile.
    [Fact]
    public async Task HerEventReplayedUnderAFreshCookie_IsRefusedByItsEventId()
    {
        await using var host = OmnichannelTestHost.Create();
        var order = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o1", total = 80 });
        await host.TrackAsync(order);
        Assert.True(await host.Client.EraseProfileAsync(Ann));

        var replay = await host.Client.TrackAsync(order with { Identifiers = [Identifier.AnonymousId("fresh-cookie")] });

        Assert.False(replay.Status == TrackStatus.Accepted, $"{replay.Status}");
        Assert.Null(await host.Client.GetProfileAsync(Identifier.AnonymousId("fresh-cookie")));
    }

    // Unomi UNOMI-506 (aliases survive profile deletion): every id of a profile absorbed by a merge, and every
    // identifier it brought, stops resolving once the survivor is erased.
    [Fact]
    public async Task AfterErasure_TheIdsOfProfilesSheAbsorbed_ResolveToNothing()
    {
        await using var host = OmnichannelTestHost.Create();
        var cookie = Identifier.AnonymousId("cookie-ann");
        var anon = await host.TrackAsync(EventTypes.ProductViewed, [cookie]);
        var known = await host.TrackAsync("user.signed_up", [Ann]);
        await host.TrackAsync("user.logged_in", [Ann, cookie]);
        Assert.NotEqual(anon.ProfileId, known.ProfileId);

        Assert.True(await host.Client.EraseProfileAsync(cookie));

        Assert.Null(await host.Client.GetProfileByIdAsync(anon.ProfileId!));
        Assert.Null(await host.Client.GetProfileByIdAsync(known.ProfileId!));
        Assert.Null(await host.Client.ExportProfileAsync(Ann));
        Assert.Null(await host.Client.ExportProfileAsync(cookie));
        Assert.Empty(await host.Store.ResolveIdentifiersAsync([Ann, cookie]));
    }

    // Keycloak / Mautic "email in error message": a rejected identifier is never echoed in the refusal.
    [Theory]
    [InlineData(IdentifierTypes.Email, "ann.smith@@example.com")]
    [InlineData(IdentifierTypes.Email, "ann smith@example.com")]
    [InlineData(IdentifierTypes.Phone, "+44 7700 900123 ext ann")]
    public async Task AMalformedIdentifier_IsNotEchoedInTheRefusal(string type, string value)
    {
        await using var host = OmnichannelTestHost.Create();
        var r = await host.Client.TrackAsync(host.Event(EventTypes.ProductViewed, [new Identifier(type, value), Identifier.AnonymousId("c-1")]));

        foreach (var e in r.Errors)
        {
            Assert.DoesNotContain(value, e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("ann", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("7700", e.Message, StringComparison.Ordinal);
        }
    }

    // Tombstones hash "type:value": erasing customer id "42" must not lock out someone whose loyalty card is "42".
    [Fact]
    public async Task ATombstone_NamesItsTypeToo()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("42")]);
        Assert.True(await host.Client.EraseProfileAsync(Identifier.CustomerId("42")));

        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.LoyaltyCard("42")]))).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("user.signed_up", [Identifier.CustomerId("42")]))).Status);
    }
}
