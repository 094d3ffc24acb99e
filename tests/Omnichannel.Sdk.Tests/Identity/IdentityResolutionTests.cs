namespace Omnichannel.Sdk.Tests.Identity;

public sealed class IdentityResolutionTests
{
    [Fact]
    public async Task Merge_AcrossFourProfilesByOneEvent_KeepsEverythingFromEverySide()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.CartItemAdded, [Identifier.AnonymousId("a1")], new { product_id = "p1", quantity = 1 });
        await host.TrackAsync(EventTypes.LoyaltyPointsEarned, [Identifier.LoyaltyCard("L1")], new { points = 50 }, channel: ChannelNames.Store);
        await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.Phone("+14155550100")], new { order_id = "o1", total = 10, currency = "USD" }, channel: ChannelNames.Phone);
        await host.TrackAsync(EventTypes.OrderPlaced, [Identifier.Email("x@y.io")], new { order_id = "o2", total = 30, currency = "USD" });
        host.Time.Advance(TimeSpan.FromMinutes(1));

        var result = await host.TrackAsync("user.linked", [Identifier.AnonymousId("a1"), Identifier.LoyaltyCard("L1"), Identifier.Phone("+1 415 555 0100"), Identifier.Email("X@y.io")]);

        var p = await host.ProfileAsync(Identifier.LoyaltyCard("L1"));
        Assert.Equal(result.ProfileId, p.Id);
        Assert.Equal(3, p.Merges.Count);
        Assert.Equal(2, p.Statistics.OrderCount);
        Assert.Equal(40m, p.Statistics.TotalSpent);
        Assert.Equal(20m, p.Statistics.AverageOrderValue);
        Assert.Equal(50m, p.Statistics.LoyaltyPoints);
        Assert.Equal(5, p.Statistics.EventCount);
        Assert.Equal(4, p.Identifiers.Count);
        Assert.Equal(LifecycleStage.RepeatCustomer, p.LifecycleStage);
        foreach (var merge in p.Merges)
        {
            Assert.Equal(result.EventId, merge.EventId);
            Assert.NotEqual(p.Id, merge.AbsorbedProfileId);
            Assert.Equal(p.Id, (await host.Client.GetProfileByIdAsync(merge.AbsorbedProfileId))!.Id);
        }
    }

    [Fact]
    public async Task Merge_ChainedThroughSeparateEvents_EndsInOneProfile()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("x.seen", [Identifier.AnonymousId("a1")]);
        await host.TrackAsync("x.seen", [Identifier.AnonymousId("a2")]);
        await host.TrackAsync("x.seen", [Identifier.DeviceId("d1")]);
        await host.TrackAsync("x.linked", [Identifier.AnonymousId("a1"), Identifier.Email("c@x.io")]);
        await host.TrackAsync("x.linked", [Identifier.AnonymousId("a2"), Identifier.Email("c@x.io")]);
        await host.TrackAsync("x.linked", [Identifier.DeviceId("d1"), Identifier.AnonymousId("a2")]);

        var ids = new[] { Identifier.AnonymousId("a1"), Identifier.AnonymousId("a2"), Identifier.DeviceId("d1"), Identifier.Email("c@x.io") };
        var profileIds = new HashSet<string>();
        foreach (var id in ids)
        {
            profileIds.Add((await host.ProfileAsync(id)).Id);
        }

        Assert.Single(profileIds);
        Assert.Equal(6, (await host.ProfileAsync(ids[0])).Statistics.EventCount);
    }

    [Fact]
    public async Task Merge_WhenTwoCustomerIdsShareAnEmail_KeepsProfilesApartAndRecordsConflict()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("x.signed_up", [Identifier.CustomerId("C-1"), Identifier.Email("family@x.io")]);
        var second = await host.TrackAsync("x.signed_up", [Identifier.CustomerId("C-2"), Identifier.Email("family@x.io")]);

        var one = await host.ProfileAsync(Identifier.CustomerId("C-1"));
        var two = await host.ProfileAsync(Identifier.CustomerId("C-2"));
        Assert.NotEqual(one.Id, two.Id);
        Assert.Equal(second.ProfileId, two.Id);
        Assert.Equal(one.Id, (await host.ProfileAsync(Identifier.Email("family@x.io"))).Id);
        Assert.False(two.Has(Identifier.Email("family@x.io")));
        var conflict = Assert.Single(two.Conflicts);
        Assert.Equal(IdentifierTypes.Email, conflict.IdentifierType);
        Assert.Matches("^[0-9a-f]{64}$", conflict.IdentifierHash); // another person's address: only its keyed hash
        Assert.Equal(one.Id, conflict.OtherProfileId);
        Assert.Contains("customer_id", conflict.Reason);
        Assert.Empty(one.Merges);
        Assert.Empty(two.Merges);
    }

    [Fact]
    public async Task Link_WhenEmailLimitReached_LeavesNewEmailUnlinkedWithConflict()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.Rules[IdentifierTypes.Email].Limit = 2);
        await host.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.Email("one@x.io")]);
        await host.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.Email("two@x.io")]);
        await host.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.Email("three@x.io")]);

        var p = await host.ProfileAsync(Identifier.CustomerId("C-1"));
        Assert.Equal(["one@x.io", "two@x.io"], p.IdentifierValues(IdentifierTypes.Email));
        Assert.Null(await host.Client.GetProfileAsync(Identifier.Email("three@x.io")));
        var conflict = Assert.Single(p.Conflicts);
        Assert.Null(conflict.OtherProfileId);
        Assert.Contains("limit is 2", conflict.Reason);
        Assert.Equal(3, p.Statistics.EventCount);
    }

    [Fact]
    public async Task Resolve_HigherPriorityIdentifierDecidesTheProfile()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("x.a", [Identifier.CustomerId("C-1"), Identifier.AnonymousId("shared-kiosk")]);
        await host.TrackAsync("x.a", [Identifier.CustomerId("C-2"), Identifier.Email("two@x.io")]);

        // The kiosk cookie belongs to C-1, but the event is C-2's: C-2 wins, the cookie stays with C-1.
        var r = await host.TrackAsync("x.b", [Identifier.AnonymousId("shared-kiosk"), Identifier.CustomerId("C-2")]);

        Assert.Equal((await host.ProfileAsync(Identifier.CustomerId("C-2"))).Id, r.ProfileId);
        Assert.Equal((await host.ProfileAsync(Identifier.CustomerId("C-1"))).Id, (await host.ProfileAsync(Identifier.AnonymousId("shared-kiosk"))).Id);
    }

    [Fact]
    public async Task Merge_ResolvesTraitsAndConsentsByNewestTime()
    {
        await using var host = OmnichannelTestHost.Create();
        var t0 = host.Time.GetUtcNow();
        host.Time.Advance(TimeSpan.FromMinutes(10));
        await host.TrackAsync(host.Event("x.a", [Identifier.AnonymousId("a1")], traits: new { first_name = "Clara", tier = "silver" }, at: t0.AddMinutes(5)));
        await host.TrackAsync(host.Event("x.a", [Identifier.Email("c@x.io")], traits: new { tier = "gold", city = "Leeds" }, at: t0.AddMinutes(1)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Identifier.AnonymousId("a1")], new { channel = "sms", granted = true }, at: t0.AddMinutes(2)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Identifier.Email("c@x.io")], new { channel = "sms", granted = false }, at: t0.AddMinutes(3)));
        await host.TrackAsync(host.Event(EventTypes.ConsentChanged, [Identifier.Email("c@x.io")], new { channel = "email", topic = "offers", granted = true }, at: t0.AddMinutes(3)));

        await host.TrackAsync(host.Event("x.login", [Identifier.AnonymousId("a1"), Identifier.Email("c@x.io")], at: t0.AddMinutes(6)));

        var p = await host.ProfileAsync(Identifier.Email("c@x.io"));
        Assert.Equal("silver", p.Traits["tier"]!.GetValue<string>());
        Assert.Equal("Leeds", p.Traits["city"]!.GetValue<string>());
        Assert.Equal("Clara", p.Traits["first_name"]!.GetValue<string>());
        Assert.False(p.GetConsent("sms")!.Granted);
        Assert.True(p.GetConsent("email", "offers")!.Granted);
        Assert.Null(p.GetConsent("email", "newsletter"));
        Assert.Null(p.GetConsent("push"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("null")]
    [InlineData("NULL")]
    [InlineData("undefined")]
    [InlineData("anonymous")]
    [InlineData("Guest")]
    [InlineData("0")]
    [InlineData("0000000")]
    [InlineData("-1")]
    public async Task BlockedValues_NeverMatch(string blocked)
    {
        await using var host = OmnichannelTestHost.Create();
        var a = await host.TrackAsync("x.a", [Identifier.CustomerId(blocked), Identifier.AnonymousId("a1")]);
        var b = await host.TrackAsync("x.a", [Identifier.CustomerId(blocked), Identifier.AnonymousId("a2")]);

        Assert.NotEqual(a.ProfileId, b.ProfileId);
        Assert.Null(await host.Client.GetProfileAsync(Identifier.CustomerId(blocked)));
        Assert.Empty((await host.ProfileAsync(Identifier.AnonymousId("a1"))).IdentifierValues(IdentifierTypes.CustomerId));
    }

    [Fact]
    public async Task BlockedValues_ConfiguredByHost_NeverMatch()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.BlockedValues.Add("test@example.com"));
        var a = await host.TrackAsync("x.a", [Identifier.Email("TEST@example.com"), Identifier.AnonymousId("a1")]);
        var b = await host.TrackAsync("x.a", [Identifier.Email("test@example.com"), Identifier.AnonymousId("a2")]);
        Assert.NotEqual(a.ProfileId, b.ProfileId);
    }

    [Fact]
    public async Task BlockedValues_WhenEveryIdentifierBlocked_RejectsEvent()
    {
        await using var host = OmnichannelTestHost.Create();
        var result = await host.Client.TrackAsync(host.Event("x.a", [Identifier.Email("null"), Identifier.AnonymousId("undefined")]));
        Assert.Equal(TrackStatus.Rejected, result.Status);
        Assert.Equal("identifiers", Assert.Single(result.Errors).Field);
    }

    [Theory]
    [InlineData("+44 20 7946 0958", "44", "+442079460958")]
    [InlineData("020 7946 0958", "44", "+442079460958")]
    [InlineData("0044 (20) 7946-0958", "1", "+442079460958")]
    [InlineData("(415) 555-0100", "1", "+14155550100")]
    [InlineData("415.555.0100", "1", "+14155550100")]
    [InlineData("+1-415-555-0100", "44", "+14155550100")]
    [InlineData("06 12 34 56 78", "33", "+33612345678")]
    public void PhoneNormalizer_ProducesE164(string raw, string countryCode, string expected)
    {
        var options = new IdentityOptions { DefaultPhoneCountryCode = countryCode };
        Assert.True(IdentifierNormalizers.Phone(raw, options, out var normalized, out var error), error);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("12345")]
    [InlineData("+44 20 7946 0958 12345678")]
    [InlineData("call me")]
    [InlineData("+0 123 456 789")]
    [InlineData("+44+20")]
    public void PhoneNormalizer_RejectsMalformedNumbers(string raw)
    {
        Assert.False(IdentifierNormalizers.Phone(raw, new IdentityOptions(), out _, out var error));
        Assert.StartsWith("is not a phone number", error);
    }

    [Theory]
    [InlineData("  Clara@Example.COM ", "clara@example.com")]
    [InlineData("a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk")]
    [InlineData("mailto:Clara@Example.com", "clara@example.com")]
    [InlineData(" MAILTO: clara@example.com", "clara@example.com")]
    public void EmailNormalizer_TrimsAndLowerCases(string raw, string expected)
    {
        Assert.True(IdentifierNormalizers.Email(raw, new IdentityOptions(), out var normalized, out _));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("clara")]
    [InlineData("@example.com")]
    [InlineData("clara@")]
    [InlineData("clara@localhost")]
    [InlineData("cl ara@example.com")]
    [InlineData("a@b@example.com")]
    [InlineData("clara@example.")]
    public void EmailNormalizer_RejectsMalformedAddresses(string raw)
    {
        Assert.False(IdentifierNormalizers.Email(raw, new IdentityOptions(), out _, out var error));
        Assert.Contains("not an email address", error);
    }

    [Fact]
    public async Task GetProfile_NormalizesTheLookupIdentifier()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.DefaultPhoneCountryCode = "44");
        await host.TrackAsync("x.a", [Identifier.Phone("07700 900123"), Identifier.Email("Ann@Shop.io")]);
        Assert.NotNull(await host.Client.GetProfileAsync(Identifier.Phone("+44 7700 900123")));
        Assert.NotNull(await host.Client.GetProfileAsync(Identifier.Email("ANN@shop.io ")));
    }

    [Fact]
    public async Task CustomIdentifierType_WithRules_ResolvesAndLimits()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Identity.AddType(new IdentifierRule("shopify_id") { Limit = 1, Priority = 90 }));
        await host.TrackAsync("x.a", [new Identifier("shopify_id", "S1"), Identifier.AnonymousId("a1")]);
        await host.TrackAsync("x.a", [new Identifier("shopify_id", "S2"), Identifier.AnonymousId("a2")]);
        await host.TrackAsync("x.a", [new Identifier("shopify_id", "S1"), Identifier.AnonymousId("a2")]);

        Assert.NotEqual((await host.ProfileAsync(new Identifier("shopify_id", "S1"))).Id, (await host.ProfileAsync(new Identifier("shopify_id", "S2"))).Id);
        Assert.Single((await host.ProfileAsync(new Identifier("shopify_id", "S1"))).Conflicts);
    }
}
