using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Benchmarks;

/// <summary>The operands of conditions, read from their JSON once (for the baselines' hand-written evaluators).</summary>
internal sealed class ConditionOperands
{
    private readonly Dictionary<Condition, Operand> _operands = new(ReferenceEqualityComparer.Instance);

    /// <summary>The operand of <paramref name="condition"/>.</summary>
    public Operand Of(Condition condition)
    {
        if (!_operands.TryGetValue(condition, out var operand))
        {
            operand = new Operand(condition.Value);
            _operands[condition] = operand;
        }

        return operand;
    }

    /// <summary>A number, a string, or a set of strings.</summary>
    internal sealed class Operand
    {
        public Operand(JsonNode? value)
        {
            switch (value?.GetValueKind())
            {
                case JsonValueKind.Number:
                    Number = decimal.Parse(value.ToJsonString(), CultureInfo.InvariantCulture);
                    break;
                case JsonValueKind.String:
                    Text = value.GetValue<string>();
                    break;
                case JsonValueKind.Array:
                    Set = [.. value.AsArray().Select(x => x!.GetValue<string>())];
                    break;
            }
        }

        public decimal? Number { get; }

        public string? Text { get; }

        public HashSet<string>? Set { get; }
    }
}
