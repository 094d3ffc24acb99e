using System.Diagnostics;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// One silo of a real cluster: a <c>Omnichannel.Sdk.Orleans.ClusterSilo</c> process on its own loopback ports, started
/// again on the same ports after each kill; each run records its sends in its own file.
/// </summary>
internal sealed class SiloProcess(int index, string folder, string redis, string clusterId, string connectionString) : IAsyncDisposable
{
    private readonly int _siloPort = RedisServer.FreePort();
    private readonly int _gatewayPort = RedisServer.FreePort();
    private readonly List<string> _errors = [];
    private Process? _process;
    private int _run;

    public int Index => index;

    /// <summary>Every recording file this silo's runs wrote.</summary>
    public List<string> SentFiles { get; } = [];

    /// <summary>Starts a run and waits until it has joined the cluster.</summary>
    public async Task StartAsync()
    {
        var sent = Path.Combine(folder, $"sent-silo{index}-run{_run++}.jsonl");
        SentFiles.Add(sent);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "Omnichannel.Sdk.Orleans.ClusterSilo.dll"),
            "--redis", redis, "--cluster", clusterId, "--connection", connectionString, "--sent", sent,
            "--silo-port", _siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--gateway-port", _gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(a);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == "READY")
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (_errors)
                {
                    _errors.Add(line);
                }
            }
        };
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"Silo {index} exited with code {process.ExitCode} before it was ready: {Errors()}"));
        _process = process;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>SIGKILL: no shutdown, no goodbye to the cluster.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
    }

    public string Errors()
    {
        lock (_errors)
        {
            return _errors.Count == 0 ? "(no standard error)" : string.Join("\n", _errors.TakeLast(30));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
