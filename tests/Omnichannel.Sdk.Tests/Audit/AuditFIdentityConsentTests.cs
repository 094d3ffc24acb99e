using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Tests.Delivery;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit F: identifiers, numbers sent as text, and consent that must not depend on arrival order.</summary>
public sealed class AuditFIdentityConsentTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    [Theory]
    [InlineData("9,99")]     // a European decimal comma: read as 999 (NumberStyles.Number takes ',' as a thousands separator anywhere)
    [InlineData("1,2,3")]
    public async Task AnAmountWithACommaThatIsNoThousandsSeparator_IsRefused_NotReadAsAHundredTimesMore(string total)
    {
        await using var host = OmnichannelTestHost.Create();
        var result = await host.Client.TrackAsync(host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total, currency = "EUR" }));
        Assert.Equal(TrackStatus.Rejected, result.Status);
        Assert.Contains(result.Errors, e => e.Field == "properties.total");
    }

    [Theory]
    [InlineData("1,234.50", 1234.50)]
    [InlineData(" 19.90 ", 19.90)]
    [InlineData("-5", -5)]
    [InlineData("12", 12)]
    public async Task AnAmountSentAsText_WithOrWithoutThousandsSeparators_IsRead(string total, double expected)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-1", total, currency = "EUR" });
        var p = await host.ProfileAsync(Ann);
        Assert.Equal((decimal)expected, p.Statistics.TotalSpent);
    }

    [Fact]
    public async Task AQuantityWithADecimalComma_IsNotFifteen()
    {
        await using var host = OmnichannelTestHost.Create();
        var result = await host.Client.TrackAsync(host.Event(EventTypes.CartItemAdded, [Ann], new { product_id = "p1", quantity = "1,5" }));
        if (result.IsAcknowledged)
        {
            var p = await host.ProfileAsync(Ann);
            Assert.DoesNotContain(p.Cart, l => l.Quantity == 15);
        }
    }

    [Fact]
    public async Task OptOutAndOptInAtTheSameInstant_InEitherOrder_LeaveHerOptedOut()
    {
        foreach (var reversed in new[] { false, true })
        {
            await using var host = OmnichannelTestHost.Create();
            var at = host.Time.GetUtcNow();
            var grant = host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: at);
            var deny = host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false }, at: at);
            foreach (var e in reversed ? new[] { deny, grant } : [grant, deny])
            {
                await host.TrackAsync(e);
            }

            Assert.False((await host.ProfileAsync(Ann)).GetConsent("email")!.Granted);
        }
    }

    [Fact]
    public async Task AnOptOutOnOneProfile_SurvivesAMergeWithAProfileThatOptedInEarlier_InEitherDirection()
    {
        foreach (var cookieFirst in new[] { false, true })
        {
            var email = new RecordingTransport(ChannelNames.Email);
            await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
            var cookie = Identifier.AnonymousId("cookie-f1");
            var t0 = host.Time.GetUtcNow();
            var grant = host.Event(EventTypes.ConsentChanged, [cookie], new { channel = "email", granted = true }, at: t0);
            var deny = host.Event(EventTypes.MessageUnsubscribed, [Ann], new { channel = "email" }, at: t0 + TimeSpan.FromMinutes(1));
            foreach (var e in cookieFirst ? new[] { grant, deny } : [deny, grant])
            {
                await host.TrackAsync(e);
            }

            host.Time.Advance(TimeSpan.FromMinutes(2));
            await host.TrackAsync("user.logged_in", [cookie, Ann]);
            var p = await host.ProfileAsync(Ann);
            Assert.False(p.GetConsent("email", "promotions")!.Granted);
            var send = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo-" + cookieFirst, Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "promotions" });
            await host.Engine.RunDispatchAsync();
            Assert.Empty(email.Messages);
        }
    }

    [Theory]
    [InlineData("+1 (555) 010-0123")]
    [InlineData("555.010.0123")]
    [InlineData("1-555-010-0123")]
    [InlineData("001 555 010 0123")]
    [InlineData("tel:+1-555-010-0123")]
    [InlineData("＋１ ５５５ ０１０ ０１２３")]
    public async Task OnePhoneNumber_InTheFormatsPeopleWrite_IsOneProfile(string written)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("c-1"), Identifier.Phone("+15550100123")]);
        await host.TrackAsync("page.viewed", [Identifier.Phone(written)]);
        var p = await host.ProfileAsync(Identifier.CustomerId("c-1"));
        Assert.Equal(2, p.Statistics.EventCount);
    }

    [Theory]
    [InlineData("  Ann@Example.COM ")]
    [InlineData("ann@EXAMPLE.com\u200B")]
    [InlineData("ann@example.com\u00A0")]
    [InlineData("ａｎｎ＠ｅｘａｍｐｌｅ．ｃｏｍ")]
    public async Task OneEmailAddress_WrittenDifferently_IsOneProfile(string written)
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("c-1"), Ann]);
        await host.TrackAsync("page.viewed", [Identifier.Email(written)]);
        var p = await host.ProfileAsync(Identifier.CustomerId("c-1"));
        Assert.Equal(2, p.Statistics.EventCount);
    }

    [Fact]
    public async Task ASharedDevice_SecondCustomerLoggingInWithoutAReset_DoesNotMergeTheTwoCustomers()
    {
        await using var host = OmnichannelTestHost.Create();
        var cookie = Identifier.AnonymousId("shared-laptop");
        await host.TrackAsync("user.logged_in", [Identifier.CustomerId("c-ann"), cookie, Ann]);
        host.Time.Advance(TimeSpan.FromMinutes(5));
        await host.TrackAsync("user.logged_in", [Identifier.CustomerId("c-bob"), cookie, Identifier.Email("bob@example.com")]);
        var ann = await host.ProfileAsync(Identifier.CustomerId("c-ann"));
        var bob = await host.ProfileAsync(Identifier.CustomerId("c-bob"));
        Assert.NotEqual(ann.Id, bob.Id);
        Assert.False(ann.Has(Identifier.Email("bob@example.com")));
        Assert.True(bob.Has(Identifier.Email("bob@example.com")));
    }

    [Fact]
    public async Task TraitWritesAtTheSameInstant_SettleTheSameWay_InEitherOrder()
    {
        string? Read(CustomerProfile p) => p.Traits.TryGetPropertyValue("tier", out var v) ? v?.ToString() : null;
        var answers = new List<string?>();
        foreach (var reversed in new[] { false, true })
        {
            await using var host = OmnichannelTestHost.Create();
            var at = host.Time.GetUtcNow();
            var a = host.Event("user.updated", [Ann], at: at, traits: new { tier = "gold" });
            var b = host.Event("user.updated", [Ann], at: at, traits: new { tier = "silver" });
            foreach (var e in reversed ? new[] { b, a } : [a, b])
            {
                await host.TrackAsync(e);
            }

            answers.Add(Read(await host.ProfileAsync(Ann)));
        }

        Assert.Equal(answers[0], answers[1]);
    }

    [Fact]
    public async Task AnErasedPersonWhoComesBack_IsNotMessaged_OnTheConsentSheGaveBeforeTheErasure()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        var t0 = host.Time.GetUtcNow();
        await host.TrackAsync("user.signed_up", [Ann]);
        var grant = host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: t0);
        await host.TrackAsync(grant);
        Assert.True(await host.Client.EraseProfileAsync(Ann, new Omnichannel.Sdk.Privacy.EraseOptions { AllowReturn = true }));

        await host.AdvanceAsync(TimeSpan.FromDays(1));
        await host.TrackAsync("user.signed_up", [Ann]);
        var replay = await host.Client.TrackAsync(host.Event(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }, at: t0));
        Assert.Equal(TrackStatus.Erased, replay.Status);
        Assert.Null((await host.ProfileAsync(Ann)).GetConsent("email"));
        var send = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo" });
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
    }
}
