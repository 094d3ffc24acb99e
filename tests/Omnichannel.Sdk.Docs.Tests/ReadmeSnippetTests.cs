using Xunit;

namespace Omnichannel.Sdk.Docs.Tests;

/// <summary>Docs that work when pasted: every C# block of the READMEs compiles against the packages.</summary>
public sealed class ReadmeSnippetTests
{
    public static TheoryData<string> Readmes() => [.. MarkdownSnippets.Files()];

    public static TheoryData<string, int> Snippets()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in MarkdownSnippets.Files())
        {
            foreach (var s in MarkdownSnippets.Read(file))
            {
                data.Add(s.File, s.Line);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void CSharpBlock_Compiles(string file, int line)
    {
        var snippet = Assert.Single(MarkdownSnippets.Read(file), s => s.Line == line);
        var errors = SnippetCompiler.Errors(snippet);
        Assert.True(errors.Count == 0, $"{snippet} does not compile as pasted:\n{string.Join('\n', errors)}\n---\n{snippet.Code}");
    }

    public static TheoryData<string, int> ExampleTests()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in MarkdownSnippets.Files())
        {
            foreach (var s in MarkdownSnippets.Read(file).Where(SnippetCompiler.HasFacts))
            {
                data.Add(s.File, s.Line);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ExampleTests))]
    public async Task ExampleTest_Passes(string file, int line)
    {
        var snippet = Assert.Single(MarkdownSnippets.Read(file), s => s.Line == line);
        var failures = await SnippetCompiler.RunFactsAsync(snippet);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task ExampleTestRunner_ReportsAFailingFact()
    {
        var failing = new MarkdownSnippet("README.md", 1, "using Xunit;\npublic sealed class T\n{\n    [Fact]\n    public async Task F() { await Task.Yield(); Assert.Equal(1, 2); }\n}", "console");
        var failure = Assert.Single(await SnippetCompiler.RunFactsAsync(failing));
        Assert.Contains("T.F failed", failure, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Readmes))]
    public void Readme_HasAnInstallLineAndACompilingExample(string file)
    {
        var text = File.ReadAllText(Path.Combine(MarkdownSnippets.RepositoryRoot, file));
        var package = file == "README.md" ? "Omnichannel.Sdk" : Path.GetFileName(Path.GetDirectoryName(file))!;
        Assert.Contains($"dotnet add package {package}", text, StringComparison.Ordinal);
        Assert.NotEmpty(MarkdownSnippets.Read(file));
    }

    [Fact]
    public void Compiler_ReportsAnErrorWithItsMarkdownLine()
    {
        // The check itself can fail: a block that calls something that does not exist is caught, at its line.
        var bad = new MarkdownSnippet("README.md", 40, "using Omnichannel.Sdk;\n\nvar x = ChannelNames.Email;\nChannels.Nope();", "console");
        var error = Assert.Single(SnippetCompiler.Errors(bad));
        Assert.StartsWith("README.md:43: CS0103", error, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryPackage_HasAReadme()
    {
        var packages = Directory.GetFiles(Path.Combine(MarkdownSnippets.RepositoryRoot, "src"), "*.csproj", SearchOption.AllDirectories);
        Assert.All(packages, p => Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "README.md")), p));
    }
}
