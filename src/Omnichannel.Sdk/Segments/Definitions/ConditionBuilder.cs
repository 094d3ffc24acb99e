using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Segments;

/// <summary>
/// Finishes a condition with an operator and its operand. Operands are JSON values; strings, numbers, booleans and
/// instants convert implicitly (<c>.Eq("vip")</c>, <c>.Gte(3)</c>).
/// </summary>
/// <typeparam name="TResult">What the condition completes: a rule, a property condition or a bare condition.</typeparam>
public sealed class ConditionBuilder<TResult>
{
    private readonly Func<Condition, TResult> _complete;

    internal ConditionBuilder(Func<Condition, TResult> complete) => _complete = complete;

    /// <summary><c>eq</c>.</summary>
    /// <param name="value">The operand.</param>
    public TResult Eq(JsonNode? value) => Is(ConditionOperator.Eq, value);

    /// <summary><c>ne</c>.</summary>
    /// <param name="value">The operand.</param>
    public TResult Ne(JsonNode? value) => Is(ConditionOperator.Ne, value);

    /// <summary><c>gt</c>.</summary>
    /// <param name="value">The operand.</param>
    public TResult Gt(JsonNode? value) => Is(ConditionOperator.Gt, value);

    /// <summary><c>gte</c>.</summary>
    /// <param name="value">The operand.</param>
    public TResult Gte(JsonNode? value) => Is(ConditionOperator.Gte, value);

    /// <summary><c>lt</c>.</summary>
    /// <param name="value">The operand.</param>
    public TResult Lt(JsonNode? value) => Is(ConditionOperator.Lt, value);

    /// <summary><c>lte</c>.</summary>
    /// <param name="value">The operand.</param>
    public TResult Lte(JsonNode? value) => Is(ConditionOperator.Lte, value);

    /// <summary><c>in</c>: equal to one of <paramref name="values"/>.</summary>
    /// <param name="values">The values.</param>
    public TResult In(params JsonNode?[] values) => Is(ConditionOperator.In, new JsonArray(values));

    /// <summary><c>notIn</c>: equal to none of <paramref name="values"/>.</summary>
    /// <param name="values">The values.</param>
    public TResult NotIn(params JsonNode?[] values) => Is(ConditionOperator.NotIn, new JsonArray(values));

    /// <summary><c>contains</c>.</summary>
    /// <param name="value">The operand.</param>
    public TResult Contains(JsonNode? value) => Is(ConditionOperator.Contains, value);

    /// <summary><c>startsWith</c>.</summary>
    /// <param name="prefix">The prefix.</param>
    public TResult StartsWith(string prefix) => Is(ConditionOperator.StartsWith, prefix);

    /// <summary><c>exists</c>: the value is present and not null.</summary>
    public TResult Exists() => Is(ConditionOperator.Exists, null);

    /// <summary><c>notExists</c>: the value is missing or null.</summary>
    public TResult NotExists() => Is(ConditionOperator.NotExists, null);

    /// <summary><c>between</c>: from <paramref name="low"/> to <paramref name="high"/>, both inclusive.</summary>
    /// <param name="low">The low bound.</param>
    /// <param name="high">The high bound.</param>
    public TResult Between(JsonNode? low, JsonNode? high) => Is(ConditionOperator.Between, new JsonArray(low, high));

    /// <summary><c>withinLast</c>: a date in the last <paramref name="duration"/>.</summary>
    /// <param name="duration">The duration.</param>
    public TResult WithinLast(IsoDuration duration) => Is(ConditionOperator.WithinLast, duration.ToString());

    /// <summary><c>withinLast</c> with an ISO 8601 duration such as <c>P30D</c> (checked when the definition is built).</summary>
    /// <param name="duration">The duration.</param>
    public TResult WithinLast(string duration) => Is(ConditionOperator.WithinLast, duration);

    /// <summary><c>moreThanAgo</c>: a date at least <paramref name="duration"/> ago.</summary>
    /// <param name="duration">The duration.</param>
    public TResult MoreThanAgo(IsoDuration duration) => Is(ConditionOperator.MoreThanAgo, duration.ToString());

    /// <summary><c>moreThanAgo</c> with an ISO 8601 duration such as <c>P90D</c> (checked when the definition is built).</summary>
    /// <param name="duration">The duration.</param>
    public TResult MoreThanAgo(string duration) => Is(ConditionOperator.MoreThanAgo, duration);

    /// <summary><c>anniversaryWithin</c>: the date's next anniversary is within <paramref name="duration"/> (birthdays).</summary>
    /// <param name="duration">The duration.</param>
    public TResult AnniversaryWithin(IsoDuration duration) => Is(ConditionOperator.AnniversaryWithin, duration.ToString());

    /// <summary><c>anniversaryWithin</c> with an ISO 8601 duration such as <c>P7D</c> (checked when the definition is built).</summary>
    /// <param name="duration">The duration.</param>
    public TResult AnniversaryWithin(string duration) => Is(ConditionOperator.AnniversaryWithin, duration);

    /// <summary>Any operator with its operand as JSON.</summary>
    /// <param name="op">The operator.</param>
    /// <param name="value">The operand, or <see langword="null"/> for <c>exists</c>/<c>notExists</c>.</param>
    public TResult Is(ConditionOperator op, JsonNode? value) => _complete(new Condition(op, value));
}
