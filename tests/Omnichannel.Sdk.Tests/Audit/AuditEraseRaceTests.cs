using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Tests.Engine;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit ER: erasure racing other work (merges, sends, wake-ups, batches), interleaved with a commit gate.</summary>
public sealed class AuditEraseRaceTests
{
    private static readonly Identifier AnnEmail = Identifier.Email("ann@example.com");
    private static readonly Identifier AnnCookie = Identifier.AnonymousId("cookie-ann");
    private static readonly Identifier BobId = Identifier.CustomerId("bob-1");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static (OmnichannelTestHost Host, FlakyStore Store, RecordingTransport Email) Build(Action<OmnichannelOptions>? configure = null)
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Partitions = 4;
                o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
                configure?.Invoke(o);
            },
            store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        return (host, store, email);
    }

    /// <summary>Holds the next commit, runs <paramref name="during"/> while it waits, then lets it go on.</summary>
    private static async Task<T> WithCommitHeldAsync<T>(FlakyStore store, Func<Task<T>> start, Func<Task> during)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.Gate = gate;
        var held = start();
        await store.CommitWaiting.Task.WaitAsync(Wait);
        store.Gate = null;
        try
        {
            await during().WaitAsync(Wait);
        }
        finally
        {
            gate.SetResult();
        }

        return await held.WaitAsync(Wait);
    }

    private static async Task AssertAnnIsGoneAsync(OmnichannelTestHost host)
    {
        Assert.Empty(await host.Store.ResolveIdentifiersAsync([AnnEmail, AnnCookie]));
        Assert.Null(await host.Client.GetProfileAsync(AnnEmail));
        Assert.Null(await host.Client.GetProfileAsync(AnnCookie));
    }

    [Fact]
    public async Task AMergeHeldAtItsCommit_WhileSheIsErased_DoesNotLinkHerEmailToBob()
    {
        var (host, store, _) = Build();
        await using var _h = host;
        await host.TrackAsync("user.signed_up", [AnnEmail, AnnCookie], traits: new { last_name = "Smith" });
        await host.TrackAsync("user.signed_up", [BobId], traits: new { last_name = "Jones" });

        var merge = await WithCommitHeldAsync(
            store,
            () => host.Client.TrackAsync(host.Event("user.logged_in", [BobId, AnnEmail])).AsTask(),
            async () => Assert.True(await host.Client.EraseProfileAsync(AnnCookie)));

        Assert.Equal(TrackStatus.Erased, merge.Status);
        await AssertAnnIsGoneAsync(host);
        var bob = await host.ProfileAsync(BobId);
        Assert.DoesNotContain(bob.Identifiers, i => i.Type == IdentifierTypes.Email);
        Assert.Equal("Jones", bob.Traits["last_name"]?.ToString());
    }

    [Fact]
    public async Task ASendHeldAtItsCommit_WhileSheIsErased_IsNeverHandedToATransport()
    {
        var (host, store, email) = Build();
        await using var _h = host;
        await host.TrackAsync(EventTypes.ConsentChanged, [AnnEmail, AnnCookie], new { channel = "email", granted = true });

        var send = await WithCommitHeldAsync(
            store,
            () => host.Client.SendAsync(AnnCookie, new MessageRequest { Key = "promo-1", Channels = [ChannelNames.Email], TemplateId = "promo", Class = MessageClass.Transactional }).AsTask(),
            async () => Assert.True(await host.Client.EraseProfileAsync(AnnEmail)));

        Assert.NotEqual(SendStatus.Queued, send.Status);
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
        Assert.Null(await host.Store.GetNextOutboxDueAsync());
        await AssertAnnIsGoneAsync(host);
    }

    [Fact]
    public async Task AJourneyWakeUpHeldAtItsCommit_WhileSheIsErased_NeitherSendsNorBringsHerBack()
    {
        var journey = Omnichannel.Sdk.Journeys.JourneyJson.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "wait", "type": "delay", "duration": "PT2H"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
            """).Value!;
        var (host, store, email) = Build(o => o.Journeys.Add(journey));
        await using var _h = host;
        await host.TrackAsync(EventTypes.CartItemAdded, [AnnEmail, AnnCookie], new { product_id = "sku-1" });
        Assert.Single((await host.ProfileAsync(AnnEmail)).Journeys);

        await WithCommitHeldAsync(
            store,
            async () => { await host.AdvanceAsync(TimeSpan.FromHours(3)); return 0; },
            async () => Assert.True(await host.Client.EraseProfileAsync(AnnEmail)));

        await host.AdvanceAsync(TimeSpan.FromHours(3));
        await host.Engine.RunDispatchAsync();
        Assert.Empty(email.Messages);
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
        Assert.Empty(await host.Store.GetDueProfilesAsync(DateTimeOffset.MaxValue, 10));
        await AssertAnnIsGoneAsync(host);
    }

    [Fact]
    public async Task ABatchMixingHerEventsAndOthers_RacingHerErasure_StoresEveryAcknowledgedEventOfTheOthers()
    {
        var (host, _, _) = Build();
        await using var _h = host;
        await host.TrackAsync("user.signed_up", [AnnEmail, AnnCookie], traits: new { last_name = "Smith" });
        var events = Enumerable.Range(0, 200)
            .Select(i => i % 2 == 0
                ? host.Event(EventTypes.ProductViewed, i % 4 == 0 ? [AnnCookie] : [AnnEmail, Identifier.AnonymousId($"ann-new-{i}")], new { product_id = $"p{i}" })
                : host.Event(EventTypes.ProductViewed, [Identifier.CustomerId($"other-{i % 7}")], new { product_id = $"p{i}" }))
            .ToList();

        var batch = host.Client.TrackBatchAsync(events);
        var erase = host.Client.EraseProfileAsync(AnnEmail).AsTask();
        await Task.WhenAll(batch, erase).WaitAsync(Wait);

        Assert.True(await erase);
        var results = await batch;
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Contains(results[i].Status, new[] { TrackStatus.Accepted, TrackStatus.Erased });
            if (i % 2 == 1)
            {
                Assert.Equal(TrackStatus.Accepted, results[i].Status);
            }
        }

        await AssertAnnIsGoneAsync(host);
        for (var k = 0; k < 7; k++)
        {
            var other = await host.ProfileAsync(Identifier.CustomerId($"other-{k}"));
            var expected = events.Where((e, i) => i % 2 == 1 && i % 7 == k).Count();
            Assert.Equal(expected, other.Timeline.Count(t => t.Type == EventTypes.ProductViewed));
        }

        foreach (var e in events.Where((e, i) => i % 2 == 0))
        {
            foreach (var id in e.Identifiers)
            {
                Assert.Null(await host.Client.GetProfileAsync(id));
            }
        }
    }

    [Theory]
    [InlineData(ChannelNames.Push)]
    [InlineData(ChannelNames.InApp)]
    [InlineData(ChannelNames.Email)]
    public async Task AMessageWhoseDispatchReadHerProfile_BeforeHerErasure_IsNotHandedOverAfterIt(string channel)
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var transport = new RecordingTransport(channel);
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport(channel, transport));
        Identifier[] ann = [AnnEmail, Identifier.DeviceId("ann-phone-1")];
        await host.TrackAsync("user.signed_up", ann);
        var id = (await host.ProfileAsync(AnnEmail)).Id;
        store.HoldLoadOf = id; // the dispatcher's fresh read of her profile, before it checks the message again
        var send = await host.Client.SendAsync(AnnEmail, new MessageRequest { Key = "receipt-" + channel, Channels = [channel], TemplateId = "receipt", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, send.Status);

        var dispatch = host.Engine.RunDispatchAsync();
        await store.LoadWaiting.Task.WaitAsync(Wait);
        try
        {
            Assert.True(await host.Client.EraseProfileAsync(AnnEmail).AsTask().WaitAsync(Wait));
        }
        finally
        {
            store.LoadRelease.SetResult();
        }

        await dispatch.WaitAsync(Wait);
        await host.Engine.RunDispatchAsync();
        Assert.Empty(transport.Messages);
        Assert.Empty(await host.Store.ListProfileIdsAsync(null, 10));
        Assert.Null(await host.Store.GetNextOutboxDueAsync());
    }

    [Fact]
    public async Task ARunOfHerEventsHeldAtItsCommit_WhileSheIsErased_IsRefused_AndTheOthersOfTheBatchAreStored()
    {
        var (host, store, _) = Build(o => o.Partitions = 1);
        await using var _h = host;
        await host.TrackAsync("user.signed_up", [AnnEmail, AnnCookie], traits: new { last_name = "Smith" });
        await host.TrackAsync("user.signed_up", [BobId]);
        var batch = new[]
        {
            host.Event(EventTypes.ProductViewed, [AnnCookie], new { product_id = "a1" }),
            host.Event(EventTypes.ProductViewed, [AnnEmail, Identifier.AnonymousId("ann-tablet")], new { product_id = "a2" }),
            host.Event(EventTypes.ProductViewed, [AnnCookie], new { product_id = "a3" }),
            host.Event(EventTypes.ProductViewed, [BobId], new { product_id = "b1" }),
            host.Event(EventTypes.ProductViewed, [BobId], new { product_id = "b2" }),
        };

        var results = await WithCommitHeldAsync(
            store,
            () => host.Client.TrackBatchAsync(batch),
            async () => Assert.True(await host.Client.EraseProfileAsync(AnnEmail)));

        Assert.All(results.Take(3), r => Assert.Equal(TrackStatus.Erased, r.Status));
        Assert.All(results.Skip(3), r => Assert.Equal(TrackStatus.Accepted, r.Status));
        await AssertAnnIsGoneAsync(host);
        Assert.Null(await host.Client.GetProfileAsync(Identifier.AnonymousId("ann-tablet")));
        Assert.Equal(2, (await host.ProfileAsync(BobId)).Timeline.Count(t => t.Type == EventTypes.ProductViewed));
    }
}
