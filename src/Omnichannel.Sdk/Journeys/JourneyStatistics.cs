namespace Omnichannel.Sdk.Journeys;

/// <summary>What a journey did, summed over every profile (all versions).</summary>
/// <param name="JourneyId">The journey.</param>
public sealed record JourneyStatistics(string JourneyId)
{
    /// <summary>Instances started.</summary>
    public long Entered { get; init; }

    /// <summary>Instances running now.</summary>
    public long Active { get; init; }

    /// <summary>Instances that ran past their last step.</summary>
    public long Completed { get; init; }

    /// <summary>Instances ended early (exit step, exit criterion, removed step or version); see <see cref="ExitReasons"/>.</summary>
    public long Exited { get; init; }

    /// <summary>Instances held out in an A/B control group.</summary>
    public long Control { get; init; }

    /// <summary>Conversions: the goal reached within its window (while running, or after ending).</summary>
    public long Converted { get; init; }

    /// <summary>
    /// Triggers that met the journey but were refused by its entry rules (re-entry, concurrency, condition) or because the
    /// event was older than the trigger's <see cref="EventTrigger.MaxAge"/>; each refusal is a <c>journey.entry_refused</c>
    /// on the profile's timeline with its reason.
    /// </summary>
    public long EntriesRefused { get; init; }

    /// <summary>Exits by reason.</summary>
    public IReadOnlyDictionary<string, long> ExitReasons { get; init; } = new Dictionary<string, long>();

    /// <summary>Per step: how often it was entered, sent, skipped, timed out, converted (as the last step), and where branches went.</summary>
    public IReadOnlyDictionary<string, JourneyStepStatistics> Steps { get; init; } = new Dictionary<string, JourneyStepStatistics>();

    /// <summary>Per A/B variant (and <c>control</c>): entered and converted.</summary>
    public IReadOnlyDictionary<string, JourneyVariantStatistics> Variants { get; init; } = new Dictionary<string, JourneyVariantStatistics>();

    /// <summary>Conversions by the channel of the last message sent before them.</summary>
    public IReadOnlyDictionary<string, long> ConversionsByChannel { get; init; } = new Dictionary<string, long>();

    internal static JourneyStatistics From(string journeyId, IReadOnlyDictionary<string, long> c, long active)
    {
        var steps = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        var variants = new Dictionary<string, (long Entered, long Converted)>(StringComparer.Ordinal);
        var exits = new Dictionary<string, long>(StringComparer.Ordinal);
        var channels = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, n) in c)
        {
            var parts = key.Split(':', 3);
            switch (parts[0])
            {
                case "step" when parts.Length == 3:
                    if (!steps.TryGetValue(parts[1], out var s))
                    {
                        steps[parts[1]] = s = new(StringComparer.Ordinal);
                    }

                    s[parts[2]] = n;
                    break;
                case "variant" when parts.Length == 3:
                    // variant:<name>:<counter>; the name may hold colons itself, the counter never does.
                    var last = key.LastIndexOf(':');
                    var name = key["variant:".Length..last];
                    var v = variants.GetValueOrDefault(name);
                    variants[name] = key[(last + 1)..] switch
                    {
                        "entered" => v with { Entered = n },
                        "converted" => v with { Converted = n },
                        _ => v,
                    };
                    break;
                case "exited" when parts.Length >= 2:
                    exits[key["exited:".Length..]] = n;
                    break;
                case "channel" when parts.Length == 3:
                    channels[parts[1]] = n;
                    break;
            }
        }

        return new JourneyStatistics(journeyId)
        {
            Entered = c.GetValueOrDefault("entered"),
            Active = active,
            Completed = c.GetValueOrDefault("completed"),
            Exited = c.GetValueOrDefault("exited"),
            Control = c.GetValueOrDefault("control"),
            Converted = c.GetValueOrDefault("converted"),
            EntriesRefused = c.GetValueOrDefault("entry_refused"),
            ExitReasons = exits,
            ConversionsByChannel = channels,
            Variants = variants.ToDictionary(kv => kv.Key, kv => new JourneyVariantStatistics(kv.Value.Entered, kv.Value.Converted), StringComparer.Ordinal),
            Steps = steps.ToDictionary(kv => kv.Key, kv => new JourneyStepStatistics(kv.Value), StringComparer.Ordinal),
        };
    }
}

/// <summary>What happened at one step.</summary>
public sealed record JourneyStepStatistics
{
    // For readers of the JSON form (a cluster's client, a dashboard's cache): every count comes from the properties.
    [System.Text.Json.Serialization.JsonConstructor]
    private JourneyStepStatistics()
        : this(new Dictionary<string, long>())
    {
    }

    internal JourneyStepStatistics(IReadOnlyDictionary<string, long> c)
    {
        Entered = c.GetValueOrDefault("entered");
        Sent = c.GetValueOrDefault("sent");
        Skipped = c.GetValueOrDefault("skipped");
        TimedOut = c.GetValueOrDefault("timed_out");
        Matched = c.GetValueOrDefault("matched");
        Converted = c.GetValueOrDefault("converted");
        Branches = c.Where(kv => kv.Key.StartsWith("to:", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[3..], kv => kv.Value, StringComparer.Ordinal);
        Channels = c.Where(kv => kv.Key.StartsWith("channel:", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[8..], kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>Times an instance reached the step.</summary>
    public long Entered { get; init; }

    /// <summary>Messages queued (send, webhook).</summary>
    public long Sent { get; init; }

    /// <summary>Messages skipped (consent, caps, quiet hours set to drop, no address), each with its reason on the timeline.</summary>
    public long Skipped { get; init; }

    /// <summary>Waits that ended without the awaited event.</summary>
    public long TimedOut { get; init; }

    /// <summary>Waits that ended (or restarted) on an awaited event.</summary>
    public long Matched { get; init; }

    /// <summary>Conversions for which this was the last step that had run when the goal event happened (by its time).</summary>
    public long Converted { get; init; }

    /// <summary>For branch steps: target step (or <c>end</c>) → count.</summary>
    public IReadOnlyDictionary<string, long> Branches { get; init; }

    /// <summary>For send steps: channel the message went out on → count.</summary>
    public IReadOnlyDictionary<string, long> Channels { get; init; }
}

/// <summary>One A/B variant's results.</summary>
/// <param name="Entered">Instances assigned to it.</param>
/// <param name="Converted">Of those, conversions.</param>
public sealed record JourneyVariantStatistics(long Entered, long Converted)
{
    /// <summary>Converted ÷ entered (0 when none entered).</summary>
    public double ConversionRate => Entered == 0 ? 0 : (double)Converted / Entered;
}
