using System.Text.RegularExpressions;

namespace Omnichannel.Sdk.Docs.Tests;

/// <summary>A <c>```csharp</c> block of a markdown file.</summary>
/// <param name="File">The file, relative to the repository root.</param>
/// <param name="Line">The 1-based line of the block's first code line.</param>
/// <param name="Code">The code.</param>
/// <param name="Kind">
/// What the block is pasted into, from an HTML comment right above it: <c>&lt;!-- snippet: web --&gt;</c> for a web
/// project (<c>Microsoft.NET.Sdk.Web</c>'s implicit usings); a console or library project otherwise.
/// </param>
public sealed record MarkdownSnippet(string File, int Line, string Code, string Kind)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>Finds the markdown files whose C# blocks must compile, and their blocks.</summary>
public static partial class MarkdownSnippets
{
    /// <summary>The repository root (the folder of <c>Omnichannel.Sdk.sln</c>).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>README.md and every package's README.</summary>
    public static IReadOnlyList<string> Files()
    {
        var files = new List<string> { "README.md" };
        files.AddRange(Directory.GetDirectories(Path.Combine(RepositoryRoot, "src"))
            .Where(d => File.Exists(Path.Combine(d, "README.md")))
            .Select(d => Path.GetRelativePath(RepositoryRoot, Path.Combine(d, "README.md")))
            .Order(StringComparer.Ordinal));
        return files;
    }

    /// <summary>Every <c>```csharp</c> block of <paramref name="relativePath"/>.</summary>
    public static IReadOnlyList<MarkdownSnippet> Read(string relativePath)
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot, relativePath));
        var snippets = new List<MarkdownSnippet>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() is not ("```csharp" or "```cs" or "```c#"))
            {
                continue;
            }

            var kind = i > 0 && SnippetComment().Match(lines[i - 1]) is { Success: true } m ? m.Groups[1].Value : "console";
            var start = i + 1;
            var end = start;
            while (end < lines.Length && lines[end].Trim() != "```")
            {
                end++;
            }

            if (end == lines.Length)
            {
                throw new InvalidOperationException($"{relativePath}:{i + 1}: the ```csharp block is never closed.");
            }

            snippets.Add(new MarkdownSnippet(relativePath, start + 1, string.Join('\n', lines[start..end]), kind));
            i = end;
        }

        return snippets;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Omnichannel.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Omnichannel.Sdk.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^\s*<!--\s*snippet:\s*([a-z]+)\s*-->\s*$")]
    private static partial Regex SnippetComment();
}
