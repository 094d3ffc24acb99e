namespace Omnichannel.Sdk.Benchmarks;

/// <summary>The fixed <c>Privacy.HashKey</c> of the benchmarks (a benchmark's hashes guard nobody).</summary>
internal static class BenchmarkKeys
{
    public const string HashKey = "benchmark-hash-key-not-a-secret-000000000000001";
}
