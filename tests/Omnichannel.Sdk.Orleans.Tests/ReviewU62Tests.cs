using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Review of audit U62 (failed grain calls as results): the caller's own cancellation, a stopped client, personal data in
/// the inner chain of a failed call's exception.
/// </summary>
public sealed class ReviewU62Tests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));

    // A batch under two grain keys asks the cluster who owns its identifiers first; a silo that cancels that read (its own
    // token, as it stops) answered OperationCanceledException to a caller who cancelled nothing, which reads it as its own
    // cancellation and does not send again. The read is a hint: the batch goes on without it.
    [Fact]
    public async Task ReviewU62_AnOwnersReadCancelledOnTheSilo_IsNotTheCallersCancellation()
    {
        var store = new InMemoryOmnichannelStore();
        var filter = new Throw("OwnersAsync", () => new OperationCanceledException("the silo is stopping"));
        await using var cluster = await StartWithAsync(store, filter);
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var ann = Identifier.Email("r62-owners@example.com");
        var annPhone = Identifier.Phone("+447700900321");

        var results = await client.TrackBatchAsync([
            events.Event("r62-o1", EventTypes.ProductViewed, null, ann),
            events.Event("r62-o2", EventTypes.ProductViewed, null, annPhone)]);

        Assert.Equal([TrackStatus.Accepted, TrackStatus.Accepted], results.Select(r => r.Status));
    }

    // Held: the caller's own token, cancelled before anything is sent, is still a cancellation (not a transient
    // StoreFailed) for a single event and a batch under two grain keys, and nothing is applied.
    [Fact]
    public async Task ReviewU62_TheCallersCancelledToken_IsACancellation_NotATransientFailure()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var ann = Identifier.Email("r62-cancel@example.com");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.TrackAsync(events.Event("r62-c1", EventTypes.ProductViewed, null, ann), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.TrackBatchAsync([events.Event("r62-c2", EventTypes.ProductViewed, null, ann), events.Event("r62-c3", EventTypes.ProductViewed, null, Identifier.Phone("+447700900322"))], cancelled.Token));
        Assert.Null(await client.GetProfileAsync(ann));
    }

    // A client whose Orleans client was stopped (its host disposed, as at an application's shutdown): a single event threw
    // ObjectDisposedException, as a disposed engine does, but a batch answered StoreFailed, transient, "send it again",
    // which a caller that follows the interface retried for ever. Both throw now.
    [Fact]
    public async Task ReviewU62_AStoppedClient_ThrowsObjectDisposed_ForASingleEventAndABatchAlike()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var ann = Identifier.Email("r62-stopped@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event("r62-s0", EventTypes.ProductViewed, null, ann))).Status);
        await cluster.StopClientAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await client.TrackAsync(events.Event("r62-s1", EventTypes.ProductViewed, null, ann)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.TrackBatchAsync([events.Event("r62-s2", EventTypes.ProductViewed, null, ann)]));
    }

    // Held: a failed call whose exception quotes an address and a phone number in an AggregateException's message, in
    // its second inner exception and in the innermost cause: the reason (single and batch) carries none of them, and
    // still names the innermost cause's type.
    [Fact]
    public async Task ReviewU62_PersonalDataAnywhereInTheChain_IsNotInTheReason()
    {
        var store = new InMemoryOmnichannelStore();
        var filter = new Throw("TrackAsync", () => new AggregateException(
            new InvalidOperationException("middle for ann.r62@example.com", new IOException("deep +44 7700 900123 and ann.r62@example.com")),
            new InvalidOperationException("second for +447700900999")));
        await using var cluster = await StartWithAsync(store, filter);
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var ann = Identifier.Email("ann.r62@example.com");

        var single = await client.TrackAsync(events.Event("r62-p1", EventTypes.ProductViewed, null, ann));
        var batch = await client.TrackBatchAsync([events.Event("r62-p2", EventTypes.ProductViewed, null, ann)]);

        foreach (var r in new[] { single, batch[0] })
        {
            Assert.Equal((TrackStatus.StoreFailed, true), (r.Status, r.IsTransient));
            Assert.DoesNotContain("ann.r62", r.FailureReason, StringComparison.Ordinal);
            Assert.DoesNotContain("7700", r.FailureReason, StringComparison.Ordinal);
        }

        Assert.Contains("caused by IOException", single.FailureReason, StringComparison.Ordinal);
    }

    // One silo on the store, with a filter that makes grain calls fail.
    private Task<InProcessCluster> StartWithAsync(InMemoryOmnichannelStore store, IIncomingGrainCallFilter filter) =>
        InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(filter);
        });

    private sealed class Throw(string method, Func<Exception> make) : IIncomingGrainCallFilter
    {
        public Task Invoke(IIncomingGrainCallContext context) =>
            context.InterfaceMethod?.Name == method ? throw make() : context.Invoke();
    }
}
