using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Channels.Smtp.Tests;

/// <summary>
/// A real SMTP server on loopback for the tests: Python's aiosmtpd (Debian package python3-aiosmtpd) with its Mailbox
/// handler, which stores every message it accepts in a maildir. Started on a free port, stopped (process tree killed)
/// and its folder deleted after the tests.
/// </summary>
public sealed class SmtpServerFixture : IAsyncLifetime
{
    private const int ReadinessAttempts = 200;
    private Process? _server;
    private readonly StringBuilder _serverOutput = new();

    /// <summary>The port the server listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    /// <summary>The maildir the server delivers into.</summary>
    public string MailDirectory { get; } = Path.Combine(Path.GetTempPath(), "omni-smtp-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        var python = await FindPythonWithAiosmtpdAsync()
            ?? throw new InvalidOperationException(
                "The SMTP tests need a real SMTP server: python3 with the aiosmtpd module (Debian package python3-aiosmtpd) " +
                "was not found. Run eng/install-test-servers.sh (as root) and run the tests again.");
        Port = FreePort();
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{Port}", "-c", "aiosmtpd.handlers.Mailbox", MailDirectory })
        {
            start.ArgumentList.Add(argument);
        }

        _server = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + python + ".");
        _server.OutputDataReceived += (_, e) => Capture(e.Data);
        _server.ErrorDataReceived += (_, e) => Capture(e.Data);
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        await WaitUntilReadyAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            if (!_server.HasExited)
            {
                _server.Kill(entireProcessTree: true);
            }

            await _server.WaitForExitAsync();
            _server.Dispose();
        }

        if (Directory.Exists(MailDirectory))
        {
            Directory.Delete(MailDirectory, recursive: true);
        }
    }

    /// <summary>The delivered messages whose Message-ID is <paramref name="messageId"/> (without angle brackets).</summary>
    public IReadOnlyList<MimeMessage> Delivered(string messageId)
    {
        var folder = Path.Combine(MailDirectory, "new");
        if (!Directory.Exists(folder))
        {
            return [];
        }

        return Directory.GetFiles(folder)
            .Select(f => MimeMessage.Load(f))
            .Where(m => m.MessageId == messageId)
            .ToList();
    }

    /// <summary>A loopback port nobody listens on (free when asked).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Capture(string? line)
    {
        if (line is not null)
        {
            lock (_serverOutput)
            {
                _serverOutput.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        // Readiness probe: connect until the server greets with 220, a bounded number of times.
        for (var attempt = 0; attempt < ReadinessAttempts; attempt++)
        {
            if (_server!.HasExited)
            {
                throw new InvalidOperationException($"aiosmtpd exited with code {_server.ExitCode} before listening:\n{Output()}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
                var greeting = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
                if (greeting?.StartsWith("220", StringComparison.Ordinal) == true)
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // Not listening yet, or closed while starting.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        throw new InvalidOperationException($"aiosmtpd did not accept connections on port {Port} after {ReadinessAttempts} attempts:\n{Output()}");
    }

    private string Output()
    {
        lock (_serverOutput)
        {
            return _serverOutput.ToString();
        }
    }

    private static async Task<string?> FindPythonWithAiosmtpdAsync()
    {
        // The Debian package installs into the system interpreter; a python3 earlier on PATH (pyenv, venv) may not see it.
        foreach (var candidate in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                using var probe = Process.Start(new ProcessStartInfo(candidate, ["-c", "import aiosmtpd"])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                });
                if (probe is null)
                {
                    continue;
                }

                await probe.WaitForExitAsync();
                if (probe.ExitCode == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under this name.
            }
        }

        return null;
    }
}

[CollectionDefinition(Name)]
public sealed class SmtpServerCollection : ICollectionFixture<SmtpServerFixture>
{
    public const string Name = "SMTP server";
}
