using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>Audit Orl: the cluster client keeps one engine's promises on ordering within a batch and on cancellation.</summary>
public sealed class AuditOrlClusterTests
{
    private const string Cart = "auditorl-cart";
    private const string Order = "auditorl-order";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task AuditOrl_ABatchsEventsLinkedByAnIdentifier_UnderTwoGrainKeys_AreAppliedInTheOrderGiven()
    {
        var calls = new OrderOfCalls();
        await using var cluster = await StartWithAsync(calls);
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);

        // The cart is filled by email (grain of the email); the order carries her customer id too (grain of the customer
        // id). They share the email, so the order must not be applied before the cart (IOmnichannelClient.TrackBatchAsync).
        var results = await client.TrackBatchAsync(
        [
            events.Event(Cart, EventTypes.CartItemAdded, new { product_id = "bowl", quantity = 1, price = 10, currency = "USD" }, Identifier.Email("ann@example.com")),
            events.Event(Order, EventTypes.OrderPlaced, new { order_id = "O-1", total = 10, currency = "USD" }, Identifier.CustomerId("ann"), Identifier.Email("ann@example.com")),
        ]);

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(["cart start", "cart end", "order start"], calls.Log);
        var profile = await client.GetProfileAsync(Identifier.Email("ann@example.com"));
        Assert.NotNull(profile);
        Assert.Equal(profile.Id, (await client.GetProfileAsync(Identifier.CustomerId("ann")))!.Id);
    }

    /// <summary>
    /// Audit TA on the cluster: she is stored with an anonymous id and an email; a batch then carries one customer's
    /// identify by that email and another's screen by that anonymous id. They share no identifier, but they are one
    /// person's: the first claim is applied first and wins, as on one engine.
    /// </summary>
    [Fact]
    public async Task AuditTA_TwoClaimsOnOneStoredProfile_UnderTwoGrainKeys_AreAppliedInTheOrderGiven()
    {
        var calls = new OrderOfCalls();
        await using var cluster = await StartWithAsync(calls);
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event("auditta-known", "page.viewed", null, Identifier.AnonymousId("anon-1"), Identifier.Email("ann@example.com")))).Status);

        // The first claim is held until the second arrives (or a second passes): before, the second ran alongside and won.
        var results = await client.TrackBatchAsync(
        [
            events.Event(Cart, "user.identified", null, Identifier.CustomerId("first"), Identifier.Email("ann@example.com")),
            events.Event(Order, "screen.viewed", null, Identifier.CustomerId("second"), Identifier.AnonymousId("anon-1")),
        ]);

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(["cart start", "cart end", "order start"], calls.Log);
        var owner = await client.GetProfileAsync(Identifier.AnonymousId("anon-1"));
        Assert.Equal((await client.GetProfileAsync(Identifier.CustomerId("first")))!.Id, owner!.Id);
        Assert.DoesNotContain(owner.Identifiers, l => l.Value == "second");
    }

    /// <summary>
    /// Audit BO on the cluster: she is stored with an email and a phone; a batch carries her cart add by phone, then her
    /// removal by email, one identifier each, under two grain keys. Owners were read only when events that link
    /// identifiers went under two keys, so the removal ran alongside the add (and could skip the cart segment's entry).
    /// </summary>
    [Fact]
    public async Task AuditBO_OneStoredPersonsSingleIdentifierEvents_UnderTwoGrainKeys_AreAppliedInTheOrderGiven()
    {
        var calls = new OrderOfCalls();
        await using var cluster = await InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, new InMemoryOmnichannelStore());
            services.AddSingleton<IIncomingGrainCallFilter>(calls);
        });
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event("auditbo-known", "page.viewed", null, Identifier.Email("ann@example.com"), Identifier.Phone("+447700900111")))).Status);

        var results = await client.TrackBatchAsync(
        [
            events.Event(Cart, "page.viewed", null, Identifier.Phone("+447700900111")),
            events.Event(Order, "page.viewed", null, Identifier.Email("ann@example.com")),
        ]);

        Assert.All(results, r => Assert.Equal(TrackStatus.Accepted, r.Status));
        Assert.Equal(["cart start", "cart end", "order start"], calls.Log);
    }

    [Fact]
    public async Task AuditOrl_WritesWhoseTokenIsCancelledBeforeTheyAreSent_AreNotApplied_AsOnOneEngine()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient viaCluster = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        await using var engine = new OmnichannelEngine(ClusterSetup.Options(), new InMemoryOmnichannelStore(), _time);

        Assert.Equal(await OutcomesAsync(engine), await OutcomesAsync(viaCluster));
    }

    [Fact]
    public async Task AuditOrl_EventsWithAnUnpairedSurrogate_AreRejectedWithTheirField_AsOnOneEngine()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient viaCluster = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        await using var engine = new OmnichannelEngine(ClusterSetup.Options(), new InMemoryOmnichannelStore(), _time);

        Assert.Equal(await SurrogatesAsync(engine), await SurrogatesAsync(viaCluster));
    }

    private async Task<List<string>> SurrogatesAsync(IOmnichannelClient client)
    {
        var events = new ClusterEvents(_time);
        var lone = "\uD800";
        var bad = new[]
        {
            events.Event("id-" + lone, EventTypes.ProductViewed, null, Identifier.CustomerId("C-s1")),
            events.Event("type", "page." + lone, null, Identifier.CustomerId("C-s2")),
            events.Event("ident", EventTypes.ProductViewed, null, Identifier.CustomerId("C-" + lone)),
            events.Event("channel", EventTypes.ProductViewed, null, Identifier.CustomerId("C-s3")) with { Channel = "web" + lone },
        };
        var outcomes = new List<string>();
        foreach (var e in bad)
        {
            try
            {
                var r = await client.TrackAsync(e);
                outcomes.Add($"{r.Status} [{string.Join("; ", r.Errors)}]");
            }
            catch (Exception ex)
            {
                outcomes.Add(ex.GetType().Name);
            }
        }

        var good = events.Event("fine", EventTypes.ProductViewed, null, Identifier.CustomerId("C-s4"));
        outcomes.AddRange((await client.TrackBatchAsync([.. bad, good])).Select(r => $"{r.Status} [{string.Join("; ", r.Errors)}]"));
        return outcomes;
    }

    private async Task<List<string>> OutcomesAsync(IOmnichannelClient client)
    {
        var events = new ClusterEvents(_time);
        var ann = events.Event("c-1", EventTypes.ProductViewed, null, Identifier.CustomerId("C-ann"));
        var bob = events.Event("c-2", EventTypes.ProductViewed, null, Identifier.CustomerId("C-bob"));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var outcomes = new List<string>
        {
            await OutcomeAsync(async () => await client.TrackAsync(ann, cancelled.Token)),
            await OutcomeAsync(async () => await client.TrackBatchAsync([bob], cancelled.Token)),
        };

        // Nothing was applied: sending them again is not a duplicate.
        outcomes.Add((await client.TrackAsync(ann)).Status.ToString());
        outcomes.Add((await client.TrackBatchAsync([bob]))[0].Status.ToString());

        return outcomes;
    }

    private static async Task<string> OutcomeAsync(Func<Task> call)
    {
        try
        {
            await call();
            return "ok";
        }
        catch (OperationCanceledException)
        {
            return "cancelled";
        }
    }



    /// <summary>
    /// Records when the grain calls carrying the cart and the order start and end. The cart's call waits (a second at
    /// most) for the order's to arrive, so a client that sends both at once shows it every time.
    /// </summary>
    private Task<InProcessCluster> StartWithAsync(OrderOfCalls calls) => InProcessCluster.StartAsync(1, services =>
    {
        ClusterSetup.Register(_time, services, new InMemoryOmnichannelStore());
        services.AddSingleton<IIncomingGrainCallFilter>(calls);
    });

    private sealed class OrderOfCalls : IIncomingGrainCallFilter
    {
        private readonly TaskCompletionSource _orderArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<string> _log = [];

        public IReadOnlyList<string> Log
        {
            get
            {
                lock (_log)
                {
                    return [.. _log];
                }
            }
        }

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            var events = context.InterfaceMethod?.Name == "TrackAsync" && context.Request.GetArgumentCount() == 1 ? context.Request.GetArgument(0) as string[] : null;
            var cart = events?.Any(e => e.Contains(Cart, StringComparison.Ordinal)) == true;
            if (events?.Any(e => e.Contains(Order, StringComparison.Ordinal)) == true)
            {
                Add("order start");
                _orderArrived.TrySetResult();
            }

            if (cart)
            {
                Add("cart start");
                await Task.WhenAny(_orderArrived.Task, Task.Delay(TimeSpan.FromSeconds(1)));
            }

            await context.Invoke();
            if (cart)
            {
                Add("cart end");
            }
        }

        private void Add(string entry)
        {
            lock (_log)
            {
                _log.Add(entry);
            }
        }
    }
}
