using System.Collections.Immutable;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Journeys;

/// <summary>
/// Starts a journey definition in C#:
/// <code>
/// JourneyDefinition cart = Journey.Define("abandoned-cart", "Abandoned cart", version: 1)
///     .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
///     .CorrelatedBy("cart_id").ExitOn(EventTypes.OrderPlaced)
///     .Steps(s => s
///         .Delay("wait-1h", "PT1H")
///         .Send("reminder", [ChannelNames.Push, ChannelNames.Email], template: "cart-reminder", topic: "cart"))
///     .Build();
/// </code>
/// </summary>
public static class Journey
{
    /// <summary>Starts the definition of journey <paramref name="id"/>.</summary>
    /// <param name="id">The journey id (<c>lower-kebab</c> or <c>lower_snake</c>).</param>
    /// <param name="name">A display name.</param>
    /// <param name="version">The version (1 or more).</param>
    public static JourneyDefinitionBuilder Define(string id, string name, int version = 1) =>
        new(new JourneyDefinition(id, version, name, null!, []));
}

/// <summary>A journey definition being written; immutable, each call returns a new builder.</summary>
public sealed class JourneyDefinitionBuilder
{
    private readonly JourneyDefinition _definition;

    internal JourneyDefinitionBuilder(JourneyDefinition definition) => _definition = definition;

    /// <summary>Says what the journey is for.</summary>
    /// <param name="description">The description.</param>
    public JourneyDefinitionBuilder Describe(string description) => new(_definition with { Description = description });

    /// <summary>Sets the trigger.</summary>
    /// <param name="trigger">Picks the trigger, e.g. <c>t =&gt; t.Event(EventTypes.CartItemAdded)</c>.</param>
    public JourneyDefinitionBuilder TriggeredBy(Func<TriggerBuilder, JourneyTrigger> trigger)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        return new(_definition with { Trigger = trigger(TriggerBuilder.Instance) });
    }

    /// <summary>Sets the re-entry policy.</summary>
    /// <param name="policy">The policy (use <see cref="ReEnterAfterCooldown(string)"/> for a cooldown).</param>
    public JourneyDefinitionBuilder ReEnter(ReEntryPolicy policy) => Entry(e => e with { ReEntry = policy, Cooldown = null });

    /// <summary>Lets a profile enter again once <paramref name="cooldown"/> has passed since its previous instance started.</summary>
    /// <param name="cooldown">An ISO 8601 duration such as <c>P30D</c>.</param>
    /// <exception cref="FormatException"><paramref name="cooldown"/> is not an ISO 8601 duration.</exception>
    public JourneyDefinitionBuilder ReEnterAfterCooldown(string cooldown) =>
        Entry(e => e with { ReEntry = ReEntryPolicy.AfterCooldown, Cooldown = IsoDuration.Parse(cooldown) });

    /// <summary>Allows up to <paramref name="max"/> instances per profile at once.</summary>
    /// <param name="max">The limit (1 or more).</param>
    public JourneyDefinitionBuilder MaxConcurrent(int max) => Entry(e => e with { MaxConcurrent = max });

    /// <summary>One instance per value of a trigger event property (<c>cart_id</c>).</summary>
    /// <param name="propertyPath">The dotted property path.</param>
    public JourneyDefinitionBuilder CorrelatedBy(string propertyPath) => Entry(e => e with { CorrelationKey = propertyPath });

    /// <summary>Only profiles satisfying the rule enter.</summary>
    /// <param name="rule">Builds the rule, e.g. <c>r =&gt; r.Reachable(ChannelNames.Email)</c>.</param>
    public JourneyDefinitionBuilder EnterWhen(Func<RuleBuilder, SegmentRule> rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return Entry(e => e with { Condition = rule(RuleBuilder.Instance) });
    }

    /// <summary>Ends an instance at once when the profile has a matching event.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="where">Conditions on its properties (<c>RuleBuilder.Instance.Property("x").Eq(1)</c>).</param>
    public JourneyDefinitionBuilder ExitOn(string eventType, params PropertyCondition[] where) =>
        new(_definition with { Exit = [.. _definition.Exit, new EventExitCriterion(eventType) { Where = where }] });

    /// <summary>Ends an instance at once when the profile satisfies the rule.</summary>
    /// <param name="rule">Builds the rule.</param>
    public JourneyDefinitionBuilder ExitWhen(Func<RuleBuilder, SegmentRule> rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return new(_definition with { Exit = [.. _definition.Exit, new SegmentExitCriterion(rule(RuleBuilder.Instance))] });
    }

    /// <summary>Sets the goal: a conversion event within a window from the instance's start.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="within">An ISO 8601 duration such as <c>P7D</c>.</param>
    /// <param name="where">Conditions on its properties.</param>
    /// <exception cref="FormatException"><paramref name="within"/> is not an ISO 8601 duration.</exception>
    public JourneyDefinitionBuilder Goal(string eventType, string within, params PropertyCondition[] where) =>
        new(_definition with { Goal = new JourneyGoal(eventType, IsoDuration.Parse(within)) { Where = where } });

    /// <summary>Sets the steps.</summary>
    /// <param name="steps">Adds the steps in order, e.g. <c>s =&gt; s.Delay("wait", "PT1H").Send(...)</c>.</param>
    public JourneyDefinitionBuilder Steps(Func<JourneyStepsBuilder, JourneyStepsBuilder> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        return new(_definition with { Steps = steps(JourneyStepsBuilder.Empty).ToList() });
    }

    /// <summary>The definition, checked like a loaded one.</summary>
    /// <exception cref="JourneyDefinitionException">The definition is invalid; lists every error with its JSON path.</exception>
    public JourneyDefinition Build()
    {
        var errors = JourneyDefinitionValidator.Validate(_definition);
        return errors.Count == 0 ? _definition : throw new JourneyDefinitionException(errors);
    }

    private JourneyDefinitionBuilder Entry(Func<JourneyEntry, JourneyEntry> change) => new(_definition with { Entry = change(_definition.Entry) });
}

/// <summary>Picks a journey trigger.</summary>
public sealed class TriggerBuilder
{
    private TriggerBuilder()
    {
    }

    /// <summary>The builder (it has no state).</summary>
    public static TriggerBuilder Instance { get; } = new();

    /// <summary>A matching event.</summary>
    /// <param name="eventType">The event type.</param>
    /// <param name="where">Conditions on its properties.</param>
    public EventTrigger Event(string eventType, params PropertyCondition[] where) => new(eventType) { Where = where };

    /// <summary>Entering a segment.</summary>
    /// <param name="segmentId">The segment id.</param>
    public SegmentTrigger SegmentEntered(string segmentId) => new(segmentId, SegmentTransition.Entered);

    /// <summary>Leaving a segment.</summary>
    /// <param name="segmentId">The segment id.</param>
    public SegmentTrigger SegmentExited(string segmentId) => new(segmentId, SegmentTransition.Exited);

    /// <summary>A date trait moved by an offset, at a local time.</summary>
    /// <param name="trait">The date trait path.</param>
    /// <param name="offset">A signed ISO 8601 duration such as <c>-P3D</c>.</param>
    /// <param name="localTime">The time of day in the customer's zone.</param>
    /// <param name="annual">Every year on the date's month and day (birthdays).</param>
    /// <exception cref="FormatException"><paramref name="offset"/> is not a signed ISO 8601 duration.</exception>
    public DateTrigger Date(string trait, string offset, TimeOnly localTime, bool annual = false) =>
        new(trait, IsoOffset.Parse(offset), localTime) { Annual = annual };

    /// <summary>No event of the given types for a duration after an event.</summary>
    /// <param name="afterEvent">The event that starts the clock.</param>
    /// <param name="within">An ISO 8601 duration such as <c>P7D</c>.</param>
    /// <param name="noEvent">The events whose absence fires the trigger.</param>
    /// <exception cref="FormatException"><paramref name="within"/> is not an ISO 8601 duration.</exception>
    public InactivityTrigger Inactivity(string afterEvent, string within, params string[] noEvent) =>
        new(afterEvent, noEvent, IsoDuration.Parse(within));
}

/// <summary>Adds journey steps in order; immutable, each call returns a new builder.</summary>
public sealed class JourneyStepsBuilder
{
    private readonly ImmutableList<JourneyStep> _steps;

    private JourneyStepsBuilder(ImmutableList<JourneyStep> steps) => _steps = steps;

    internal static JourneyStepsBuilder Empty { get; } = new([]);

    /// <summary>Adds any step.</summary>
    /// <param name="step">The step.</param>
    public JourneyStepsBuilder Add(JourneyStep step) => new(_steps.Add(step));

    /// <summary>Sends on the first channel the profile can receive, in order.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="channels">The channels in fallback order.</param>
    /// <param name="template">The template id.</param>
    /// <param name="topic">The consent topic.</param>
    /// <param name="class">Marketing or transactional.</param>
    /// <param name="next">The step to go on to (default: the next in the list).</param>
    public JourneyStepsBuilder Send(string id, IReadOnlyList<string> channels, string template, string? topic = null, MessageClass @class = MessageClass.Marketing, string? next = null) =>
        Add(new SendStep(id, channels, template) { Topic = topic, Class = @class, Next = next });

    /// <summary>Waits for a duration.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="duration">An ISO 8601 duration such as <c>PT1H</c>.</param>
    /// <param name="next">The step to go on to.</param>
    /// <exception cref="FormatException"><paramref name="duration"/> is not an ISO 8601 duration.</exception>
    public JourneyStepsBuilder Delay(string id, string duration, string? next = null) =>
        Add(new DelayStep(id, IsoDuration.Parse(duration)) { Next = next });

    /// <summary>Waits until the next local time of day on an allowed day.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="localTime">The time of day in the customer's zone.</param>
    /// <param name="days">The allowed days (none for every day).</param>
    public JourneyStepsBuilder DelayUntilLocalTime(string id, TimeOnly localTime, params DayOfWeek[] days) =>
        Add(new DelayUntilLocalTimeStep(id, localTime) { Days = days });

    /// <summary>Waits until a date trait moved by an offset.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="trait">The date trait path.</param>
    /// <param name="offset">A signed ISO 8601 duration such as <c>-P3D</c>.</param>
    /// <param name="localTime">The time of day in the customer's zone, or none for the exact instant.</param>
    /// <exception cref="FormatException"><paramref name="offset"/> is not a signed ISO 8601 duration.</exception>
    public JourneyStepsBuilder DelayUntilDateTrait(string id, string trait, string offset, TimeOnly? localTime = null) =>
        Add(new DelayUntilDateTraitStep(id, trait, IsoOffset.Parse(offset)) { LocalTime = localTime });

    /// <summary>Waits for one of some events, or a timeout.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="timeout">An ISO 8601 duration such as <c>P7D</c>.</param>
    /// <param name="branches">The awaited events (<c>new EventBranch("order.placed", "thanks")</c>).</param>
    /// <param name="timeoutNext">The step on timeout (default: the next in the list).</param>
    /// <param name="restartOnMatch">Whether events of branches with no next restart the timer.</param>
    /// <exception cref="FormatException"><paramref name="timeout"/> is not an ISO 8601 duration.</exception>
    public JourneyStepsBuilder WaitForEvent(string id, string timeout, IReadOnlyList<EventBranch> branches, string? timeoutNext = null, bool restartOnMatch = false) =>
        Add(new WaitForEventStep(id, branches, IsoDuration.Parse(timeout)) { TimeoutNext = timeoutNext, RestartOnMatch = restartOnMatch });

    /// <summary>Goes to the first case whose condition holds, else to <paramref name="else"/>.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="cases">Adds the cases, e.g. <c>b =&gt; b.When(c =&gt; c.Profile(r =&gt; r.Reachable("push")), "push")</c>.</param>
    /// <param name="else">The step when none holds (default: the next in the list).</param>
    public JourneyStepsBuilder Branch(string id, Func<BranchCasesBuilder, BranchCasesBuilder> cases, string? @else = null)
    {
        ArgumentNullException.ThrowIfNull(cases);
        return Add(new BranchStep(id, cases(BranchCasesBuilder.Empty).Cases) { Else = @else });
    }

    /// <summary>An A/B split.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="variants">The variants.</param>
    /// <param name="controlWeight">The control group's weight, or none.</param>
    public JourneyStepsBuilder Split(string id, IReadOnlyList<SplitVariant> variants, int? controlWeight = null) =>
        Add(new SplitStep(id, variants) { ControlWeight = controlWeight });

    /// <summary>Changes traits.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="updates">The changes.</param>
    public JourneyStepsBuilder UpdateProfile(string id, params TraitUpdate[] updates) => Add(new UpdateProfileStep(id, updates));

    /// <summary>Emits an event to the host.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="eventType">The event type.</param>
    /// <param name="properties">The event's properties.</param>
    public JourneyStepsBuilder Emit(string id, string eventType, System.Text.Json.Nodes.JsonObject? properties = null) =>
        Add(new EmitStep(id, eventType) { Properties = properties });

    /// <summary>Calls a webhook.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="url">The absolute http or https URL.</param>
    /// <param name="payload">A payload template, or none.</param>
    public JourneyStepsBuilder Webhook(string id, string url, string? payload = null) => Add(new WebhookStep(id, url) { Payload = payload });

    /// <summary>Ends the instance.</summary>
    /// <param name="id">The step id.</param>
    /// <param name="reason">The reason recorded.</param>
    public JourneyStepsBuilder Exit(string id, string? reason = null) => Add(new ExitStep(id) { Reason = reason });

    internal IReadOnlyList<JourneyStep> ToList() => _steps;
}

/// <summary>Adds the cases of a branch step; immutable.</summary>
public sealed class BranchCasesBuilder
{
    private BranchCasesBuilder(ImmutableList<ConditionalBranch> cases) => Cases = cases;

    internal static BranchCasesBuilder Empty { get; } = new([]);

    internal ImmutableList<ConditionalBranch> Cases { get; }

    /// <summary>Goes to <paramref name="next"/> when the condition holds.</summary>
    /// <param name="condition">Builds the condition.</param>
    /// <param name="next">The target step id.</param>
    public BranchCasesBuilder When(Func<JourneyConditionBuilder, JourneyCondition> condition, string next)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return new(Cases.Add(new ConditionalBranch(condition(JourneyConditionBuilder.Instance), next)));
    }
}

/// <summary>Writes branch conditions.</summary>
public sealed class JourneyConditionBuilder
{
    private JourneyConditionBuilder()
    {
    }

    /// <summary>The builder (it has no state).</summary>
    public static JourneyConditionBuilder Instance { get; } = new();

    /// <summary>A segment rule on the profile.</summary>
    /// <param name="rule">Builds the rule.</param>
    public ProfileCondition Profile(Func<RuleBuilder, SegmentRule> rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return new(rule(RuleBuilder.Instance));
    }

    /// <summary>A condition on a trigger event property; finish with an operator (<c>.Gte(50)</c>).</summary>
    /// <param name="path">The dotted property path.</param>
    public ConditionBuilder<JourneyCondition> Trigger(string path) => new(c => new TriggerCondition(path, c));

    /// <summary>A condition on the instance's context; finish with an operator.</summary>
    /// <param name="path">The dotted context path.</param>
    public ConditionBuilder<JourneyCondition> Context(string path) => new(c => new ContextCondition(path, c));

    /// <summary>Every condition holds.</summary>
    /// <param name="conditions">The conditions.</param>
    public AllCondition All(params JourneyCondition[] conditions) => new(conditions);

    /// <summary>At least one condition holds.</summary>
    /// <param name="conditions">The conditions.</param>
    public AnyCondition Any(params JourneyCondition[] conditions) => new(conditions);

    /// <summary>The condition does not hold.</summary>
    /// <param name="condition">The condition.</param>
    public NotCondition Not(JourneyCondition condition) => new(condition);
}
