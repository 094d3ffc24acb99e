using System.Diagnostics;
using System.Runtime;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>
/// Warms a benchmark up until tiered compilation has settled, so that what is measured is the steady state of a
/// long-running process, not the first seconds of one.
/// </summary>
/// <remarks>
/// With dynamic PGO (the .NET default) a hot method is compiled three times (tier 0, instrumented, tier 1), each after
/// 30 calls and a quiet period that new tier-0 compilation keeps extending. On a busy 2-core machine the SDK's hot
/// methods took 50 to 90 rounds of 2,000 events (6 to 12 s) to settle, and methods called on every event (event
/// validation) reached tier 1 only after about 120,000 events: the in-memory store workload ran at about 40 µs per event
/// over rounds 10 to 30 and 21 µs over rounds 41 to 60 (design notes, "Measured at steady state; 64 partitions"). So each
/// side of every comparison, the baseline included, runs its own rounds until the JIT has compiled (almost) nothing new
/// for <see cref="QuietRounds"/> rounds in a row; then BenchmarkDotNet's own warm-up and measured rounds follow.
/// </remarks>
internal static class SteadyState
{
    /// <summary>How many rounds in a row must compile at most <see cref="QuietMethods"/> methods.</summary>
    public const int QuietRounds = 8;

    /// <summary>Methods a round may compile and still count as quiet (a timer's or a collection's rare path).</summary>
    public const int QuietMethods = 2;

    /// <summary>
    /// Runs <paramref name="round"/> (one round of the benchmark: its iteration set-up and its operation) until compilation
    /// is quiet, at most <paramref name="maxRounds"/> times or for <paramref name="maxTime"/> (default 3 minutes), and
    /// prints what it took.
    /// </summary>
    /// <returns>The number of rounds run.</returns>
    public static int WarmUp(Action round, int maxRounds = 400, TimeSpan? maxTime = null)
    {
        var limit = maxTime ?? TimeSpan.FromMinutes(3);
        var clock = Stopwatch.StartNew();
        var compiled = JitInfo.GetCompiledMethodCount();
        int rounds = 0, quiet = 0;
        while (quiet < QuietRounds && rounds < maxRounds && clock.Elapsed < limit)
        {
            round();
            rounds++;
            var now = JitInfo.GetCompiledMethodCount();
            quiet = now - compiled <= QuietMethods ? quiet + 1 : 0;
            compiled = now;
        }

        Console.WriteLine(
            $"// Steady state: {rounds} warm-up rounds in {clock.Elapsed.TotalSeconds:F1} s, {compiled} methods compiled, " +
            (quiet >= QuietRounds ? "compilation quiet." : "compilation NOT quiet (limit reached)."));
        return rounds;
    }

    /// <summary>
    /// Warms the JIT up on a throw-away copy of the benchmark (its own engine, file or database), so that the measured
    /// instance starts from the same data as before (its history does not grow with the warm-up) but runs code that has
    /// settled. Tiered compilation is per process, so what the copy compiled, the measured instance runs.
    /// </summary>
    /// <param name="setUp">The copy's global set-up (the measured instance's own, or a smaller one with the same paths).</param>
    /// <param name="round">One round on the copy: its iteration set-up and its operation.</param>
    /// <param name="cleanUp">The copy's global clean-up.</param>
    /// <param name="maxTime">How long the warm-up may take; default 3 minutes.</param>
    public static void WarmUpOnCopy<T>(Func<T, Task> setUp, Func<T, Task> round, Func<T, Task> cleanUp, TimeSpan? maxTime = null)
        where T : new()
    {
        var copy = new T();
        setUp(copy).GetAwaiter().GetResult();
        try
        {
            WarmUp(() => round(copy).GetAwaiter().GetResult(), maxTime: maxTime);
        }
        finally
        {
            cleanUp(copy).GetAwaiter().GetResult();
        }
    }

    /// <inheritdoc cref="WarmUpOnCopy{T}(Func{T, Task}, Func{T, Task}, Func{T, Task}, TimeSpan?)"/>
    public static void WarmUpOnCopy<T>(Action<T> setUp, Action<T> round, Action<T> cleanUp, TimeSpan? maxTime = null)
        where T : new() =>
        WarmUpOnCopy<T>(
            c =>
            {
                setUp(c);
                return Task.CompletedTask;
            },
            c =>
            {
                round(c);
                return Task.CompletedTask;
            },
            c =>
            {
                cleanUp(c);
                return Task.CompletedTask;
            },
            maxTime);
}
