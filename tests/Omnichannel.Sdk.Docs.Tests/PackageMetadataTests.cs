using System.Reflection;
using Xunit;

namespace Omnichannel.Sdk.Docs.Tests;

/// <summary>Packages carry their repository, the commit they were built from (SourceLink), and build deterministically.</summary>
public sealed class PackageMetadataTests
{
    private static readonly string[] PackageNames =
    [
        "Omnichannel.Sdk", "Omnichannel.Sdk.Sqlite", "Omnichannel.Sdk.PostgreSql", "Omnichannel.Sdk.Channels.Smtp",
        "Omnichannel.Sdk.Channels.Http", "Omnichannel.Sdk.AspNetCore", "Omnichannel.Sdk.Testing", "Omnichannel.Sdk.Testing.Conformance",
        "Omnichannel.Sdk.Orleans",
    ];

    public static TheoryData<string> Packages() => [.. PackageNames];

    [Theory]
    [MemberData(nameof(Packages))]
    public void EveryPackage_NamesItsRepository_AndTheCommitItWasBuiltFrom(string package)
    {
        var assembly = Assembly.Load(package);

        var repository = assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == "RepositoryUrl")?.Value;
        Assert.StartsWith("https://", repository, StringComparison.Ordinal);
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Matches(@"\+[0-9a-f]{40}$", version);   // the source revision SourceLink maps the PDB to
    }

    [Fact]
    public void EveryPackageProject_IsInThisList()
    {
        var projects = Directory.GetFiles(Path.Combine(MarkdownSnippets.RepositoryRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetFileNameWithoutExtension(p)!).Order(StringComparer.Ordinal);
        Assert.Equal(PackageNames.Order(StringComparer.Ordinal), projects);
    }

    [Fact]
    public void TheBuild_IsDeterministic_WithSourceLink()
    {
        var props = File.ReadAllText(Path.Combine(MarkdownSnippets.RepositoryRoot, "Directory.Build.props"));
        Assert.Contains("<Deterministic>true</Deterministic>", props, StringComparison.Ordinal);
        Assert.Contains("<ContinuousIntegrationBuild Condition=\"'$(CI)' == 'true'\">true</ContinuousIntegrationBuild>", props, StringComparison.Ordinal);
        Assert.Contains("<PublishRepositoryUrl>true</PublishRepositoryUrl>", props, StringComparison.Ordinal);
        Assert.Contains("<PackageProjectUrl>", props, StringComparison.Ordinal);
    }
}
