namespace Omnichannel.Sdk.Segments;

/// <summary>
/// Starts a segment definition in C#:
/// <code>
/// SegmentDefinition lapsedVip = Segment.Define("lapsed-vip", "Lapsed VIPs")
///     .Where(r => r.All(
///         r.Trait("tier").Eq("vip"),
///         r.Event("order.placed").Count(c => c.Gte(3)).Within("P365D"),
///         r.LastEvent("order.placed").MoreThanAgo("P90D")))
///     .Build();
/// </code>
/// </summary>
public static class Segment
{
    /// <summary>Starts the definition of segment <paramref name="id"/>.</summary>
    /// <param name="id">The segment id (<c>lower-kebab</c> or <c>lower_snake</c>).</param>
    /// <param name="name">A display name.</param>
    public static SegmentDefinitionBuilder Define(string id, string name) => new(id, name, null, null);
}

/// <summary>A segment definition being written; immutable, each call returns a new builder.</summary>
public sealed class SegmentDefinitionBuilder
{
    private readonly string _id;
    private readonly string _name;
    private readonly string? _description;
    private readonly SegmentRule? _rule;

    internal SegmentDefinitionBuilder(string id, string name, string? description, SegmentRule? rule)
    {
        _id = id;
        _name = name;
        _description = description;
        _rule = rule;
    }

    /// <summary>Says what the segment is for.</summary>
    /// <param name="description">The description.</param>
    public SegmentDefinitionBuilder Describe(string description) => new(_id, _name, description, _rule);

    /// <summary>Sets the rule, written with a <see cref="RuleBuilder"/>.</summary>
    /// <param name="rule">Builds the rule, e.g. <c>r =&gt; r.Trait("tier").Eq("vip")</c>.</param>
    public SegmentDefinitionBuilder Where(Func<RuleBuilder, SegmentRule> rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return new(_id, _name, _description, rule(RuleBuilder.Instance));
    }

    /// <summary>Sets the rule.</summary>
    /// <param name="rule">The rule.</param>
    public SegmentDefinitionBuilder Where(SegmentRule rule) => new(_id, _name, _description, rule);

    /// <summary>The definition, checked like a loaded one.</summary>
    /// <exception cref="SegmentDefinitionException">The definition is invalid; lists every error with its JSON path.</exception>
    public SegmentDefinition Build()
    {
        var definition = new SegmentDefinition(_id, _name, _rule!) { Description = _description };
        var errors = SegmentDefinitionValidator.Validate(definition);
        return errors.Count == 0 ? definition : throw new SegmentDefinitionException(errors);
    }

    /// <summary>The definition (see <see cref="Build"/>).</summary>
    /// <param name="builder">The builder.</param>
    /// <exception cref="SegmentDefinitionException">The definition is invalid.</exception>
    public static implicit operator SegmentDefinition(SegmentDefinitionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Build();
    }

    /// <summary>The definition (see <see cref="Build"/>).</summary>
    public SegmentDefinition ToSegmentDefinition() => Build();
}
