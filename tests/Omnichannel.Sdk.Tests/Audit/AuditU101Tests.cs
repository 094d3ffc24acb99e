using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit U101: trust defects left alone earlier, round 13 (see docs/design-notes.md).</summary>
public sealed class AuditU101Tests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static JourneyDefinition Browse() => JourneyRig.Parse("""
        {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
         "entry": {"correlationKey": "product_id", "reEntry": "afterCooldown", "cooldown": "P30D"},
         "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
        """);

    /// <summary>
    /// U97 left alone "a merge does not trim journey re-entry entries". Held: her browser viewed p0–p199 on day 0 and her
    /// account p100–p299 on day 10 (each side at the 200-record bound, 100 products on both), then she logged in on the
    /// browser. Every product viewed again within its cooldown is refused (the shared ones count from day 10), a new one
    /// is refused while every record is within its cooldown; on day 31 the browser-only products and a new one enter,
    /// the shared and account-only ones are still refused. Whichever profile absorbs the other.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoProfilesAtTheEntryBound_Merged_KeepEveryCooldown(bool browserAbsorbs)
    {
        await using var rig = JourneyRig.Create([Browse()], start: Start);
        var browser = Identifier.AnonymousId("anon-u101");
        var account = Identifier.CustomerId("c-u101");
        var mail = Identifier.Email("ann.u101@example.com");
        for (var i = 0; i < 200; i++)
        {
            await rig.TrackAsync(EventTypes.ProductViewed, [browser, Identifier.Email("ann.u101@other.example")], new { product_id = "p" + i });
        }

        await rig.AdvanceAsync(TimeSpan.FromDays(10));
        for (var i = 100; i < 300; i++)
        {
            await rig.TrackAsync(EventTypes.ProductViewed, [account, mail], new { product_id = "p" + i });
        }

        Assert.Equal(400, rig.Sent().Count);
        await rig.AdvanceAsync(TimeSpan.FromDays(1));
        var other = Identifier.Email("ann.u101@other.example");
        await rig.TrackAsync("user.logged_in", browserAbsorbs ? [other, account] : [account, other]);
        Assert.True((await rig.Host.ProfileAsync(account)).Has(browser), "the two profiles are one person");

        for (var i = 0; i < 300; i += 7)
        {
            await rig.TrackAsync(EventTypes.ProductViewed, [account], new { product_id = "p" + i });
        }

        await rig.TrackAsync(EventTypes.ProductViewed, [browser], new { product_id = "new-1" });
        Assert.Equal(400, rig.Sent().Count);
        var p = await rig.Host.ProfileAsync(account);
        Assert.Contains(p.Timeline, t => t.Type == "journey.entry_refused" && t.Summary?.Contains("200 earlier entries are within their cooldown", StringComparison.Ordinal) == true);

        await rig.AdvanceAsync(TimeSpan.FromDays(20)); // day 31: p0–p99 are out of their cooldown, p100–p299 until day 40
        await rig.TrackAsync(EventTypes.ProductViewed, [account], new { product_id = "p0" });
        await rig.TrackAsync(EventTypes.ProductViewed, [account], new { product_id = "p150" });
        await rig.TrackAsync(EventTypes.ProductViewed, [account], new { product_id = "p250" });
        await rig.TrackAsync(EventTypes.ProductViewed, [account], new { product_id = "new-1" });
        Assert.Equal(402, rig.Sent().Count);

        await rig.AdvanceAsync(TimeSpan.FromDays(9)); // day 40, past the account's views by 30 days
        await rig.TrackAsync(EventTypes.ProductViewed, [account], new { product_id = "p150" });
        await rig.TrackAsync(EventTypes.ProductViewed, [account], new { product_id = "p0" }); // day 31 + 30 is day 61
        Assert.Equal(403, rig.Sent().Count);
    }

    /// <summary>
    /// U99 left alone "keys her document no longer names (past the 500 a profile keeps) stay remembered"; U101 pinned it,
    /// audit U102 fixed it: the store records the profile each key was accepted for, and her erasure forgets every key of
    /// hers, keeping each one's keyed hash. Her 502 keys built from her address: after her erasure none is remembered (the
    /// two oldest were before), Bob's key is; every one of hers is still refused as a duplicate, for Bob and, after the
    /// erasure is lifted and she comes back, for her.
    /// </summary>
    [Fact]
    public async Task HerKeysPastTheFiveHundredAProfileKeeps_AreForgottenAtHerErasure_AndStillRefused()
    {
        const string Mail = "ann.keys.u101@example.com";
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            start: Start,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        var ann = Identifier.CustomerId("c-ann-keys-u101");
        var bob = Identifier.CustomerId("c-bob-keys-u101");
        await host.TrackAsync("user.signed_up", [ann, Identifier.Email(Mail)]);
        await host.TrackAsync("user.signed_up", [bob, Identifier.Email("bob.keys.u101@example.com")]);
        static MessageRequest Receipt(int i) => new() { Key = $"receipt-{i}-{Mail}", Channels = [ChannelNames.Email], TemplateId = "r", Class = MessageClass.Transactional };
        for (var i = 0; i < 502; i++)
        {
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, Receipt(i))).Status);
        }

        var bobs = new MessageRequest { Key = "receipt-bob.keys.u101@example.com", Channels = [ChannelNames.Email], TemplateId = "r", Class = MessageClass.Transactional };
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(bob, bobs)).Status);
        await host.Engine.RunDispatchAsync();
        var sentBefore = email.Messages.Count;
        Assert.True(await host.Client.EraseProfileAsync(ann));

        var store = Assert.IsType<InMemoryOmnichannelStore>(host.Store);
        Assert.DoesNotContain(store.AcceptedMessageKeys, k => k.Contains(Mail, StringComparison.Ordinal));
        Assert.Contains(bobs.Key, store.AcceptedMessageKeys);
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(bob, Receipt(0))).Status);
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(bob, Receipt(501))).Status);
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(bob, bobs)).Status);

        // Lifted, she comes back: her oldest key (not named by her document at the erasure) is still a duplicate.
        Assert.True(await host.Client.LiftErasureAsync(ann));
        Assert.True(await host.Client.LiftErasureAsync(Identifier.Email(Mail)));
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        await host.TrackAsync("user.signed_up", [ann, Identifier.Email(Mail)]);
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(ann, Receipt(0))).Status);
        Assert.Equal(SendStatus.Duplicate, (await host.Client.SendAsync(ann, Receipt(1))).Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(sentBefore, email.Messages.Count);
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, Receipt(502))).Status);
    }
}
