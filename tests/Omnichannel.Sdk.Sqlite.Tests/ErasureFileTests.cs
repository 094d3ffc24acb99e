using System.Text;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Issue 12: after an erasure the erased values are in neither the database file nor its WAL.</summary>
public sealed class ErasureFileTests : IDisposable
{
    private const string Email = "ann.featherstone@example.com";
    private const string Phone = "+447700900123";
    private const string LastName = "Featherstonehaugh";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Erase_LeavesNoneOfTheErasedValuesInTheDatabaseOrWalBytes()
    {
        var path = _folder.File();
        var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        await using (var host = OmnichannelTestHost.Create(
            store: store,
            start: new DateTimeOffset(2026, 7, 1, 22, 30, 0, TimeSpan.Zero), // quiet hours: her message waits in the outbox
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", new RecordingTransport(ChannelNames.Email))))
        {
            Identifier[] ann = [Identifier.Email(Email), Identifier.Phone(Phone), Identifier.CustomerId("c-ann")];
            for (var i = 0; i < 40; i++)
            {
                // Many versions of her profile, so that old copies of her document were written and freed.
                await host.TrackAsync(EventTypes.ProductViewed, ann, new { product_id = $"p{i}" }, traits: new { last_name = LastName, visits = i });
            }

            await host.TrackAsync(EventTypes.ConsentChanged, ann, new { channel = "email", granted = true });
            Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(ann[2], new MessageRequest { Key = "promo", Channels = [ChannelNames.Email], TemplateId = "promo", Topic = "offers" })).Status);
            await host.TrackAsync("user.signed_up", [Identifier.Email("bob.keeper@example.com")], traits: new { last_name = "Keeper" });

            var before = DatabaseFileBytes.Read(path);
            Assert.True(DatabaseFileBytes.Contains(before, Email), "the test must see her address before the erasure");
            Assert.True(DatabaseFileBytes.Contains(before, LastName));

            Assert.True(await host.Client.EraseProfileAsync(ann[0]));

            var afterErase = DatabaseFileBytes.Read(path);
            AssertErased(afterErase);
            Assert.True(DatabaseFileBytes.Contains(afterErase, "bob.keeper@example.com"), "the other person's data must still be readable");
            Assert.Equal(0, new FileInfo(path + "-wal").Length);
        }

        await store.DisposeAsync();
        AssertErased(DatabaseFileBytes.Read(path));
    }

    [Fact]
    public async Task Erase_WhileHerEventsAreQueued_LeavesNoProfileHoldingHerIdentifiers()
    {
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 4, store: store);
        Identifier[] ann = [Identifier.Email(Email), Identifier.AnonymousId("cookie-ann")];
        await host.TrackAsync("user.signed_up", ann, traits: new { last_name = LastName });

        var inFlight = Enumerable.Range(0, 300)
            .Select(i => host.Client.TrackAsync(host.Event(EventTypes.ProductViewed, i % 3 == 0 ? [ann[1]] : ann, traits: new { last_name = LastName })).AsTask())
            .ToList();
        Assert.True(await host.Client.EraseProfileAsync(ann[0]));
        var results = await Task.WhenAll(inFlight);

        Assert.All(results, r => Assert.Contains(r.Status, new[] { TrackStatus.Accepted, TrackStatus.Erased }));
        Assert.Empty(await store.ResolveIdentifiersAsync(ann));
        Assert.Empty(await store.ListProfileIdsAsync(null, 10));
        AssertErased(DatabaseFileBytes.Read(path));
    }

    [Fact]
    public async Task Erase_OfAMergedPerson_LeavesNothingOfEitherProfile_InListingsOrFiles()
    {
        // Audit: her anonymous profile (cart, traits, a journey waiting, segment memberships) merged into her known one
        // at login; the erasure must reach what came from both sides, and her cookie must not bring any of it back.
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        var cartJourney = Omnichannel.Sdk.Journeys.JourneyJson.Parse("""
            {"id": "cart", "version": 1, "name": "Cart", "trigger": {"type": "event", "event": "cart.item_added"},
             "steps": [{"id": "wait", "type": "delay", "duration": "P3D"},
                       {"id": "s", "type": "send", "channels": ["email"], "template": "cart", "class": "transactional"}]}
            """).Value!;
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "carters", "name": "x", "rule": {"event": "cart.item_added"}}""").Value!);
                o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "named", "name": "x", "rule": {"trait": "last_name", "op": "exists"}}""").Value!);
                o.Journeys.Add(cartJourney);
            },
            store: store,
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", email));
        var cookie = Identifier.AnonymousId("cookie-featherstone");
        Identifier[] known = [Identifier.CustomerId("c-ann"), Identifier.Email(Email)];
        await host.TrackAsync(EventTypes.CartItemAdded, [cookie], new { product_id = "sku-1", name = "Featherstone lamp" }, traits: new { last_name = LastName });
        var anonymousId = (await host.ProfileAsync(cookie)).Id;
        await host.TrackAsync("user.signed_up", known, traits: new { nick = "annf" });
        await host.TrackAsync("user.logged_in", [known[0], cookie]);
        await host.TrackAsync("user.signed_up", [Identifier.Email("bob.keeper@example.com")], traits: new { last_name = "Keeper" });
        var merged = await host.ProfileAsync(cookie);
        Assert.Equal(merged.Id, (await host.ProfileAsync(known[0])).Id);
        Assert.Contains(merged.Id, await host.Client.GetSegmentMembersAsync("carters"));
        Assert.Single(merged.Journeys);

        Assert.True(await host.Client.EraseProfileAsync(cookie));

        Assert.Empty(await host.Client.GetSegmentMembersAsync("carters"));
        Assert.DoesNotContain(merged.Id, await host.Client.GetSegmentMembersAsync("named"));
        Assert.Null(await host.Client.GetProfileByIdAsync(anonymousId));
        Assert.Null(await host.Client.GetProfileByIdAsync(merged.Id));
        Assert.Null(await host.Client.ExportProfileAsync(known[1]));
        Assert.Null(await store.GetNextOutboxDueAsync());
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event(EventTypes.CartItemAdded, [cookie], new { product_id = "sku-2" }))).Status);
        await host.AdvanceAsync(TimeSpan.FromDays(4));
        Assert.Empty(email.Messages);
        var bytes = DatabaseFileBytes.Read(path);
        AssertErased(bytes);
        Assert.False(DatabaseFileBytes.Contains(bytes, "cookie-featherstone"), "her cookie is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, "Featherstone lamp"), "her cart is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, "annf"), "her traits are still in the files");
        Assert.True(DatabaseFileBytes.Contains(bytes, "bob.keeper@example.com"), "the other person's data must still be readable");
    }

    [Fact]
    public async Task SecureDelete_IsOnByDefault_AndCanBeTurnedOff()
    {
        var on = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = _folder.File("on.db") });
        await on.DisposeAsync();
        Assert.True(new SqliteStoreOptions().SecureDelete);

        // Turned off, a deleted row's bytes stay in the file: the reason the default is on.
        var path = _folder.File("off.db");
        await using (var off = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path, SecureDelete = false }))
        {
            await off.CommitAsync(new ProfileCommit { ProfileId = "p1", ExpectedVersion = 0, Document = Encoding.UTF8.GetBytes("{\"lastName\":\"" + LastName + "\"}") });
            Assert.True(await off.EraseProfileAsync(new ProfileErasure { ProfileId = "p1" }));
        }

        Assert.True(DatabaseFileBytes.Contains(DatabaseFileBytes.Read(path), LastName));
    }

    private static void AssertErased(byte[] bytes)
    {
        Assert.False(DatabaseFileBytes.Contains(bytes, Email), "her email is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, Phone), "her phone is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, "7700900123"), "her phone (national digits) is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, LastName), "her last name is still in the files");
        Assert.False(DatabaseFileBytes.Contains(bytes, "c-ann"), "her customer id is still in the files");
    }


    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = request.Key, From = "shop@kitty.example", To = address, Subject = "Hello " + LastName, TextBody = "Hi" });
    }
}
