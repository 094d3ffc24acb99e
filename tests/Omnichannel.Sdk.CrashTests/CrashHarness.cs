using System.Diagnostics;
using Omnichannel.Sdk.CrashWorker;
using Xunit.Abstractions;

namespace Omnichannel.Sdk.CrashTests;

/// <summary>What a crash run observed: where each process's sends end in the recording file, and what the workers reported.</summary>
/// <param name="Kills">How many times the worker was killed.</param>
/// <param name="RunEnds">For each process, in order (the last one ran to completion), the number of complete lines of the recording file when it ended.</param>
/// <param name="WorkerOutput">Every line the workers wrote to standard output.</param>
public sealed record CrashRun(int Kills, IReadOnlyList<int> RunEnds, IReadOnlyList<string> WorkerOutput);

/// <summary>Starts the crash worker as a child process, kills it with SIGKILL at seeded random moments, and restarts it.</summary>
public sealed class CrashHarness(CrashWorkerSettings settings, ITestOutputHelper output)
{
    private static readonly TimeSpan ProgressTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CompletionTimeout = TimeSpan.FromMinutes(2);

    private readonly Dictionary<Process, List<string>> _errors = [];

    /// <summary>Kills the worker <paramref name="kills"/> times, then lets it finish.</summary>
    /// <param name="kills">How many kills.</param>
    /// <param name="seed">Seeds the kill delays.</param>
    /// <param name="maxDelayAfterProgress">The longest wait between the first new ack of a process and its kill.</param>
    /// <param name="maxAcksPerRun">
    /// A process is killed sooner when it has acknowledged this many new ids (a seeded random share of it), so that on a
    /// fast machine the input does not run out before every kill has landed.
    /// </param>
    public async Task<CrashRun> RunAsync(int kills, int seed, TimeSpan maxDelayAfterProgress, int maxAcksPerRun)
    {
        var random = new Random(seed);
        var lines = new List<string>();
        var runEnds = new List<int>();
        var clock = Stopwatch.StartNew();
        for (var kill = 1; kill <= kills; kill++)
        {
            var ackedBefore = AckLog.ReadAll(settings.AcksFile).Count;
            using var worker = Start(lines);
            using var cleanup = KillOnFailure(worker);

            // Most kills land after the process has made progress; every fifth lands early, during start-up, store
            // opening and recovery, whether or not it has acknowledged anything yet.
            var early = kill % 5 == 0;
            if (early)
            {
                await Task.Delay(random.Next(30, 400)); // real time on purpose: the victim is another process on the wall clock
            }
            else
            {
                await WaitForProgressAsync(worker, ackedBefore);
                await WaitAsync(worker, TimeSpan.FromMilliseconds(random.Next(0, (int)maxDelayAfterProgress.TotalMilliseconds)), ackedBefore + random.Next(1, maxAcksPerRun + 1));
            }

            if (worker.HasExited)
            {
                throw new InvalidOperationException(
                    $"The worker exited by itself (code {worker.ExitCode}) before kill {kill}: {Errors(worker)}. With code 0, give it more events.");
            }

            worker.Kill(entireProcessTree: true);
            await worker.WaitForExitAsync();
            runEnds.Add(CompleteLines(settings.SentFile));
            output.WriteLine($"kill {kill,2} at {clock.Elapsed.TotalSeconds,5:0.0} s{(early ? " (early)" : "")}: {AckLog.ReadAll(settings.AcksFile).Count} acked, {runEnds[^1]} sends recorded");
        }

        using (var last = Start(lines))
        using (KillOnFailure(last))
        {
            using var timeout = new CancellationTokenSource(CompletionTimeout);
            await last.WaitForExitAsync(timeout.Token);
            Assert.True(last.ExitCode == 0, $"The last worker failed with exit code {last.ExitCode}: {Errors(last)}");
            runEnds.Add(CompleteLines(settings.SentFile));
        }

        output.WriteLine($"completed at {clock.Elapsed.TotalSeconds,5:0.0} s: {AckLog.ReadAll(settings.AcksFile).Count} acked, {runEnds[^1]} sends recorded");
        lock (lines)
        {
            return new CrashRun(kills, runEnds, [.. lines]);
        }
    }

    /// <summary>The number of complete (newline-terminated) lines of a file; a torn last line does not count.</summary>
    /// <param name="path">The file.</param>
    public static int CompleteLines(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var count = 0;
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            count += buffer.AsSpan(0, read).Count((byte)'\n');
        }

        return count;
    }

    private Process Start(List<string> lines)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Omnichannel.Sdk.CrashWorker.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in settings.ToArguments())
        {
            start.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = start };
        var errors = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (errors)
                {
                    errors.Add(line);
                }
            }
        };
        _errors[process] = errors;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private string Errors(Process process)
    {
        var errors = _errors[process];
        lock (errors)
        {
            return errors.Count == 0 ? "(no standard error)" : string.Join("\n", errors.TakeLast(40));
        }
    }

    /// <summary>Leaves no worker behind when a step of the test throws.</summary>
    private static DisposableAction KillOnFailure(Process worker) => new(() =>
    {
        if (!worker.HasExited)
        {
            worker.Kill(entireProcessTree: true);
        }
    });

    private async Task WaitAsync(Process worker, TimeSpan delay, int ackLimit)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < delay && !worker.HasExited && AckLog.ReadAll(settings.AcksFile).Count < ackLimit)
        {
            await Task.Delay(5);
        }
    }

    private async Task WaitForProgressAsync(Process worker, int ackedBefore)
    {
        // Polls the worker's acks file: the worker is another process, so there is nothing to await but the file.
        var waited = Stopwatch.StartNew();
        while (!worker.HasExited && AckLog.ReadAll(settings.AcksFile).Count <= ackedBefore)
        {
            if (waited.Elapsed > ProgressTimeout)
            {
                throw new TimeoutException($"The worker acknowledged nothing new within {ProgressTimeout}: {Errors(worker)}");
            }

            await Task.Delay(5);
        }
    }
}

/// <summary>Runs an action when disposed.</summary>
internal sealed class DisposableAction(Action action) : IDisposable
{
    public void Dispose() => action();
}
