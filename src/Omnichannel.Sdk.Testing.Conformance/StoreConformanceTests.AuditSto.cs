using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;
using Xunit;

namespace Omnichannel.Sdk.Testing.Conformance;

// Every store orders text alike: by Unicode code point, the order of UTF-8 bytes that SQLite (BINARY) and PostgreSQL
// (COLLATE "C") compare in. UTF-16 ordinal order differs from it where a character above U+FFFF (a surrogate pair)
// meets U+E000–U+FFFF, so a page of ids, wake-up ties, outbox ties and measurement rows would differ by store.
public abstract partial class StoreConformanceTests
{
    // In code point order: ASCII, then U+E000 (private use), then U+FB01 (ﬁ), then U+1F600 (a surrogate pair).
    private static readonly string[] ByCodePoint = ["ab", "a\uE000", "a\uFB01", "a\U0001F600"];

    /// <summary>
    /// Profile ids and segment members are listed in code point order, page after page: an id above U+FFFF comes after
    /// one in U+E000–U+FFFF on every store (UTF-16 ordinal order would put it first).
    /// </summary>
    [Fact]
    public Task Ids_AboveTheBasicPlane_AreListedAfterPrivateUseAndCompatibilityCharacters_OnEveryStore() => With(async store =>
    {
        foreach (var id in ByCodePoint.Reverse())
        {
            await store.CommitAsync(New(id, "d") with { Segments = ["s"] });
        }

        Assert.Equal(ByCodePoint, await store.ListProfileIdsAsync(null, 10));
        Assert.Equal(ByCodePoint, await store.ListSegmentMembersAsync("s", null, 10));
        var paged = new List<string>();
        var members = new List<string>();
        for (string? after = null, afterMember = null; ;)
        {
            var page = await store.ListProfileIdsAsync(after, 1);
            var memberPage = await store.ListSegmentMembersAsync("s", afterMember, 1);
            if (page.Count == 0 && memberPage.Count == 0)
            {
                break;
            }

            paged.AddRange(page);
            members.AddRange(memberPage);
            after = page.Count > 0 ? page[0] : after;
            afterMember = memberPage.Count > 0 ? memberPage[0] : afterMember;
        }

        Assert.Equal(ByCodePoint, paged);
        Assert.Equal(ByCodePoint, members);
    });

    /// <summary>
    /// Wake-ups and outbox entries sharing one instant come in code point order of profile id and message key, both in
    /// one answer and page after page.
    /// </summary>
    [Fact]
    public Task TiesAtOneInstant_GoByCodePoint_ForWakeUpsAndOutboxEntries() => With(async store =>
    {
        foreach (var id in ByCodePoint.Reverse())
        {
            await store.CommitAsync(New(id, "d") with { WakeAt = T0, Outbox = [Entry("m" + id, id, T0)] });
        }

        Assert.Equal(ByCodePoint, (await store.GetDueProfilesAsync(T0, 10)).Select(w => w.ProfileId));
        Assert.Equal([ByCodePoint[0]], (await store.GetDueProfilesAsync(T0, 1)).Select(w => w.ProfileId));
        Assert.Equal(ByCodePoint.Select(id => "m" + id), (await store.ClaimOutboxAsync(T0, TimeSpan.FromMinutes(5), 10)).Select(e => e.MessageKey));

        // The same, one claim at a time once those leases have run out.
        var claimed = new List<string>();
        while (await store.ClaimOutboxAsync(T0.AddMinutes(5), TimeSpan.FromMinutes(5), 1) is { Count: > 0 } page)
        {
            claimed.AddRange(page.Select(e => e.MessageKey));
        }

        Assert.Equal(ByCodePoint.Select(id => "m" + id), claimed);
    });

    /// <summary>
    /// Measurement rows come in <see cref="MeasurementKey.Order"/>, which compares by code point as the SQL stores do; a
    /// limit keeps the same first rows on every store.
    /// </summary>
    [Fact]
    public Task MeasurementRows_AreOrderedByCodePoint_AndALimitKeepsTheSameRows() => With(async store =>
    {
        MeasurementKey[] keys = [.. ByCodePoint.Select(v => Key("j", "sent", Day1, variant: v))];
        await store.CommitAsync(New("p1", "d") with { Measurements = [.. keys.Order(MeasurementKey.Order).Select(k => new MeasurementDelta(k, 1))] });
        Assert.Equal(keys, (await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j" })).Select(r => r.Key));
        Assert.Equal(keys[..2], (await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j", Limit = 2 })).Select(r => r.Key));
        Assert.Equal(keys, keys.Reverse().Order(MeasurementKey.Order));
    });

    /// <summary>A metric prefix ending in the last character of a plane still finds the metrics that start with it.</summary>
    [Fact]
    public Task MeasurementQuery_WithAPrefixEndingInAPlanesLastCharacter_FindsItsMetrics() => With(async store =>
    {
        var key = Key("j", "x\U0001F7FFy", Day1);
        await store.CommitAsync(New("p1", "d") with { Measurements = [new MeasurementDelta(key, 1)] });
        Assert.Equal([key], (await store.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "j", MetricPrefix = "x\U0001F7FF" })).Select(r => r.Key));
    });

    /// <summary>
    /// A paging cursor no store can hold (a NUL, an unpaired surrogate: a host's own cursor, never an id a store listed)
    /// pages as the in-memory store pages, by code point: no server error, no U+FFFD in its place.
    /// </summary>
    [Fact]
    public Task PagingCursors_NoStoreCanHold_PageByCodePoint_OnEveryStore() => With(async store =>
    {
        string[] ids = ["a", "a\u0001", "ab", "a\uFB01", "a\U0001F600", "b"];
        foreach (var id in ids)
        {
            await store.CommitAsync(New(id, "d") with { Segments = ["s"] });
        }

        (string Cursor, string[] After)[] cases =
        [
            ("a\0z", ["a\u0001", "ab", "a\uFB01", "a\U0001F600", "b"]),
            ("a\uD83D", ["a\U0001F600", "b"]),
            ("a\uD83Dz", ["a\U0001F600", "b"]),
            ("a\uDE00", ["b"]),
            ("\uDFFF", []),
        ];
        foreach (var (cursor, after) in cases)
        {
            Assert.Equal(after, await store.ListProfileIdsAsync(cursor, 10));
            Assert.Equal(after, await store.ListSegmentMembersAsync("s", cursor, 10));
        }
    });
}
