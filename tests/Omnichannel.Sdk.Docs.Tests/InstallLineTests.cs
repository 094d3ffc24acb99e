using Xunit;

namespace Omnichannel.Sdk.Docs.Tests;

/// <summary>
/// A README's install lines cover what its C# blocks call: a newcomer who runs them and pastes the code gets a build
/// (the snippet compiler references every package, so it cannot see a missing <c>dotnet add package</c>).
/// </summary>
public sealed class InstallLineTests
{
    /// <summary>What a block calls → the package that has it.</summary>
    private static readonly (string Marker, string Package, string? OnlyIn)[] Needs =
    [
        ("UseSqliteStore(", "Omnichannel.Sdk.Sqlite", null),
        ("UsePostgreSqlStore(", "Omnichannel.Sdk.PostgreSql", null),
        (".UseOrleans(o", "Omnichannel.Sdk.Orleans", null),
        (".UseOrleans()", "Omnichannel.Sdk.Orleans", null),
        (".UseOrleansClient()", "Omnichannel.Sdk.Orleans", null),
        ("UseRedisClustering(", "Microsoft.Orleans.Clustering.Redis", null),
        ("AddSmtpTransport(", "Omnichannel.Sdk.Channels.Smtp", null),
        ("AddWebhookTransport(", "Omnichannel.Sdk.Channels.Http", null),
        ("AddHttpProviderTransport(", "Omnichannel.Sdk.Channels.Http", null),
        ("WebhookSignature.", "Omnichannel.Sdk.Channels.Http", null),
        ("AddTrackingApi(", "Omnichannel.Sdk.AspNetCore", null),
        ("OmnichannelTestHost.", "Omnichannel.Sdk.Testing", null),
        ("Host.CreateApplicationBuilder(", "Microsoft.Extensions.Hosting", "console"),
    ];

    public static TheoryData<string> Readmes() => [.. MarkdownSnippets.Files()];

    [Theory]
    [MemberData(nameof(Readmes))]
    public void EveryPackageABlockCalls_HasAnInstallLine(string file)
    {
        var text = File.ReadAllText(Path.Combine(MarkdownSnippets.RepositoryRoot, file));
        var missing = MissingInstallLines(text, MarkdownSnippets.Read(file));
        Assert.True(missing.Count == 0, $"{file} calls into packages it never says to add:\n{string.Join('\n', missing)}");
    }

    [Fact]
    public void AReadmeWithoutTheStoresInstallLine_IsCaught_AtTheBlockThatNeedsIt()
    {
        const string Readme = "```bash\ndotnet add package Omnichannel.Sdk.AspNetCore\n```\n";
        var block = new MarkdownSnippet("README.md", 12, "builder.Services.AddOmnichannel().UseSqliteStore(\"x.db\").AddTrackingApi(o => { });", "web");

        var missing = Assert.Single(MissingInstallLines(Readme, [block]));

        Assert.Equal("README.md:12: UseSqliteStore( needs `dotnet add package Omnichannel.Sdk.Sqlite`", missing);
        Assert.Empty(MissingInstallLines(Readme + "dotnet add package Omnichannel.Sdk.Sqlite\n", [block]));
    }

    private static List<string> MissingInstallLines(string readme, IEnumerable<MarkdownSnippet> blocks) =>
        [.. blocks
            .SelectMany(b => Needs
                .Where(n => (n.OnlyIn is null || n.OnlyIn == b.Kind) && b.Code.Contains(n.Marker, StringComparison.Ordinal))
                .Where(n => !readme.Contains($"dotnet add package {n.Package}", StringComparison.Ordinal))
                .Select(n => $"{b}: {n.Marker} needs `dotnet add package {n.Package}`"))
            .Distinct(StringComparer.Ordinal)];
}
