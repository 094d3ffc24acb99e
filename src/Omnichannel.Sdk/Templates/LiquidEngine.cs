using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Values;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// The only place that touches the Liquid engine (Fluid). Everything else works with source text,
/// <see cref="LiquidScan"/> and <see cref="CompiledPart"/>.
/// </summary>
/// <remarks>
/// The sandbox: templates see only the plain values <see cref="LiquidData"/> builds (dictionaries, lists, strings,
/// numbers, booleans, times); the member access strategy has no type registered and the model's own members are
/// not reachable, so no CLR member is ever read. Every render runs under a <see cref="RenderBudget"/>: Fluid's step
/// limit (every statement, loop iteration and number of a range of the part together, so nested loops cannot multiply
/// past it), its recursion limit, a deadline and an output size limit checked on every write, filter, assignment and
/// capture, and before the filters whose result can be far larger than their inputs (see
/// <see cref="LiquidBudgetRewriter"/> and <see cref="LiquidFilterBounds"/>).
/// </remarks>
internal static class LiquidEngine
{
    private const string BudgetKey = "omni_budget";
    private const string NamesKey = "omni_names";

    private static readonly FluidParser Parser = new();

    private static readonly TemplateOptions Options = BuildOptions();

    /// <summary>Whether a filter exists: the engine's standard filters plus ours.</summary>
    public static bool FilterExists(string name) => Options.Filters.TryGetValue(name, out _);

    /// <summary>Parses a part. Returns the engine's message on failure.</summary>
    public static CompiledPart? TryParse(string name, string source, out string? error)
    {
        try
        {
            if (Parser.TryParse(source, out var template, out var message))
            {
                error = null;
                return new CompiledPart(name, LiquidBudgetRewriter.Rewrite(template));
            }

            error = message;
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException or Parlot.ParseException)
        {
            error = ex.Message;
            return null;
        }
    }

    /// <summary>
    /// Checks and parses a JSON payload template (a webhook's): every output is JSON-encoded by where it stands, so
    /// no value can add keys or close the payload's strings.
    /// </summary>
    public static CompiledPart? TryParseJson(string name, string source, out string? error)
    {
        var scan = LiquidScanner.Scan(source, FilterExists, LiquidOutputMode.Json);
        if (scan.Issues.FirstOrDefault(i => i.Kind is not (TemplateErrorKind.UnknownData or TemplateErrorKind.UnknownFilter)) is { } issue)
        {
            error = $"({issue.Line},{issue.Column}): {issue.Message}";
            return null;
        }

        return TryParse(name, scan.EscapedSource ?? source, out error);
    }

    /// <summary>Renders a part within a budget; engine failures and budget overruns are thrown as <see cref="LiquidRenderException"/>.</summary>
    /// <param name="part">The part.</param>
    /// <param name="data">The data roots.</param>
    /// <param name="now">The render's instant, in the customer's zone: what <c>'now'</c> and <c>'today'</c> mean to the <c>date</c> filters.</param>
    /// <param name="budget">What the render may spend.</param>
    /// <param name="cancellationToken">Stops the render.</param>
    /// <param name="zone">The customer's zone: the <c>date</c> filter prints every time as her wall clock. Default: UTC (a machine payload).</param>
    /// <param name="names">The language of month and day names in dates (the variant's locale); default invariant (English).</param>
    public static string Render(CompiledPart part, IReadOnlyDictionary<string, object?> data, DateTimeOffset now, RenderBudget budget, CancellationToken cancellationToken, TimeZoneInfo? zone = null, CultureInfo? names = null)
    {
        var context = new TemplateContext(Options)
        {
            MaxSteps = budget.MaxSteps,
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = zone ?? TimeZoneInfo.Utc,

            // Fluid's default is the machine's clock (DateTimeOffset.Now): "now" must be the render's instant, as the 'now' variable is.
            Now = () => now,
            AllowModelMembers = false,
            Assigned = static (_, value, ctx) => new ValueTask<FluidValue>(BudgetOf(ctx).Check(value)),
            Captured = static (_, value, ctx) => new ValueTask<FluidValue>(BudgetOf(ctx).Check(value)),
        };
        var meter = budget.Start(cancellationToken);
        context.AmbientValues[BudgetKey] = meter;
        if (names is not null)
        {
            context.AmbientValues[NamesKey] = names;
        }
        foreach (var (name, value) in data)
        {
            context.SetValue(name, FluidValue.Create(value, Options));
        }

        using var writer = new BoundedWriter(meter);
        try
        {
            var pending = part.Template.RenderAsync(writer, context, NullEncoder.Default, isolateContext: false);
            if (pending.IsCompleted)
            {
                pending.GetAwaiter().GetResult();
            }
            else
            {
                pending.AsTask().GetAwaiter().GetResult();
            }

            return writer.ToString();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (RenderBudgetExceededException ex)
        {
            throw new LiquidRenderException(ex.Message, ex);
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("The maximum", StringComparison.Ordinal))
        {
            throw new LiquidRenderException(string.Create(CultureInfo.InvariantCulture, $"The template ran more than {budget.MaxSteps:N0} steps (loop iterations and statements together); simplify its loops or raise {nameof(TemplateRendererOptions.MaxSteps)}."), ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not StackOverflowException)
        {
            // Anything the engine or a filter throws on this data is a render failure of this part.
            throw new LiquidRenderException(ex.Message, ex);
        }
    }

    private static RenderMeter BudgetOf(TemplateContext context) => (RenderMeter)context.AmbientValues[BudgetKey];

    /// <summary>The running account of the render a context belongs to.</summary>
    internal static RenderMeter MeterOf(TemplateContext context) => BudgetOf(context);

    private static TemplateOptions BuildOptions()
    {
        var options = new TemplateOptions
        {
            // Nothing is registered: a CLR object that reached a template would show no member at all.
            MemberAccessStrategy = new DefaultMemberAccessStrategy(),
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            MaxRecursion = 16,
        };

        options.Filters.AddFilter(LiquidScanner.EscapeFilter, static (input, _, _) => new ValueTask<FluidValue>(new StringValue(EscapeHtml(input), encode: false)));
        options.Filters.AddFilter(LiquidScanner.JsonValueFilter, static (input, _, ctx) => new ValueTask<FluidValue>(new StringValue(JsonValue(input, ctx), encode: false)));
        options.Filters.AddFilter(LiquidScanner.UnquotedAttributeFilter, static (input, _, _) => new ValueTask<FluidValue>(new StringValue(EncodeUnquotedAttribute(Text(input)), encode: false)));
        options.Filters.AddFilter(LiquidScanner.JsonStringFilter, static (input, _, _) => new ValueTask<FluidValue>(new StringValue(JsonStringContent(Text(input)), encode: false)));

        // Month and day names (%B, %A, %b, %a, and format_date's patterns) in the language of the variant being rendered: a
        // French variant printed "Tuesday 09 June" (locomotivecms/engine#525, harttle/liquidjs#567). Only the names: numbers
        // stay invariant, and a variant without a locale keeps the invariant (English) names. A time written as text is
        // read before the culture changes (invariantly, as in every variant: "06/10/2026" is 10 June in a French one too);
        // text no invariant reading takes is left to the filter as before, with the invariant culture.
        foreach (var name in new[] { "date", "format_date" })
        {
            if (options.Filters.TryGetValue(name, out var inner))
            {
                options.Filters.AddFilter(name, async (input, arguments, ctx) =>
                {
                    if (!ctx.AmbientValues.TryGetValue(NamesKey, out var names) || names is not CultureInfo culture)
                    {
                        return await inner(input, arguments, ctx).ConfigureAwait(false);
                    }

                    if (input is StringValue && input.ToStringValue() is not ("now" or "today"))
                    {
                        if (!input.TryGetDateTimeInput(ctx, out var read))
                        {
                            return await inner(input, arguments, ctx).ConfigureAwait(false);
                        }

                        input = new DateTimeValue(read);
                    }

                    var previous = ctx.CultureInfo;
                    ctx.CultureInfo = culture;
                    try
                    {
                        return await inner(input, arguments, ctx).ConfigureAwait(false);
                    }
                    finally
                    {
                        ctx.CultureInfo = previous;
                    }
                });
            }
        }

        // Around the names (so that text is read invariantly): a time written with its offset ("2026-06-10T15:00:00Z" from an
        // event's properties) is printed in the render's zone, as every time of the data is (sebastienros/fluid#537): Fluid
        // keeps the string's own offset, so a customer in Tokyo read UTC.
        if (options.Filters.TryGetValue("date", out var date))
        {
            options.Filters.AddFilter("date", (input, arguments, ctx) =>
                input is StringValue && input.ToStringValue() is not ("now" or "today") && input.TryGetDateTimeInput(ctx, out var at)
                    ? date(new DateTimeValue(LiquidData.OnWallClock(at, ctx.TimeZone)), arguments, ctx)
                    : date(input, arguments, ctx));
        }

        // Liquid's round takes any whole number of places (Shopify's is Ruby's Numeric#round): a negative count rounds to
        // tens, hundreds…, and a count past the 28 places a decimal has leaves the number as it is. Fluid hands the count to
        // Math.Round, which throws outside 0–28: a template that loaded failed at send time for every customer ('round: -2',
        // found by audit TPL's mutation property). Halves round as Fluid's own round does (it is called for the digits).
        if (options.Filters.TryGetValue("round", out var round))
        {
            options.Filters.AddFilter("round", (input, arguments, ctx) =>
            {
                if (arguments.Count == 0 || arguments.At(0).ToNumberValue() is var places && places is >= 0 and <= 28)
                {
                    return round(input, arguments, ctx);
                }

                var value = input.ToNumberValue();
                if (places > 28)
                {
                    return new ValueTask<FluidValue>(NumberValue.Create(value));
                }

                if (places < -28)
                {
                    return new ValueTask<FluidValue>(NumberValue.Create(0m)); // below every decimal's magnitude (at most 7.9 × 10²⁸)
                }

                var scale = Pow10((int)decimal.Truncate(-places));
                return RoundScaledAsync(round, value / scale, scale, ctx);
            });
        }

        // Every filter checks the budget: its result's size, the deadline and cancellation.
        foreach (var (name, filter) in options.Filters.ToList())
        {
            options.Filters.AddFilter(name, async (input, arguments, ctx) =>
            {
                var meter = BudgetOf(ctx);
                meter.Tick();
                LiquidFilterBounds.BeforeFilter(name, input, arguments, meter);
                var result = await filter(input, arguments, ctx).ConfigureAwait(false);
                if (name is "truncate" or "slice" && input is StringValue && result is StringValue cut)
                {
                    result = WholeCharacters(input.ToStringValue(), cut);
                }

                return meter.Check(result);
            });
        }

        return options;
    }

    private static decimal Pow10(int exponent)
    {
        var p = 1m;
        for (var i = 0; i < exponent; i++)
        {
            p *= 10;
        }

        return p;
    }

    // round with a negative count: the value in units of 10^n rounded to a whole number by Fluid's round, then scaled back.
    private static async ValueTask<FluidValue> RoundScaledAsync(FilterDelegate round, decimal scaled, decimal scale, TemplateContext ctx)
    {
        var whole = (await round(NumberValue.Create(scaled), FilterArguments.Empty, ctx).ConfigureAwait(false)).ToNumberValue();
        return NumberValue.Create(whole * scale);
    }

    // truncate and slice count UTF-16 code units, so a cut inside an emoji kept half of it: a lone surrogate that an SMS
    // gateway prints as "?", UTF-8 turns into U+FFFD and strict JSON parsers refuse (Humanizr/Humanizer#1573). A cut
    // never keeps half a character: the half is dropped, as if the cut fell before it. Data that already held a lone
    // surrogate is printed as it is (audit TPL), so only a well-formed input is repaired.
    private static StringValue WholeCharacters(string input, StringValue cut)
    {
        var text = cut.ToStringValue();
        if (!HasLoneSurrogate(text) || HasLoneSurrogate(input))
        {
            return cut;
        }

        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(text[i]).Append(text[++i]);
            }
            else if (!char.IsSurrogate(text[i]))
            {
                sb.Append(text[i]);
            }
        }

        return new StringValue(sb.ToString(), cut.Encode);
    }

    private static bool HasLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return true;
            }
        }

        return false;
    }

    // A value as the engine would print it.
    private static string Text(FluidValue value) => value switch
    {
        NilValue or EmptyValue or BlankValue => string.Empty,
        StringValue s => s.ToStringValue(),
        BooleanValue b => b.ToBooleanValue() ? "true" : "false",
        NumberValue n => n.ToNumberValue().ToString("0.############################", CultureInfo.InvariantCulture),
        ArrayValue a => string.Concat(a.Values.Select(Text)),
        _ => value.ToStringValue(),
    };

    // Formats a value as the engine would print it, then escapes it for HTML.
    internal static string EscapeHtml(FluidValue input) => input is ArrayValue a ? string.Concat(a.Values.Select(EscapeHtml)) : Escape(Text(input));

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

    // What would end an unquoted attribute value, as character references (the value reads the same in the browser).
    internal static string EncodeUnquotedAttribute(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            _ = char.IsWhiteSpace(c) || c is '=' or '`' or '"' or '\'' or '<' or '>'
                ? sb.Append("&#").Append(((int)c).ToString(CultureInfo.InvariantCulture)).Append(';')
                : sb.Append(c);
        }

        return sb.ToString();
    }

    // Inside a JSON string literal: the characters of the value, escaped so the literal cannot be closed.
    internal static string JsonStringContent(string text)
    {
        var quoted = System.Text.Json.JsonSerializer.Serialize(text, JsonEncoding.Options);
        return quoted[1..^1];
    }

    // Outside a JSON string: a complete JSON value (a string is quoted, a number stays a number).
    private static string JsonValue(FluidValue input, TemplateContext context) => input switch
    {
        NilValue or EmptyValue or BlankValue => "null",
        BooleanValue b => b.ToBooleanValue() ? "true" : "false",
        NumberValue n => n.ToNumberValue().ToString(CultureInfo.InvariantCulture),
        ArrayValue a => "[" + string.Join(",", a.Values.Select(v => JsonValue(v, context))) + "]",
        DictionaryValue d => "{" + string.Join(",", d.Enumerate(context).OfType<ArrayValue>().Select(kv =>
            "\"" + JsonStringContent(kv.Values.Count > 0 ? Text(kv.Values[0]) : string.Empty) + "\":" + (kv.Values.Count > 1 ? JsonValue(kv.Values[1], context) : "null"))) + "}",
        DateTimeValue t => "\"" + t.ToObjectValue() switch
        {
            DateTimeOffset o => o.ToString("O", CultureInfo.InvariantCulture),
            var other => JsonStringContent(Convert.ToString(other, CultureInfo.InvariantCulture) ?? string.Empty),
        } + "\"",
        _ => "\"" + JsonStringContent(Text(input)) + "\"",
    };

    private static class JsonEncoding
    {
        public static readonly System.Text.Json.JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    }

    /// <summary>The render's output, or a block's buffer (<paramref name="forValue"/>): every write is counted against the budget.</summary>
    internal sealed class BoundedWriter(RenderMeter meter, bool forValue = false) : TextWriter(CultureInfo.InvariantCulture)
    {
        private readonly StringBuilder _sb = new();

        public override Encoding Encoding => Encoding.Unicode;

        public override void Write(char value)
        {
            meter.Output(_sb.Length + 1, forValue);
            _sb.Append(value);
        }

        public override void Write(string? value)
        {
            if (value is null)
            {
                return;
            }

            meter.Output(_sb.Length + value.Length, forValue);
            _sb.Append(value);
        }

        public override void Write(char[] buffer, int index, int count)
        {
            meter.Output(_sb.Length + count, forValue);
            _sb.Append(buffer, index, count);
        }

        public override void Write(ReadOnlySpan<char> buffer)
        {
            meter.Output(_sb.Length + buffer.Length, forValue);
            _sb.Append(buffer);
        }

        public override Task WriteAsync(string? value)
        {
            Write(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(char value)
        {
            Write(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(char[] buffer, int index, int count)
        {
            Write(buffer, index, count);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return Task.CompletedTask;
        }

        public override string ToString() => _sb.ToString();
    }
}

/// <summary>A part parsed by the engine, ready to render from any thread.</summary>
internal sealed record CompiledPart(string Name, IFluidTemplate Template);

/// <summary>The engine failed to render a part with the given data.</summary>
internal sealed class LiquidRenderException(string message, Exception inner) : Exception(message, inner);
