using System.Collections;
using System.Globalization;
using System.Text;
using DotLiquid;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// The only place that touches the Liquid engine (DotLiquid). Everything else works with source text,
/// <see cref="LiquidScan"/> and <see cref="CompiledPart"/>, so the engine can be swapped (for Fluid, once its
/// dependencies are available) by rewriting this file.
/// </summary>
internal static class LiquidEngine
{
    private const SyntaxCompatibility Syntax = SyntaxCompatibility.DotLiquid22a;

    /// <summary>Whether a filter exists: the engine's standard filters plus ours.</summary>
    public static bool FilterExists(string name) => NewContext(new Hash(), 0, CancellationToken.None).Strainer.RespondTo(name);

    /// <summary>Parses a part. Returns the engine's message on failure (it has no position).</summary>
    public static CompiledPart? TryParse(string name, string source, out string? error)
    {
        try
        {
            var template = Template.Parse(source, Syntax);
            template.MakeThreadSafe();
            error = null;
            return new CompiledPart(name, template);
        }
        catch (Exception ex) when (ex is DotLiquid.Exceptions.LiquidException or ArgumentException or FormatException)
        {
            error = ex.Message;
            return null;
        }
    }

    /// <summary>Renders a part; engine failures are thrown as <see cref="LiquidRenderException"/>.</summary>
    public static string Render(CompiledPart part, Hash data, int maxIterations, CancellationToken cancellationToken)
    {
        var context = NewContext(data, maxIterations, cancellationToken);
        try
        {
            return part.Template.Render(RenderParameters.FromContext(context, CultureInfo.InvariantCulture));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Anything the engine or a filter throws on this data is a render failure of this part.
            throw new LiquidRenderException(ex.Message, ex);
        }
    }

    private static Context NewContext(Hash data, int maxIterations, CancellationToken cancellationToken)
    {
        var context = new Context([data], new Hash(), new Hash(), ErrorsOutputMode.Rethrow, maxIterations, CultureInfo.InvariantCulture, cancellationToken)
        {
            SyntaxCompatibilityLevel = Syntax,

            // strftime formats (%Y-%m-%d), as in every other Liquid.
            UseRubyDateFormat = true,
        };
        context.AddFilter<object?, object?>(LiquidScanner.EscapeFilter, EscapeHtml);
        context.AddFilter<object?, object?>(LiquidScanner.RawFilter, Raw);
        return context;
    }

    private static object? Raw(object? input) => input;

    // Formats a value as the engine would print it, then escapes it for HTML.
    internal static object? EscapeHtml(object? input) => input switch
    {
        null => null,
        string s => Escape(s),
        bool b => b ? "true" : "false",
        decimal d => d.ToString("0.#############################", CultureInfo.InvariantCulture),
        IEnumerable e => string.Concat(e.Cast<object?>().Select(x => EscapeHtml(x) as string ?? Convert.ToString(EscapeHtml(x), CultureInfo.InvariantCulture))),
        IFormattable f => Escape(f.ToString(null, CultureInfo.InvariantCulture)),
        _ => Escape(input.ToString() ?? string.Empty),
    };

    internal static string Escape(string text)
    {
        if (text.AsSpan().IndexOfAny("<>&\"'") < 0)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            _ = c switch
            {
                '<' => sb.Append("&lt;"),
                '>' => sb.Append("&gt;"),
                '&' => sb.Append("&amp;"),
                '"' => sb.Append("&quot;"),
                '\'' => sb.Append("&#39;"),
                _ => sb.Append(c),
            };
        }

        return sb.ToString();
    }
}

/// <summary>A part parsed by the engine, ready to render from any thread.</summary>
internal sealed record CompiledPart(string Name, Template Template);

/// <summary>The engine failed to render a part with the given data.</summary>
internal sealed class LiquidRenderException(string message, Exception inner) : Exception(message, inner);
