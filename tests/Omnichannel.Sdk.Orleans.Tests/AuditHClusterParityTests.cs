using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>Audit H: the cluster client answers as the single-process engine does, and a failed grain call loses no other result.</summary>
public sealed class AuditHClusterParityTests
{
    private const string Boom = "audith.boom";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task AuditH_MixedBatchAndSingleEvents_GiveTheSameResultsAsOneEngine()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(2, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient viaCluster = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        await using var engine = new OmnichannelEngine(ClusterSetup.Options(), new InMemoryOmnichannelStore(), _time);

        var clusterResults = await RunAsync(viaCluster);
        var engineResults = await RunAsync(engine);

        Assert.Equal(Describe(engineResults), Describe(clusterResults));
    }

    [Fact]
    public async Task AuditH_WhenOneCustomersGrainCallFails_TheBatchStillAnswersEveryEventAndTheOthersAreAcknowledged()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter, FailMarkedTrackCalls>();
        });
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var batch = new[]
        {
            events.Event("ok-ann", EventTypes.ProductViewed, null, Identifier.CustomerId("ann")),
            events.Event("boom-bob", Boom, null, Identifier.CustomerId("bob")),
            events.Event("ok-carl", EventTypes.ProductViewed, null, Identifier.CustomerId("carl")),
            events.Event("bad", "", null, Identifier.CustomerId("dora")),
        };

        var results = await client.TrackBatchAsync(batch);

        Assert.Equal(batch.Select(e => e.Id), results.Select(r => r.EventId));
        Assert.Equal(TrackStatus.Accepted, results[0].Status);
        Assert.Equal(TrackStatus.StoreFailed, results[1].Status);
        Assert.True(results[1].IsTransient);
        Assert.NotNull(results[1].FailureReason);
        Assert.Equal(TrackStatus.Accepted, results[2].Status);
        Assert.Equal(TrackStatus.Rejected, results[3].Status);

        // What was acknowledged is in the store; the failed customer's event was not lost either: it can be sent again.
        Assert.NotNull(await client.GetProfileAsync(Identifier.CustomerId("ann")));
        Assert.NotNull(await client.GetProfileAsync(Identifier.CustomerId("carl")));
        Assert.Equal(TrackStatus.Duplicate, (await client.TrackAsync(batch[0])).Status);
    }

    [Fact]
    public async Task AuditH_RefusedReadsAndSends_ThrowTheSameExceptionsAsOneEngine()
    {
        var store = new InMemoryOmnichannelStore();
        await using var cluster = await InProcessCluster.StartAsync(1, services => ClusterSetup.Register(_time, services, store));
        IOmnichannelClient viaCluster = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        await using var engine = new OmnichannelEngine(ClusterSetup.Options(), new InMemoryOmnichannelStore(), _time);

        Assert.Equal(await OutcomesAsync(engine), await OutcomesAsync(viaCluster));
    }

    private static async Task<List<string>> OutcomesAsync(IOmnichannelClient client)
    {
        var calls = new List<Func<Task<object?>>>
        {
            async () => await client.GetSegmentMembersAsync("no-such-segment"),
            async () => await client.GetSegmentMembersAsync("no-such-segment", limit: 0),
            async () => await client.SendAsync(Identifier.Email("ann@example.com"), new Delivery.MessageRequest { Key = "", Channels = ["email"], TemplateId = "t" }),
            async () => await client.SendAsync(Identifier.Email("ann@example.com"), new Delivery.MessageRequest { Key = "k", Channels = [], TemplateId = "t" }),
            async () => await client.SendAsync(Identifier.Email("ann@example.com"), new Delivery.MessageRequest { Key = "k", Channels = ["email"], TemplateId = "" }),
            async () => await client.PreviewSegmentAsync(Segments.SegmentJson.Parse("""{"id": "x", "name": "X", "rule": {"segment": "missing"}}""").Value!),
            async () => await client.GetJourneyStatisticsAsync("no-such-journey"),
            async () => await client.GetProfileAsync(new Identifier("shoe_size", "42")),
            async () => await client.EraseProfileAsync(new Identifier("shoe_size", "42")),
            async () => await client.IsSuppressedAsync(Identifier.Email("not an email")),
        };
        var outcomes = new List<string>();
        foreach (var call in calls)
        {
            try
            {
                var value = await call();
                outcomes.Add("ok " + JsonSerializer.Serialize(value));
            }
            catch (Exception ex)
            {
                outcomes.Add(ex.GetType().FullName + ": " + ex.Message);
            }
        }

        return outcomes;
    }

    private async Task<List<TrackResult>> RunAsync(IOmnichannelClient client)
    {
        var events = new ClusterEvents(_time);
        var results = new List<TrackResult>();
        results.Add(await client.TrackAsync(events.Event("single-1", EventTypes.ProductViewed, new { product_id = "bowl" }, Identifier.Email("Ann@Example.com"))));
        results.Add(await client.TrackAsync(events.Event("single-1", EventTypes.ProductViewed, new { product_id = "bowl" }, Identifier.Email("ann@example.com"))));
        results.Add(await client.TrackAsync(events.Event("no-ids", EventTypes.ProductViewed, null)));
        results.Add(await client.TrackAsync(null!));
        results.Add(await client.TrackAsync(events.Event("bad-email", EventTypes.ProductViewed, null, Identifier.Email("not an email"))));
        results.Add(await client.TrackAsync(events.Event("unknown-type-id", EventTypes.ProductViewed, null, new Identifier("shoe_size", "42"))));
        results.Add(await client.TrackAsync(new CustomerEvent
        {
            Id = "null-traits",
            Type = "user.identified",
            Timestamp = _time.GetUtcNow(),
            Identifiers = [Identifier.CustomerId("C-null")],
            Traits = JsonDocument.Parse("null").RootElement,
            Properties = JsonDocument.Parse("[1,2]").RootElement,
        }));
        results.Add(await client.TrackAsync(events.Event("order-bad", EventTypes.OrderPlaced, new { order_id = 5, total = "x" }, Identifier.CustomerId("C-1"))));

        var batch = new List<CustomerEvent>
        {
            events.Event("b1", EventTypes.OrderPlaced, new { order_id = "O-1", total = 10, currency = "USD" }, Identifier.CustomerId("C-1")),
            events.Event("", EventTypes.ProductViewed, null, Identifier.CustomerId("C-2")),
            null!,
            events.Event("b1", EventTypes.OrderPlaced, new { order_id = "O-1", total = 10, currency = "USD" }, Identifier.CustomerId("C-1")),
            events.Event("b2", EventTypes.ProductViewed, null, Identifier.CustomerId("C-3"), Identifier.Email("c3@example.com")),
            events.Event("single-1", EventTypes.ProductViewed, null, Identifier.Email("ann@example.com")),
            events.Event("b3", "", null, Identifier.CustomerId("C-4")),
            events.Event("b4", EventTypes.ProductViewed, null, Identifier.AnonymousId("  ")),
        };
        results.AddRange(await client.TrackBatchAsync(batch));
        results.AddRange(await client.TrackBatchAsync([]));
        return results;
    }

    private static List<string> Describe(IEnumerable<TrackResult> results) =>
        [.. results.Select(r => $"{r.EventId} {r.Status} transient={r.IsTransient} profile={(r.ProfileId is null ? "none" : "some")} reason={r.FailureReason} errors=[{string.Join("; ", r.Errors)}]")];



    /// <summary>Fails every customer's TrackAsync grain call that carries an event of type <see cref="Boom"/>, before the grain runs.</summary>
    private sealed class FailMarkedTrackCalls : IIncomingGrainCallFilter
    {
        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.InterfaceMethod?.Name == "TrackAsync" && context.Request.GetArgumentCount() == 1
                && context.Request.GetArgument(0) is string[] events && events.Any(e => e.Contains(Boom, StringComparison.Ordinal)))
            {
                throw new InvalidOperationException("Injected failure of a grain call.");
            }

            return context.Invoke();
        }
    }
}
