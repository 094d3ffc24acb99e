using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests;

/// <summary>What the arrival-order tests share: every order of a few events, and one shuffled run against time order.</summary>
internal static class ArrivalOrders
{
    /// <summary>Every order of <paramref name="items"/> (n! of them: keep n small).</summary>
    public static IEnumerable<T[]> Permutations<T>(T[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }

        for (var i = 0; i < items.Length; i++)
        {
            var rest = items.Where((_, k) => k != i).ToArray();
            foreach (var tail in Permutations(rest))
            {
                yield return [items[i], .. tail];
            }
        }
    }

    /// <summary>
    /// Tracks <paramref name="events"/> one by one in time order (ties by id) on one partition, and as one batch shuffled
    /// by <paramref name="r"/> across three, and asserts that <paramref name="state"/> reads the same from both hosts.
    /// </summary>
    public static async Task AssertShuffledMatchesTimeOrderAsync(IReadOnlyList<CustomerEvent> events, Random r, int seed, Func<OmnichannelTestHost, Task<string>> state)
    {
        await using var expected = OmnichannelTestHost.Create(o => o.Partitions = 1);
        foreach (var e in events.OrderBy(e => e.Timestamp).ThenBy(e => e.Id, StringComparer.Ordinal))
        {
            Assert.True((await expected.Client.TrackAsync(e)).IsAcknowledged);
        }

        await using var actual = OmnichannelTestHost.Create(o => o.Partitions = 3);
        foreach (var res in await actual.Client.TrackBatchAsync([.. events.OrderBy(_ => r.Next())]))
        {
            Assert.True(res.IsAcknowledged, res.EventId + res.Status);
        }

        var a = await state(expected);
        var b = await state(actual);
        Assert.True(a == b, $"seed {seed}\n{string.Join("\n", events.Select(e => $"{e.Id} {e.Timestamp:HH:mm} {e.Type} {string.Join("+", e.Identifiers.Select(x => x.Value))} {e.Properties}"))}\nexpected {a}\nactual   {b}");
    }
}
