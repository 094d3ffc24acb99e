using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Omnichannel.Sdk.Docs.Tests;

/// <summary>
/// Compiles a snippet as the file a reader pastes it into: a console app's <c>Program.cs</c> (top-level statements,
/// optionally followed by types) or a class file, with the SDK's implicit usings and nullable reference types on, against
/// the packages this project references (what the READMEs' install lines add).
/// </summary>
public static class SnippetCompiler
{
    // What `<ImplicitUsings>enable</ImplicitUsings>` adds in Microsoft.NET.Sdk and Microsoft.NET.Sdk.Web projects.
    private static readonly string[] ConsoleUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    private static readonly string[] WebUsings =
    [
        .. ConsoleUsings, "System.Net.Http.Json", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Http",
        "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
        "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
    ];

    private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(LoadReferences);

    /// <summary>Compiles <paramref name="snippet"/>; returns its errors, each with its markdown line.</summary>
    public static IReadOnlyList<string> Errors(MarkdownSnippet snippet) => Compile(snippet).Errors;

    /// <summary>
    /// Compiles <paramref name="snippet"/> and, when it declares xUnit <c>[Fact]</c> methods (a README's example test),
    /// runs each of them: an example test that fails is a broken example.
    /// </summary>
    /// <returns>The compile errors, else the failures of its facts (empty when all pass).</returns>
    public static async Task<IReadOnlyList<string>> RunFactsAsync(MarkdownSnippet snippet)
    {
        var (errors, compilation) = Compile(snippet);
        if (errors.Count > 0)
        {
            return errors;
        }

        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        if (!emitted.Success)
        {
            return [.. emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString())];
        }

        var assembly = Assembly.Load(image.ToArray());
        var failures = new List<string>();
        foreach (var type in assembly.GetTypes().Where(t => t.IsPublic && !t.IsAbstract))
        {
            foreach (var method in type.GetMethods().Where(m => m.GetCustomAttributes().Any(a => a.GetType().Name == "FactAttribute")))
            {
                try
                {
                    var instance = Activator.CreateInstance(type);
                    if (method.Invoke(instance, null) is Task task)
                    {
                        await task;
                    }

                    if (instance is IAsyncDisposable asyncDisposable)
                    {
                        await asyncDisposable.DisposeAsync();
                    }
                    else if (instance is IDisposable disposable)
                    {
                        disposable.Dispose();
                    }
                }
                catch (Exception e)
                {
                    var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
                    failures.Add($"{snippet}: {type.Name}.{method.Name} failed: {inner}");
                }
            }
        }

        return failures;
    }

    /// <summary>
    /// Compiles a program snippet (top-level statements) and runs it as <c>dotnet run</c> would, in
    /// <paramref name="workingDirectory"/>, capturing what it writes to the console.
    /// </summary>
    /// <returns>The console output.</returns>
    /// <exception cref="InvalidOperationException">It does not compile, or is not a program.</exception>
    public static async Task<string> RunProgramAsync(MarkdownSnippet snippet, string workingDirectory)
    {
        var (errors, compilation) = Compile(snippet);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join("\n", errors));
        }

        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        if (!emitted.Success)
        {
            throw new InvalidOperationException(string.Join("\n", emitted.Diagnostics));
        }

        var entry = Assembly.Load(image.ToArray()).EntryPoint ?? throw new InvalidOperationException($"{snippet} is not a program.");
        var output = new StringWriter();
        var console = Console.Out;
        var directory = Environment.CurrentDirectory;
        Console.SetOut(output);
        Environment.CurrentDirectory = workingDirectory;
        try
        {
            var result = entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            if (result is Task task)
            {
                await task;
            }
        }
        finally
        {
            Environment.CurrentDirectory = directory;
            Console.SetOut(console);
        }

        return output.ToString();
    }

    /// <summary>Whether the snippet declares xUnit facts.</summary>
    public static bool HasFacts(MarkdownSnippet snippet) => snippet.Code.Contains("[Fact]", StringComparison.Ordinal);

    private static (IReadOnlyList<string> Errors, CSharpCompilation Compilation) Compile(MarkdownSnippet snippet)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var usings = snippet.Kind == "web" ? WebUsings : ConsoleUsings;
        var globalUsings = CSharpSyntaxTree.ParseText(string.Concat(usings.Select(u => $"global using global::{u};\n")), parse, "GlobalUsings.g.cs");
        var code = CSharpSyntaxTree.ParseText(snippet.Code, parse, "Snippet.cs");
        var topLevel = code.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();
        var options = new CSharpCompilationOptions(topLevel ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary)
            .WithNullableContextOptions(NullableContextOptions.Enable)
            .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
            {
                // An `async Task Main` without await, and unused locals, are fine in a short example.
                ["CS1998"] = ReportDiagnostic.Suppress,
            });
        var compilation = CSharpCompilation.Create("Snippet_" + Guid.NewGuid().ToString("N"), [globalUsings, code], References.Value, options);
        var errors = compilation.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d =>
            {
                var line = d.Location.IsInSource ? d.Location.GetLineSpan().StartLinePosition.Line + snippet.Line : snippet.Line;
                return $"{snippet.File}:{line}: {d.Id} {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
            })
            .ToList();
        return (errors, compilation);
    }

    private static IReadOnlyList<MetadataReference> LoadReferences()
    {
        // The runtime's assemblies (with ASP.NET Core's: this project references the framework) and the packages beside the tests.
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"));
        var byName = new Dictionary<string, MetadataReference>(StringComparer.OrdinalIgnoreCase);
        foreach (var path in paths)
        {
            var name = Path.GetFileName(path);
            if (byName.ContainsKey(name) || name.StartsWith("Omnichannel.Sdk.Docs.Tests", StringComparison.Ordinal)
                || name.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                _ = AssemblyName.GetAssemblyName(path); // native libraries are not references
            }
            catch (BadImageFormatException)
            {
                continue;
            }

            byName[name] = MetadataReference.CreateFromFile(path);
        }

        return [.. byName.Values];
    }
}
