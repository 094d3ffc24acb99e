using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Testing.Conformance;

// Text a store may not be able to hold as given: a NUL (PostgreSQL text cannot hold one) and unpaired surrogates
// (UTF-8 cannot encode one; SQLite and Npgsql's arrays turn it into U+FFFD, another value). A store either keeps such
// text exactly or refuses it; it never stores another value, never throws on a look-up, and a refused commit fails alone.
public abstract partial class StoreConformanceTests
{
    private static readonly string[] Unholdable = ["a\0b", "a\uD800b", "a\uDC00", "a\uD83D"];

    /// <summary>A look-up of text that may not be storable finds nothing, and never another value that is stored.</summary>
    [Fact]
    public Task Lookups_OfTextAStoreMayNotHold_FindNothing() => With(async store =>
    {
        // What SQLite and PostgreSQL would keep for "a\uD800b": a look-up of the original must not find it.
        var replaced = Identifier.CustomerId("a\uFFFDb");
        var day = new DateOnly(2026, 3, 1);
        await store.CommitAsync(New("a\uFFFDb", "d", claims: [new(replaced, null)], eventId: "a\uFFFDb") with
        {
            Segments = ["a\uFFFDb"],
            Measurements = [new(new MeasurementKey("a\uFFFDb", "", "", "", "", day, "a\uFFFDb"), 1)],
        });
        await store.CommitAsync(New("victim", "d") with { Outbox = [Entry("a\uFFFDb", "victim", T0)] });

        foreach (var text in Unholdable)
        {
            Assert.Empty(await store.ResolveIdentifiersAsync([Identifier.CustomerId(text), new Identifier(text, "x")]));
            Assert.Null(await store.LoadProfileAsync(text));
            Assert.Null(await store.ResolveProfileIdAsync(text));
            Assert.False(await store.IsEventProcessedAsync(text));
            Assert.False(await store.IsSuppressedAsync(text));
            Assert.Empty(await store.FindTombstonesAsync([text]));
            Assert.Empty(await store.ListSegmentMembersAsync(text, null, 10));
            Assert.Empty(await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = text }));
            Assert.False(await store.CompleteOutboxAsync(text, 0));
            Assert.False(await store.RescheduleOutboxAsync(text, 0, T0));
            Assert.False(await store.EraseProfileAsync(new ProfileErasure { ProfileId = text }));
        }

        // The look-ups above found nothing, and changed nothing.
        Assert.Equal("a\uFFFDb", (await store.ResolveIdentifiersAsync([replaced]))[replaced]);
        Assert.NotNull(await store.LoadProfileAsync("a\uFFFDb"));
        Assert.Equal(["a\uFFFDb"], await store.ListSegmentMembersAsync("a\uFFFDb", null, 10));
        Assert.Equal("a\uFFFDb", Assert.Single(await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 10)).MessageKey);
    });

    /// <summary>
    /// A commit carrying text the store may not hold is either kept exactly or refused with an
    /// <see cref="ArgumentException"/> that writes nothing; the commits made at the same time are not affected.
    /// </summary>
    [Fact]
    public Task Commit_CarryingTextAStoreMayNotHold_IsKeptExactlyOrRefusedAlone() => With(async store =>
    {
        var day = new DateOnly(2026, 3, 1);
        for (var round = 0; round < Unholdable.Length; round++)
        {
            var text = Unholdable[round];
            var bad = new List<ProfileCommit>
            {
                New($"b{round}-claim", "d", claims: [new(Identifier.CustomerId(text), null)]),
                New($"b{round}-event", "d", eventId: text),
                New($"b{round}-further", "d", eventId: $"b{round}-first") with { FurtherEventIds = ["f" + text] },
                New($"b{round}-segment", "d") with { Segments = [text] },
                New($"b{round}-outbox", "d") with { Outbox = [Entry(text, $"b{round}-outbox", T0)] },
                New($"b{round}-measure", "d") with { Measurements = [new(new MeasurementKey($"m{round}", "", text, "", "", day, "sent"), 1)] },
            };
            var good = Enumerable.Range(0, 4).Select(i => New($"g{round}-{i}", "d", claims: [new(Identifier.CustomerId($"g{round}-{i}"), null)], eventId: $"g{round}-{i}")).ToList();

            // Queued together (a store that groups commits groups these).
            var calls = bad.Concat(good).Select(c => Try(() => store.CommitAsync(c))).ToList();
            var results = await Task.WhenAll(calls);
            for (var i = 0; i < good.Count; i++)
            {
                Assert.Equal(new CommitResult(CommitStatus.Committed, 1), results[bad.Count + i].Result);
            }

            for (var i = 0; i < bad.Count; i++)
            {
                var (result, error) = results[i];
                if (error is not null)
                {
                    Assert.IsAssignableFrom<ArgumentException>(error);
                    Assert.Null(await store.LoadProfileAsync(bad[i].ProfileId));
                    continue;
                }

                Assert.Equal(CommitStatus.Committed, result!.Value.Status);
            }

            // What was kept is kept exactly: found by the same text, and read back as the same text.
            if (results[0].Error is null)
            {
                Assert.Equal($"b{round}-claim", (await store.ResolveIdentifiersAsync([Identifier.CustomerId(text)]))[Identifier.CustomerId(text)]);
            }

            if (results[1].Error is null)
            {
                Assert.True(await store.IsEventProcessedAsync(text));
            }

            if (results[2].Error is null)
            {
                Assert.True(await store.IsEventProcessedAsync("f" + text));
            }
            else
            {
                Assert.False(await store.IsEventProcessedAsync($"b{round}-first"));
            }

            if (results[3].Error is null)
            {
                Assert.Equal([$"b{round}-segment"], await store.ListSegmentMembersAsync(text, null, 10));
            }

            var claimed = await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(1), 100);
            Assert.Equal(results[4].Error is null ? [text] : [], claimed.Select(c => c.MessageKey).ToArray());
            foreach (var c in claimed)
            {
                Assert.True(await store.CompleteOutboxAsync(c.MessageKey, c.Attempt));
            }

            var rows = await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = $"m{round}" });
            Assert.Equal(results[5].Error is null ? [text] : [], rows.Select(r => r.Key.Variant).ToArray());
        }
    });

    private static async Task<(CommitResult? Result, Exception? Error)> Try(Func<ValueTask<CommitResult>> commit)
    {
        try
        {
            return (await commit().ConfigureAwait(false), null);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            return (null, ex);
        }
    }
}
