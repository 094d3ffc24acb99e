using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Engine;

/// <summary>
/// Runs of profile work: the sends, outcomes and wake-ups queued for one profile are applied in order and committed once.
/// Whatever a run does must be what one piece at a time does; the run only saves writes. Each test holds the partition's
/// worker in a commit (the store's gate) while the work queues behind it, so the run is there to be taken.
/// </summary>
public sealed class ProfileTaskRunTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier Bob = Identifier.CustomerId("bob");

    private sealed class PlainRenderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = request.TemplateId, TextBody = "Hello" });
    }

    private static async Task<(OmnichannelTestHost Host, FlakyStore Store, RecordingTransport Email)> CreateAsync(bool runs = true)
    {
        var store = new FlakyStore(new InMemoryOmnichannelStore()) { Runs = runs };
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o => o.Partitions = 1,
            store: store,
            delivery: new DeliverySetup { Renderer = new PlainRenderer() }.AddTransport("email", email));
        foreach (var c in new[] { Ann, Bob })
        {
            await host.TrackAsync("user.signed_up", [c, Identifier.Email($"{c.Value}@example.com")]);
        }

        return (host, store, email);
    }

    private static MessageRequest Receipt(string key) => new() { Key = key, Channels = [ChannelNames.Email], TemplateId = "receipt", Class = MessageClass.Transactional };

    /// <summary>Holds the worker in a commit of Bob's, queues <paramref name="queue"/> behind it, then lets it go on.</summary>
    private static Task<T> BehindAHeldCommitAsync<T>(OmnichannelTestHost host, FlakyStore store, Func<T> queue) =>
        store.BehindAHeldCommitAsync(() => host.Engine.SendAsync(Bob, Receipt("hold-" + Guid.NewGuid().ToString("N"))).AsTask(), queue);

    [Fact]
    public async Task FourSendsQueuedForOneCustomer_AreOneCommit_EachQueued_AndEachSentOnce()
    {
        var (host, store, email) = await CreateAsync();
        await using var _ = host;
        var before = (await host.ProfileAsync(Ann)).Version;

        var sends = await BehindAHeldCommitAsync(host, store, () => Enumerable.Range(0, 4).Select(i => host.Engine.SendAsync(Ann, Receipt($"r{i}")).AsTask()).ToArray());
        var results = await Task.WhenAll(sends);

        Assert.All(results, r => Assert.Equal(SendStatus.Queued, r.Status));
        var annId = (await host.ProfileAsync(Ann)).Id;
        var run = Assert.Single(store.Committed, c => c.ProfileId == annId && c.Outbox.Count > 0);
        Assert.Equal(before, run.ExpectedVersion); // one commit for the four, the first after them (her version is not
        // read here: the dispatch timer, due at once on the fake clock, may already be recording their outcomes)
        Assert.Equal(["r0", "r1", "r2", "r3"], run.Outbox.Select(o => o.MessageKey));

        await host.Engine.RunDispatchAsync();
        Assert.Equal(["r0", "r1", "r2", "r3"], email.Messages.Where(m => m.ProfileId == annId).Select(m => m.MessageId).Order());
        Assert.Empty(email.DuplicateMessageIds);
        var ann = await host.ProfileAsync(Ann);
        Assert.Equal(4, ann.Timeline.Count(t => t.Type == EventTypes.MessageSent));
    }

    [Fact]
    public async Task AKeySentTwiceInARun_IsQueuedOnce_AndTheSecondIsADuplicate()
    {
        var (host, store, email) = await CreateAsync();
        await using var _ = host;

        var sends = await BehindAHeldCommitAsync(host, store, () => new[] { "a", "b", "a" }.Select(k => host.Engine.SendAsync(Ann, Receipt(k)).AsTask()).ToArray());
        var results = await Task.WhenAll(sends);

        Assert.Equal([SendStatus.Queued, SendStatus.Queued, SendStatus.Duplicate], results.Select(r => r.Status));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(2, email.Messages.Count(m => m.MessageId is "a" or "b"));
    }

    [Fact]
    public async Task ARunWhoseCommitConflicts_IsDoneOnePieceAtATime_AndEveryPieceIsApplied()
    {
        var (host, store, email) = await CreateAsync();
        await using var _ = host;

        store.ConflictOnce = c => c.Outbox.Count > 1; // the run's commit, as if another partition had just written her
        var sends = await BehindAHeldCommitAsync(host, store, () => Enumerable.Range(0, 3).Select(i => host.Engine.SendAsync(Ann, Receipt($"c{i}")).AsTask()).ToArray());
        var results = await Task.WhenAll(sends);

        Assert.All(results, r => Assert.Equal(SendStatus.Queued, r.Status));
        Assert.Equal(3, store.Committed.Count(c => c.Outbox.Any(o => o.MessageKey.StartsWith('c'))));
        await host.Engine.RunDispatchAsync();
        Assert.Equal(["c0", "c1", "c2"], email.Messages.Select(m => m.MessageId).Where(k => k.StartsWith('c')).Order());
    }

    public sealed record Request(int Customer, int Key);

    /// <summary>
    /// For any sends to three customers (keys repeat), queued together behind a held commit: each answer and each profile's
    /// message keys and timeline are what sending them one at a time, in the same order, gives.
    /// </summary>
    [Property(MaxTest = 25)]
    public Property QueuedSends_AnswerAsOneAtATime(NonEmptyArray<(byte Customer, byte Key)> requests)
    {
        var list = requests.Get.Take(12).Select(r => new Request(r.Customer % 3, r.Key % 5)).ToArray();
        var together = Run(list, queued: true).GetAwaiter().GetResult();
        var alone = Run(list, queued: false).GetAwaiter().GetResult();
        return (together == alone).Label($"together:\n{together}\nalone:\n{alone}");
    }

    private static async Task<string> Run(Request[] requests, bool queued)
    {
        var (host, store, email) = await CreateAsync(runs: queued);
        await using var _ = host;
        Identifier Customer(int c) => c switch { 0 => Ann, 1 => Bob, _ => Identifier.CustomerId("cat") };
        if (requests.Any(r => r.Customer == 2))
        {
            await host.TrackAsync("user.signed_up", [Customer(2), Identifier.Email("cat@example.com")]);
        }

        // A key is the host's idempotency key for one message to one person: keys repeat per customer, not across them.
        MessageRequest For(Request r) => Receipt($"c{r.Customer}-k{r.Key}");
        SendResult[] results;
        if (queued)
        {
            results = await Task.WhenAll(await BehindAHeldCommitAsync(host, store, () => requests.Select(r => host.Engine.SendAsync(Customer(r.Customer), For(r)).AsTask()).ToArray()));
        }
        else
        {
            results = new SendResult[requests.Length];
            for (var i = 0; i < requests.Length; i++)
            {
                results[i] = await host.Engine.SendAsync(Customer(requests[i].Customer), For(requests[i]));
            }
        }

        await host.Engine.RunDispatchAsync();
        var lines = new List<string> { string.Join(",", results.Select(r => r.Status)) };
        foreach (var c in requests.Select(r => r.Customer).Distinct().Order())
        {
            var p = await host.ProfileAsync(Customer(c));
            lines.Add($"{c}: keys {string.Join(",", p.MessageKeys.Where(k => !k.StartsWith("hold-", StringComparison.Ordinal)).Order(StringComparer.Ordinal))}; " +
                $"sent {string.Join(",", p.Timeline.Where(t => t.Type == EventTypes.MessageSent && !t.EventId.StartsWith("hold-", StringComparison.Ordinal)).Select(t => t.EventId).Order(StringComparer.Ordinal))}");
        }

        lines.Add($"emails {email.Messages.Count(m => !m.MessageId.StartsWith("hold-", StringComparison.Ordinal))}, duplicates {email.DuplicateMessageIds.Count}");
        return string.Join("\n", lines);
    }
}
