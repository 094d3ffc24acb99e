using Xunit;

namespace Omnichannel.Sdk.Docs.Tests;

[CollectionDefinition(nameof(ProcessWide), DisableParallelization = true)]
public sealed class ProcessWide;

/// <summary>
/// The README's quick start, pasted into a console app and run (it changes the working directory, the console and an
/// environment variable, so it runs alone).
/// </summary>
[Collection(nameof(ProcessWide))]
public sealed class QuickStartRunTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("omnichannel-quick-start-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task TheQuickStart_RunsAsPasted_AndPrintsWhatTheReadmeSays()
    {
        var quickStart = MarkdownSnippets.Read("README.md").First(s => s.Code.Contains("UseSqliteStore", StringComparison.Ordinal));
        var previous = Environment.GetEnvironmentVariable("OMNICHANNEL_HASH_KEY");
        Environment.SetEnvironmentVariable("OMNICHANNEL_HASH_KEY", "quick-start-test-key-not-a-secret-0000000001");
        try
        {
            var output = await SnippetCompiler.RunProgramAsync(quickStart, _directory);

            Assert.Contains("Lead: 1 line(s) in the cart", output, StringComparison.Ordinal);
            Assert.Contains("cart-builders", output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(_directory, "omnichannel.db")));
        }
        finally
        {
            Environment.SetEnvironmentVariable("OMNICHANNEL_HASH_KEY", previous);
        }
    }

    [Fact]
    public async Task TheJourneysExample_RunsAsPasted()
    {
        // An email template needs Delivery.EmailFrom at start: without it the example stopped at GetRequiredService.
        var journeys = MarkdownSnippets.Read("src/Omnichannel.Sdk/README.md").Single(s => s.Code.Contains("GetJourneyStatisticsAsync", StringComparison.Ordinal));

        var output = await SnippetCompiler.RunProgramAsync(journeys, _directory);

        Assert.Contains("0 entered, 0 refused", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOrleansOneMachineExample_RunsAsPasted()
    {
        // As pasted, but on free ports: Orleans' defaults (11111, 30000) may be taken on a test machine.
        var snippet = MarkdownSnippets.Read("src/Omnichannel.Sdk.Orleans/README.md").Single(s => s.Code.Contains("UseLocalhostClustering()", StringComparison.Ordinal));
        var onFreePorts = snippet with { Code = snippet.Code.Replace("UseLocalhostClustering()", $"UseLocalhostClustering(siloPort: {FreePort()}, gatewayPort: {FreePort()})", StringComparison.Ordinal) };

        var output = await SnippetCompiler.RunProgramAsync(onFreePorts, _directory);

        Assert.Contains("1 line(s) in the cart, applied by her grain", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_directory, "omnichannel-silo.db")));
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
