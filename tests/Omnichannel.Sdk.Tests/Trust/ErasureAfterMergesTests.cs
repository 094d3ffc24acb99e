using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Audit, erasure that leaves data: a person whose profiles merged in a chain (cookie into email, email into customer
/// id) is erased through the identifier of the first one; nothing of any link of the chain may stay.
/// </summary>
public sealed class ErasureAfterMergesTests
{
    [Fact]
    public async Task Erase_AfterAChainOfMerges_LeavesNoProfileAliasOrHeldMessageOfAnyLink()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            start: new DateTimeOffset(2026, 1, 5, 22, 30, 0, TimeSpan.Zero), // quiet hours: her message waits in the outbox
            delivery: new DeliverySetup { Renderer = new TemplateIdRenderer() }.AddTransport("email", email));
        var cookie = Identifier.AnonymousId("cookie-1");
        var ann = Identifier.Email("ann@example.com");
        var known = Identifier.CustomerId("c-1");
        await host.TrackAsync("page.viewed", [cookie]);
        var first = (await host.ProfileAsync(cookie)).Id;
        await host.TrackAsync("newsletter.viewed", [ann]);
        await host.TrackAsync(EventTypes.ConsentChanged, [ann], new { channel = "email", granted = true });
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo" })).Status);
        var second = (await host.ProfileAsync(ann)).Id;
        await host.TrackAsync("user.logged_in", [ann, cookie]);
        await host.TrackAsync("user.signed_up", [known]);
        await host.TrackAsync("user.logged_in", [known, ann]);
        var last = (await host.ProfileAsync(known)).Id;
        Assert.Equal(last, (await host.ProfileAsync(cookie)).Id);

        Assert.True(await host.Client.EraseProfileAsync(cookie));

        foreach (var id in new[] { first, second, last })
        {
            Assert.Null(await host.Client.GetProfileByIdAsync(id));
            Assert.Null(await host.Store.ResolveProfileIdAsync(id));

            // No alias is left behind that still links the id to her (and keeps it taken).
            var reuse = await host.Store.CommitAsync(new ProfileCommit { ProfileId = id, ExpectedVersion = 0, Document = "{}"u8.ToArray() });
            Assert.Equal(CommitStatus.Committed, reuse.Status);
        }

        Assert.Empty(await host.Store.ClaimOutboxAsync(DateTimeOffset.MaxValue, TimeSpan.FromMinutes(1), 10));
        await host.AdvanceAsync(TimeSpan.FromDays(1));
        Assert.Empty(email.Messages);
    }
}
