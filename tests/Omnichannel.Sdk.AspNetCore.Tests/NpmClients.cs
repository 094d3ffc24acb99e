using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>
/// The real npm tracking clients (<c>@segment/analytics-node</c>, <c>@rudderstack/rudder-sdk-node</c>), installed by
/// the tests themselves with <c>npm ci</c> (the versions in <c>node/package-lock.json</c>) into a temp folder keyed by the manifest (so a second run
/// reuses it), and driven through <c>node/send.js</c>.
/// </summary>
public static class NpmClients
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? installed;

    /// <summary>Why the npm tests cannot run here, or <see langword="null"/> when node and npm are on the PATH.</summary>
    public static string? Unavailable { get; } = Probe();

    private static string SourceDir => Path.Combine(AppContext.BaseDirectory, "node");

    public static async Task<string> InstallAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (installed is not null)
            {
                return installed;
            }

            var manifest = await File.ReadAllTextAsync(Path.Combine(SourceDir, "package.json")) + await File.ReadAllTextAsync(Path.Combine(SourceDir, "package-lock.json"));
            var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifest)))[..16];
            var dir = Path.Combine(Path.GetTempPath(), "omnichannel-tracking-clients-" + key);
            Directory.CreateDirectory(dir);
            foreach (var file in new[] { "package.json", "package-lock.json", "send.js" })
            {
                File.Copy(Path.Combine(SourceDir, file), Path.Combine(dir, file), overwrite: true);
            }

            if (!File.Exists(Path.Combine(dir, "node_modules", "@segment", "analytics-node", "package.json"))
                || !File.Exists(Path.Combine(dir, "node_modules", "@rudderstack", "rudder-sdk-node", "package.json")))
            {
                var (code, output) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], dir, TimeSpan.FromMinutes(5));
                Assert.True(code == 0, $"npm ci failed ({code}):\n{output}");
            }

            return installed = dir;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Sends <paramref name="calls"/> through <paramref name="client"/> in one batch and fails the test when the client reports an error.</summary>
    public static async Task SendAsync(string client, Uri host, string writeKey, params object[] calls)
    {
        var dir = await InstallAsync();
        var scenario = Path.Combine(dir, $"scenario-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(scenario, JsonSerializer.Serialize(new
        {
            client,
            host = host.ToString().TrimEnd('/'),
            writeKey,
            calls,
        }));
        try
        {
            var (code, output) = await RunAsync("node", ["send.js", scenario], dir, TimeSpan.FromMinutes(2));
            Assert.True(code == 0, $"{client} client failed ({code}):\n{output}");
        }
        finally
        {
            File.Delete(scenario);
        }
    }

    public static object Call(string method, object args) => new { method, args };

    private static string? Probe()
    {
        foreach (var tool in new[] { "node", "npm" })
        {
            try
            {
                var (code, _) = RunAsync(tool, ["--version"], Path.GetTempPath(), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
                if (code != 0)
                {
                    return $"`{tool} --version` exited with {code}; the real npm clients cannot be installed here.";
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return $"`{tool}` is not on the PATH; the real npm clients (@segment/analytics-node, @rudderstack/rudder-sdk-node) cannot be installed here.";
            }
        }

        return null;
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args, string workingDirectory, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} timed out after {timeout}\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, (await stdout) + (await stderr));
    }
}

/// <summary>A fact that is skipped, with the reason, only when node or npm is not installed.</summary>
public sealed class NpmFactAttribute : FactAttribute
{
    public NpmFactAttribute()
    {
        if (NpmClients.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}
