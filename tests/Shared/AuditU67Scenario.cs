using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.StoreParity;

/// <summary>
/// Audit U67: several engines on one durable store, and time on it. Scenarios both durable stores must pass; each process
/// is built by the caller on its store (<see cref="TwoProcessStoreScenario.Engine"/> with a one-hour wait before the send).
/// </summary>
internal static class AuditU67Scenario
{
    /// <summary>
    /// marten/JasperFx "stale aggregate" reports, dotnet/orleans#7637 (a second activation's stale state written back):
    /// engine B holds a visitor's profile hot; engine A merges it into her account at login; B then tracks more of the
    /// visitor's events under the anonymous id. B's stale copy must not bring the absorbed profile back or write over the
    /// merge: one profile, every event counted once, the same answer from both engines.
    /// </summary>
    public static async Task AMergeOnOneEngine_WhileTheOtherHoldsTheAbsorbedProfileHot_IsNotWrittenOverAsync(Func<FakeTimeProvider, RecordingTransport, ServiceProvider> process)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var a = process(time, new RecordingTransport());
        await using var b = process(time, new RecordingTransport());
        var first = a.GetRequiredService<OmnichannelEngine>();
        var second = b.GetRequiredService<OmnichannelEngine>();
        var visitor = Identifier.AnonymousId("v-u67");
        var ann = Identifier.CustomerId("ann-u67");

        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Event(time, "v1", "page.viewed", visitor))).Status); // hot in B
        Assert.Equal(TrackStatus.Accepted, (await first.TrackAsync(Event(time, "s1", "user.signed_up", ann, Identifier.Email("ann-u67@example.com")))).Status);
        Assert.Equal(TrackStatus.Accepted, (await first.TrackAsync(Event(time, "l1", "user.logged_in", ann, visitor))).Status); // the merge, on A
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Event(time, "v2", "page.viewed", visitor))).Status); // B's copy is stale
        Assert.Equal(TrackStatus.Accepted, (await second.TrackAsync(Event(time, "v3", EventTypes.CartItemAdded, visitor))).Status);
        Assert.Equal(TrackStatus.Accepted, (await first.TrackAsync(Event(time, "v4", "page.viewed", visitor))).Status);

        var ids = await first.Store.ListProfileIdsAsync(null, 10);
        var kept = Assert.Single(ids);
        foreach (var engine in new[] { first, second })
        {
            var byVisitor = await engine.GetProfileAsync(visitor);
            var byAccount = await engine.GetProfileAsync(ann);
            Assert.Equal(kept, byVisitor!.Id);
            Assert.Equal(kept, byAccount!.Id);
            Assert.Equal(6, byAccount.Statistics.EventCount);
        }

        Assert.Equal(TrackStatus.Duplicate, (await second.TrackAsync(Event(time, "v2", "page.viewed", visitor))).Status);
        Assert.Equal(TrackStatus.Duplicate, (await first.TrackAsync(Event(time, "v1", "page.viewed", visitor))).Status);
    }

    /// <summary>
    /// HangfireIO/Hangfire#544 and quartznet/quartznet#1029 (misfires after downtime), npgsql/npgsql#2439 (microseconds):
    /// an engine stops with three waits pending, due at an odd tick (x.0000005 s, a −03:30 offset); the next engine on
    /// the store starts after all three: each message goes exactly once, at its start, without the clock moving; nothing is
    /// due a tick before its instant while the first engine runs.
    /// </summary>
    public static async Task WaitsPendingAtAStop_EachRunOnce_WhenTheNextEngineStartsPastThemAsync(Func<FakeTimeProvider, RecordingTransport, ServiceProvider> process)
    {
        var begun = new DateTimeOffset(2026, 3, 8, 1, 30, 0, TimeSpan.FromMinutes(-210)).AddTicks(5);
        var time = new FakeTimeProvider(begun);
        await using (var stopped = process(time, new RecordingTransport()))
        {
            var engine = stopped.GetRequiredService<OmnichannelEngine>();
            for (var i = 0; i < 3; i++)
            {
                var who = Identifier.CustomerId("r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event(time, "s" + i, "user.signed_up", who, Identifier.Email("r" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "@example.com")))).Status);
                Assert.Equal(TrackStatus.Accepted, (await engine.TrackAsync(Event(time, "c" + i, EventTypes.CartItemAdded, who))).Status);
                time.Advance(TimeSpan.FromMinutes(10));
            }

            var firstDue = begun.AddHours(1);
            Assert.Equal(firstDue.UtcTicks, (await engine.GetNextWakeUpAsync())!.Value.UtcTicks);
            Assert.Empty(await engine.Store.GetDueProfilesAsync(firstDue.AddTicks(-1), 10));
            Assert.Single(await engine.Store.GetDueProfilesAsync(firstDue, 10));
        }

        time.SetUtcNow(begun.AddHours(3)); // down past all three
        var transport = new RecordingTransport();
        await using var restarted = process(time, transport);
        var next = restarted.GetRequiredService<OmnichannelEngine>();
        Assert.True(await TwoProcessStoreScenario.Eventually(() => transport.Messages.Count >= 3), "a wait pending at the stop did not run at the restart");
        await next.RunDueAsync();
        await next.RunDispatchAsync();
        time.Advance(TimeSpan.FromMinutes(10)); // leases end, looks are made: nothing goes twice
        await next.RunDueAsync();
        await next.RunDispatchAsync();

        Assert.Equal(3, transport.Messages.Count);
        Assert.Equal(3, transport.Messages.Select(m => ((EmailMessage)m).To).Distinct(StringComparer.Ordinal).Count());
        Assert.Null(await next.GetNextWakeUpAsync());
    }

    /// <summary>
    /// Web servers that track and workers that send (the PostgreSQL README's deployment): a process with no transport plans
    /// a message; the worker, running beside it, must send it without waiting for its next look in the store.
    /// </summary>
    /// <param name="worker">Builds the sending process (transports, no wait before the send).</param>
    /// <param name="web">Builds the tracking process (no transport; the same journeys).</param>
    public static async Task AMessagePlannedByAProcessWithoutTransports_IsSentByTheWorker_WithoutWaitingForALookAsync(
        Func<FakeTimeProvider, RecordingTransport, ServiceProvider> worker, Func<FakeTimeProvider, ServiceProvider> web)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var transport = new RecordingTransport();
        await using var w = worker(time, transport);
        var sender = w.GetRequiredService<OmnichannelEngine>();
        await sender.RunDueAsync();
        await using var t = web(time);
        var tracker = t.GetRequiredService<OmnichannelEngine>();
        var ann = Identifier.CustomerId("ann-u67-web");
        Assert.Equal(TrackStatus.Accepted, (await tracker.TrackAsync(Event(time, "w1", "user.signed_up", ann, Identifier.Email("ann-u67-web@example.com")))).Status);
        Assert.Equal(TrackStatus.Accepted, (await tracker.TrackAsync(Event(time, "w2", EventTypes.CartItemAdded, ann))).Status);

        Assert.True(await TwoProcessStoreScenario.Eventually(() => transport.Messages.Count > 0), "the worker did not send the message the web process planned (the clock did not move)");
        Assert.Equal("Your cart c1", Assert.Single(transport.Sent<EmailMessage>()).Subject);
        await sender.RunDispatchAsync(); // its outcome recorded: the entry is gone, nothing left leased
        Assert.Null(await sender.Store.GetNextOutboxDueAsync());
    }

    private static CustomerEvent Event(TimeProvider time, string id, string type, params Identifier[] identifiers) => TwoProcessStoreScenario.Event(time, id, type, identifiers);
}
