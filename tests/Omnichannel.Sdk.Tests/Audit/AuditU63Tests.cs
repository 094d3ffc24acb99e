using System.Text;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U63: erasure everywhere her data lands. After <c>EraseProfileAsync</c> the store is searched for her email, phone
/// and ids in every place it keeps something: processed event ids and their purge queue, profile documents (hers and other
/// people's conflict records), measurement rows, the outbox, segment members.
/// </summary>
public sealed class AuditU63Tests
{
    private const string AnnMail = "ann.u63@example.com";
    private const string AnnPhone = "+14155550163";
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-u63");
    private static readonly Identifier Bob = Identifier.CustomerId("c-bob-u63");
    private static readonly DateTimeOffset Morning = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static string[] Hers => [AnnMail, AnnPhone, Ann.Value];

    // ---- 1. A shop builds event ids from the address ("signup-ann@example.com"; Segment's messageId is random, a
    // hand-rolled client's is not). The erasure tombstoned the ids' hashes but left the raw ids as processed, in the
    // store and in the in-memory store's purge queue, for the whole deduplication retention. ----
    [Fact]
    public async Task HerEventIdsBuiltFromHerAddress_AreForgottenAsProcessed_AndHerRedeliveryIsStillRefused()
    {
        await using var host = OmnichannelTestHost.Create(start: Morning);
        var signup = host.Event("user.signed_up", [Ann, Identifier.Email(AnnMail), Identifier.Phone(AnnPhone)]) with { Id = "signup-" + AnnMail };
        var order = host.Event(EventTypes.OrderPlaced, [Ann], new { order_id = "o-" + AnnMail, total = 30 }) with { Id = "order-" + AnnMail };
        var bobs = host.Event("user.signed_up", [Bob, Identifier.Email("bob.u63@example.com")]) with { Id = "signup-bob.u63@example.com" };
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(signup)).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(order)).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(bobs)).Status);
        var store = Assert.IsType<InMemoryOmnichannelStore>(host.Store);
        Assert.Contains(store.QueuedProcessedIds, id => id.Contains(AnnMail, StringComparison.Ordinal)); // the test sees them before

        Assert.True(await host.Client.EraseProfileAsync(Ann));

        Assert.False(await store.IsEventProcessedAsync(signup.Id));
        Assert.False(await store.IsEventProcessedAsync(order.Id));
        Assert.DoesNotContain(store.QueuedProcessedIds, id => id.Contains(AnnMail, StringComparison.Ordinal));
        Assert.True(await store.IsEventProcessedAsync(bobs.Id));
        Assert.Contains(bobs.Id, store.QueuedProcessedIds);

        // Forgotten as processed, still refused: the event-id tombstone answers a redelivery; Bob's is a duplicate.
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(signup)).Status);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(order)).Status);
        Assert.Null(await host.Client.GetProfileAsync(Identifier.Email(AnnMail)));
        Assert.Equal(TrackStatus.Duplicate, (await host.Client.TrackAsync(bobs)).Status);

        // The purge later finds only Bob's id left.
        Assert.Equal(1, await store.PurgeProcessedEventsAsync(Morning.AddYears(1)));
    }

    // ---- 2. The engine's partitions keep the profiles they touched deserialised. The erasure went to the store alone:
    // the store's version check made the copy harmless, but her email, phone and traits stayed in memory until the copy
    // was evicted (with a large cache, for the life of the process). ----
    [Fact]
    public async Task AfterHerErasure_NoPartitionKeepsACopyOfHerProfile()
    {
        await using var host = OmnichannelTestHost.Create(o => o.Partitions = 4, start: Morning);
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail)], traits: new { first_name = "Annabel" });
        await host.TrackAsync("user.logged_in", [Identifier.Email(AnnMail)]); // routed by another identifier: maybe another partition
        await host.TrackAsync("user.signed_up", [Bob]);
        var annId = (await host.ProfileAsync(Ann)).Id;
        var bobId = (await host.ProfileAsync(Bob)).Id;
        Assert.True(await host.Engine.HotCopiesOfAsync(annId) >= 1, "the test must see her hot copy before the erasure");

        Assert.True(await host.Client.EraseProfileAsync(Ann));

        Assert.Equal(0, await host.Engine.HotCopiesOfAsync(annId));
        Assert.True(await host.Engine.HotCopiesOfAsync(bobId) >= 1);
        Assert.Equal(TrackStatus.Erased, (await host.Client.TrackAsync(host.Event("user.logged_in", [Identifier.Email(AnnMail)]))).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.logged_in", [Bob]))).Status);
    }

    // ---- 3. A transport accepted her message and recording "sent" failed (a store fault): the engine remembers the
    // accepted send, address included, until the outcome is recorded (audit RX). Her erasure deleted the outbox entry, so
    // it never was: her address stayed in the engine for the life of the process. ----
    [Fact]
    public async Task AnAcceptedSendLeftUnrecorded_IsForgotten_WhenSheIsErased()
    {
        var store = new Engine.FlakyStore(new InMemoryOmnichannelStore()) { FailCommitOnce = c => c.EventId == "receipt-u63:sent" };
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(o => o.Delivery.Retry = null, start: Morning, store: store,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail)]);
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "receipt-u63", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync(); // accepted; recording it fails
        Assert.Single(email.Messages);
        Assert.Contains(AnnMail, host.Engine.UnrecordedAcceptedAddresses); // the test sees it before

        Assert.True(await host.Client.EraseProfileAsync(Ann));

        Assert.DoesNotContain(AnnMail, host.Engine.UnrecordedAcceptedAddresses);
        Assert.Null(await store.GetNextOutboxDueAsync());
    }

    // ---- 4. Held: everything else the store keeps after her erasure. Her customer id refused on Bob's event leaves a
    // conflict on Bob's profile (the identifier's keyed hash, never its value); measurement rows name journeys, steps,
    // templates and days, never an order id or an address; her pending message leaves the outbox; segment members and
    // every remaining document hold none of her values. ----
    [Fact]
    public async Task Held_AfterHerErasure_NoDocumentRowOrMemberHoldsHerValues_ConflictsOnOtherProfilesKeepOnlyHashes()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Segments.Add(Omnichannel.Sdk.Segments.SegmentJson.Parse("""{"id": "buyers", "name": "x", "rule": {"event": "order.placed"}}""").Value!);
                // Her marketing message waits for the end of these quiet hours (11:00): pending in the outbox at her erasure
                // whatever the dispatcher does (it starts as soon as a message due now is queued, and won that race at times).
                o.Delivery.QuietHoursStart = new TimeOnly(9, 0);
                o.Delivery.QuietHoursEnd = new TimeOnly(11, 0);
            },
            start: Morning,
            delivery: new DeliverySetup { Renderer = new StubMessageRenderer() }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email(AnnMail), Identifier.Phone(AnnPhone)], traits: new { first_name = "Annabel" });
        await host.TrackAsync("user.signed_up", [Bob, Identifier.Email("bob.u63@example.com")]);
        // Bob's device sends her address: refused (it is hers, and the two customer ids cannot merge), noted on his profile.
        await host.TrackAsync("user.logged_in", [Bob, Identifier.Email(AnnMail)]);
        await host.Client.SendAsync(Ann, new MessageRequest { Key = "receipt-u63", Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();
        await host.TrackAsync(EventTypes.OrderPlaced, [Ann], new { order_id = "o-" + AnnMail, total = 30, message_id = "receipt-u63" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true }); // without it the promo was skipped, never pending
        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Ann, new MessageRequest { Key = "later-u63", Channels = [ChannelNames.Email], TemplateId = "promo" })).Status); // left in the outbox: held for quiet hours
        Assert.NotNull(await host.Store.GetNextOutboxDueAsync()); // the case it means to test: pending at her erasure
        var bob = await host.ProfileAsync(Bob);
        Assert.NotEmpty(bob.Conflicts); // the test made the conflict it means to check
        var annId = (await host.ProfileAsync(Ann)).Id;
        Assert.Contains(annId, await host.Client.GetSegmentMembersAsync("buyers"));

        Assert.True(await host.Client.EraseProfileAsync(Ann));

        var stored = new StringBuilder();
        foreach (var id in await host.Store.ListProfileIdsAsync(null, 100))
        {
            stored.Append(Encoding.UTF8.GetString((await host.Store.LoadProfileAsync(id))!.Document)).Append('\n');
        }

        foreach (var row in await host.Store.GetMeasurementsAsync(new Omnichannel.Sdk.Measurement.MeasurementQuery()))
        {
            stored.Append(row.Key).Append('\n');
        }

        foreach (var entry in await host.Store.ClaimOutboxAsync(Morning.AddDays(30), TimeSpan.FromMinutes(1), 100))
        {
            stored.Append(entry.MessageKey).Append(' ').Append(entry.ProfileId).Append(' ').Append(Encoding.UTF8.GetString(entry.Payload)).Append('\n');
        }

        stored.AppendJoin('\n', await host.Client.GetSegmentMembersAsync("buyers"));
        var text = stored.ToString();
        Assert.Contains("bob.u63@example.com", text, StringComparison.Ordinal); // the search reads what is there
        Assert.All(Hers.Append("Annabel"), v => Assert.DoesNotContain(v, text, StringComparison.Ordinal));
        Assert.DoesNotContain(annId, await host.Client.GetSegmentMembersAsync("buyers"));
        Assert.All((await host.ProfileAsync(Bob)).Conflicts, c => Assert.DoesNotContain("@", c.IdentifierHash, StringComparison.Ordinal));
        Assert.Single(email.Messages); // her receipt only: the pending message was never sent
    }
}
