using FsCheck;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// The start-up visit (audit U49) reads each stored profile's segment fingerprint and whether it holds segment state from
/// its document, without deserialising it: the scan must say what the deserialised profile says, for every profile.
/// </summary>
public sealed class SegmentStateScanProperties
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    [Property(MaxTest = 300)]
    public void TheScan_SaysWhatTheProfileSays(byte shape, NonNegativeInt[] entries, string? fingerprint)
    {
        var p = new CustomerProfile("p1", Start) { SegmentsFingerprint = shape % 5 == 0 ? null : fingerprint };
        foreach (var e in entries)
        {
            // Segment state beside other content written before and after it, whose nested objects the scan skips.
            switch ((e.Get + shape) % 6)
            {
                case 0: p.SegmentMemberships[$"s{e.Get % 7}"] = Start.AddMinutes(e.Get); break;
                case 1: p.SegmentChecks[$"s{e.Get % 5}"] = Start.AddHours(e.Get % 50); break;
                case 2: (p.SegmentIncarnations ??= new(StringComparer.Ordinal))[$"s{e.Get % 3}"] = e.Get; break;
                case 3: ProfileCore.AddTimeline(p, new TimelineEntry($"e{e.Get}", "product.viewed", "web", Start.AddMinutes(e.Get % 900), "{\"segmentChecks\":{}}"), 50); break;
                case 4: ProfileFacts.PutOrder(p, $"o-{e.Get % 30}", e.Get % 97, "GBP", Start.AddMinutes(e.Get % 500), $"e{e.Get}"); break;
                default: p.TraitValues[$"segmentsFingerprint.x{e.Get % 3}"] = new TraitValue(System.Text.Json.JsonSerializer.SerializeToElement(new { segmentChecks = new { a = 1 } }), Start); break;
            }
        }

        if (shape % 7 == 0)
        {
            p.SegmentIncarnations = new(StringComparer.Ordinal); // present and empty: no state
        }

        var document = ProfileSerializer.Serialize(p);
        var read = ProfileSerializer.Deserialize(document, 1);
        var expected = (read.SegmentsFingerprint, read.SegmentMemberships.Count > 0 || read.SegmentChecks.Count > 0 || read.SegmentIncarnations is { Count: > 0 });

        Assert.Equal(expected, ProfileSerializer.ReadSegmentState(document));
        Assert.Equal(expected, ProfileSerializer.ReadSegmentState(new Storage.StoredProfile("p1", 1, document)));
    }

    [Fact]
    public async Task TheScan_ReadsTheInMemoryStoresSharedForm()
    {
        var p = new CustomerProfile("p1", Start) { SegmentsFingerprint = "f-1" };
        p.SegmentMemberships["vip"] = Start;
        for (var i = 0; i < 3 * WrittenJson<TimelineEntry>.MinimumToKeep; i++)
        {
            ProfileCore.AddTimeline(p, new TimelineEntry($"e{i}", "product.viewed", "web", Start.AddMinutes(i), null), 200); // kept runs: a shared document
        }

        var store = new Storage.InMemoryOmnichannelStore();
        var written = ProfileSerializer.SerializeShared(p);
        Assert.NotNull(written.Shared);
        await store.CommitAsync(new Storage.ProfileCommit(written.Shared) { ProfileId = "p1", ExpectedVersion = 0 });
        var stored = await store.LoadProfileAsync("p1");

        Assert.Equal(("f-1", true), ProfileSerializer.ReadSegmentState(stored!));
        Assert.Throws<System.Text.Json.JsonException>(() => ProfileSerializer.ReadSegmentState("[1]"u8));
    }
}
