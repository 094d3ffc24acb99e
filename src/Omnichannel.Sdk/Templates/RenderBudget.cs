using System.Globalization;
using Fluid.Values;

namespace Omnichannel.Sdk.Templates;

// The budget of one render and its running account: LiquidEngine starts a meter per render; the writers, filters and
// the budget rewriter's checks all charge it.
/// <summary>What one render may spend: steps, time and output.</summary>
/// <param name="MaxSteps">Fluid's step limit for the part.</param>
/// <param name="Timeout">The longest the part may take.</param>
/// <param name="MaxOutputLength">The most characters of output, and of any value built while rendering.</param>
/// <param name="TimeProvider">The clock the deadline is measured on.</param>
internal sealed record RenderBudget(int MaxSteps, TimeSpan Timeout, int MaxOutputLength, TimeProvider TimeProvider)
{
    /// <summary>
    /// The most characters a list built while rendering may print as (<see langword="null"/>: <see cref="MaxOutputLength"/>).
    /// The renderer's own limit when a channel's part limit is smaller: a list of product names is not refused because it
    /// would not fit in one SMS, only because reading it as text could cost more than any part may.
    /// </summary>
    public int? MaxListTextLength { get; init; }

    /// <summary>The defaults of <see cref="TemplateRendererOptions"/>.</summary>
    public static RenderBudget Default { get; } = new(
        TemplateRendererOptions.DefaultMaxSteps, TemplateRendererOptions.DefaultRenderTimeout, TemplateRendererOptions.DefaultMaxOutputLength, TimeProvider.System);

    public RenderMeter Start(CancellationToken cancellationToken) => new(this, cancellationToken);
}

/// <summary>The running account of one render against its <see cref="RenderBudget"/>.</summary>
internal sealed class RenderMeter
{
    private readonly RenderBudget _budget;
    private readonly CancellationToken _cancellationToken;
    private readonly DateTimeOffset _deadline;
    private readonly Dictionary<ArrayValue, long> _arrayLengths = new(ReferenceEqualityComparer.Instance);

    public RenderMeter(RenderBudget budget, CancellationToken cancellationToken)
    {
        _budget = budget;
        _cancellationToken = cancellationToken;
        _deadline = budget.TimeProvider.GetUtcNow() + budget.Timeout;
    }

    /// <summary>Checks cancellation and the deadline.</summary>
    public void Tick()
    {
        _cancellationToken.ThrowIfCancellationRequested();
        if (_budget.TimeProvider.GetUtcNow() > _deadline)
        {
            throw new RenderBudgetExceededException(
                $"The template took longer than its render deadline ({_budget.Timeout.TotalMilliseconds:0} ms); simplify it or raise {nameof(TemplateRendererOptions.RenderTimeout)}.");
        }
    }

    private int MaxListText => Math.Max(_budget.MaxListTextLength ?? _budget.MaxOutputLength, _budget.MaxOutputLength);

    /// <summary>Checks that the output (or a block's buffer, <paramref name="forValue"/>), now <paramref name="length"/> characters, is within the limit.</summary>
    public void Output(int length, bool forValue = false)
    {
        if (length > _budget.MaxOutputLength)
        {
            if (forValue)
            {
                Size(length);
            }

            throw new RenderBudgetExceededException(
                string.Create(CultureInfo.InvariantCulture, $"The output is longer than {_budget.MaxOutputLength:N0} characters, the limit for this part."));
        }

        Tick();
    }

    public string Check(string value)
    {
        Size(value.Length);
        return value;
    }

    public FluidValue Check(FluidValue value)
    {
        Tick();
        switch (value)
        {
            case StringValue s:
                Size(s.ToStringValue().Length);
                break;
            case ArrayValue a:
                // The count, and the text the list prints as: a list holding the same long string many times is small in
                // memory but each filter that reads it as text (append, upcase, join…) would build all of it.
                Size(a.Values.Count);
                if (TextLength(a) > MaxListText)
                {
                    throw new RenderBudgetExceededException(
                        string.Create(CultureInfo.InvariantCulture, $"A list built while rendering is longer than {MaxListText:N0} characters as text, the limit for a value."));
                }

                break;
        }

        return value;
    }

    /// <summary>How many characters a value prints as, counted up to just past the limit (lists are summed, once per list and render).</summary>
    public long TextLength(FluidValue value)
    {
        switch (value)
        {
            case StringValue s:
                return s.ToStringValue().Length;
            case ArrayValue a:
                if (_arrayLengths.TryGetValue(a, out var known))
                {
                    return known;
                }

                long total = 0;
                foreach (var item in a.Values)
                {
                    total += TextLength(item);
                    if (total > MaxListText)
                    {
                        break;
                    }
                }

                _arrayLengths[a] = total;
                return total;
            case NilValue or EmptyValue or BlankValue or null:
                return 0;
            default:
                return 32; // a number, a boolean or a date prints in a few characters
        }
    }

    /// <summary>Refuses a value of <paramref name="length"/> characters before it is built.</summary>
    public void Predict(long length, string filter)
    {
        if (length > _budget.MaxOutputLength)
        {
            throw new RenderBudgetExceededException(
                string.Create(CultureInfo.InvariantCulture, $"A value built while rendering ('{filter}') would be longer than {_budget.MaxOutputLength:N0} characters, the limit for this part."));
        }
    }

    private void Size(long length)
    {
        if (length > _budget.MaxOutputLength)
        {
            throw new RenderBudgetExceededException(
                string.Create(CultureInfo.InvariantCulture, $"A value built while rendering is longer than {_budget.MaxOutputLength:N0} characters, the limit for this part."));
        }
    }
}

/// <summary>A render ran past its budget.</summary>
internal sealed class RenderBudgetExceededException(string message) : Exception(message);
