using BenchmarkDotNet.Attributes;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// What the start-up visit of segments (audit U49) pays per stored profile to decide whether it was evaluated under other
/// segment definitions: deserialising the profile (baseline, as before) against reading its fingerprint and segment state
/// from the document. The profile is a busy customer's: 200 timeline entries, 60 orders, 40 traits and 9 segment
/// memberships.
/// </summary>
[MemoryDiagnoser]
public class CatchUpBenchmarks
{
    private byte[] _document = [];

    [GlobalSetup]
    public void SetUp()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var p = new CustomerProfile("p1", start) { SegmentsFingerprint = "f-2026-01" };
        for (var i = 0; i < 200; i++)
        {
            ProfileCore.AddTimeline(p, new TimelineEntry($"e{i}", i % 3 == 0 ? "order.placed" : "product.viewed", "web", start.AddHours(i), $"entry {i}"), 200);
        }

        for (var i = 0; i < 60; i++)
        {
            ProfileFacts.PutOrder(p, $"o-{i}", 10 + i, "GBP", start.AddDays(i), $"e{i}");
        }

        for (var i = 0; i < 40; i++)
        {
            p.TraitValues[$"trait{i}"] = new TraitValue(System.Text.Json.JsonSerializer.SerializeToElement($"value {i}"), start);
        }

        for (var i = 0; i < 9; i++)
        {
            p.SegmentMemberships[$"segment-{i}"] = start.AddDays(i);
        }

        _document = ProfileSerializer.Serialize(p);
    }

    [Benchmark(Baseline = true)]
    public bool Deserialize()
    {
        var p = ProfileSerializer.Deserialize(_document, 1);
        return p.SegmentsFingerprint is not null && p.SegmentMemberships.Count > 0;
    }

    [Benchmark]
    public bool Scan() => ProfileSerializer.ReadSegmentState(_document) is (not null, true);
}
