using System.Globalization;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Ast;
using Fluid.Values;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// Rewrites a parsed part so that the engine's own constructs stay inside the <see cref="RenderBudget"/>: Fluid builds a
/// range in full before any step is counted, buffers <c>capture</c> and <c>ifchanged</c> bodies outside the render's
/// writer, and evaluates conditions and loop bodies without looking at the clock.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>a range <c>(a..b)</c> costs one step per number, charged before it is built (a range larger than the whole step
/// budget is refused at once: <c>(1..20000000)</c> allocated about 1 GB before the first iteration);</item>
/// <item>the bodies of <c>capture</c> and <c>ifchanged</c> write into a buffer bounded like the output (a capture of a loop
/// of large strings grew without limit until the capture ended);</item>
/// <item>each loop iteration and each comparison checks the deadline and cancellation (a loop over a condition on a large
/// list wrote nothing, called no filter, and so never saw the deadline).</item>
/// </list>
/// </remarks>
internal sealed class LiquidBudgetRewriter : AstRewriter
{
    // A rewriter per part: parts are parsed from many threads (a journey's webhook payload, in each partition).
    public static IFluidTemplate Rewrite(IFluidTemplate template) => new LiquidBudgetRewriter().VisitTemplate(template);

    public override Expression Visit(Expression expression)
    {
        var visited = base.Visit(expression);
        return visited is BinaryExpression ? new TickingExpression(visited) : visited;
    }

    protected override Expression VisitRangeExpression(RangeExpression rangeExpression)
    {
        var visited = base.VisitRangeExpression(rangeExpression) as RangeExpression ?? rangeExpression;
        return new BoundedRangeExpression(visited.From, visited.To);
    }

    protected override Statement VisitForStatement(ForStatement forStatement)
    {
        var f = base.VisitForStatement(forStatement) as ForStatement ?? forStatement;
        return new ForStatement([TickStatement.Instance, .. f.Statements], f.Identifier, f.Source, f.Limit, f.Offset, f.Reversed, f.Else);
    }

    protected override Statement VisitTableRowStatement(TableRowStatement tableRowStatement)
    {
        var t = base.VisitTableRowStatement(tableRowStatement) as TableRowStatement ?? tableRowStatement;
        return new TableRowStatement([TickStatement.Instance, .. t.Statements], t.Identifier, t.Source, t.Limit, t.Offset, t.Cols);
    }

    protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
    {
        var c = base.VisitCaptureStatement(captureStatement) as CaptureStatement ?? captureStatement;
        return new CaptureStatement(c.Identifier, [new BoundedBodyStatement(c.Statements)]);
    }

    protected override Statement VisitIfChangedStatement(IfChangedStatement ifChangedStatement)
    {
        var i = base.VisitIfChangedStatement(ifChangedStatement) as IfChangedStatement ?? ifChangedStatement;
        return new IfChangedStatement([new BoundedBodyStatement(i.Statements)]);
    }

    /// <summary>Checks the deadline and cancellation; writes nothing.</summary>
    private sealed class TickStatement : Statement
    {
        public static readonly TickStatement Instance = new();

        public override ValueTask<Completion> WriteToAsync(TextWriter writer, TextEncoder encoder, TemplateContext context)
        {
            LiquidEngine.MeterOf(context).Tick();
            return new ValueTask<Completion>(Completion.Normal);
        }
    }

    /// <summary>Runs a block's statements into a buffer bounded like the output, then hands the text to the block.</summary>
    private sealed class BoundedBodyStatement(IReadOnlyList<Statement> statements) : Statement
    {
        public override async ValueTask<Completion> WriteToAsync(TextWriter writer, TextEncoder encoder, TemplateContext context)
        {
            using var buffer = new LiquidEngine.BoundedWriter(LiquidEngine.MeterOf(context), forValue: true);
            var completion = Completion.Normal;
            foreach (var statement in statements)
            {
                completion = await statement.WriteToAsync(buffer, encoder, context).ConfigureAwait(false);
                if (completion != Completion.Normal)
                {
                    break;
                }
            }

            await writer.WriteAsync(buffer.ToString()).ConfigureAwait(false);
            return completion;
        }
    }

    /// <summary>Evaluates a comparison, then checks the deadline (<c>contains</c> over a long list is slow).</summary>
    private sealed class TickingExpression(Expression inner) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var value = await inner.EvaluateAsync(context).ConfigureAwait(false);
            LiquidEngine.MeterOf(context).Tick();
            return value;
        }
    }

    /// <summary>A range charged to the step budget, one step per number, before it is built.</summary>
    private sealed class BoundedRangeExpression(Expression from, Expression to) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var start = Convert.ToInt32((await from.EvaluateAsync(context).ConfigureAwait(false)).ToNumberValue(), CultureInfo.InvariantCulture);
            var end = Convert.ToInt32((await to.EvaluateAsync(context).ConfigureAwait(false)).ToNumberValue(), CultureInfo.InvariantCulture);
            var count = Math.Max(0L, (long)end - start + 1);
            if (count > context.MaxSteps && context.MaxSteps > 0)
            {
                throw new RenderBudgetExceededException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"The range ({start}..{end}) has {count:N0} numbers, more than the {context.MaxSteps:N0} steps a part may run; iterate over fewer or raise {nameof(TemplateRendererOptions.MaxSteps)}."));
            }

            for (var i = 0; i < count; i++)
            {
                context.IncrementSteps();
            }

            var values = new FluidValue[count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = NumberValue.Create(start + i);
            }

            return new ArrayValue(values);
        }
    }
}
