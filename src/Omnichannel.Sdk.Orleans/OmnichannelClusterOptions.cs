namespace Omnichannel.Sdk.Orleans;

/// <summary>How a silo takes part in the cluster's time-driven work. Pass to <c>UseOrleans(o => ...)</c>.</summary>
public sealed class OmnichannelClusterOptions
{
    /// <summary>
    /// How often every silo also looks at the store's wake-up index and outbox for work that fell due without a timer
    /// on a living silo (its owner died or restarted). A silo's own timers fire wake-ups and sends at their exact
    /// instant; this sweep bounds how late the work of a dead silo can be. Default 10 seconds; 100 ms to 1 day.
    /// </summary>
    public TimeSpan Sweep { get; set; } = TimeSpan.FromSeconds(10);

    internal IEnumerable<string> Validate()
    {
        if (Sweep < TimeSpan.FromMilliseconds(100) || Sweep > TimeSpan.FromDays(1))
        {
            yield return $"{nameof(Sweep)} must be between 100 ms and 1 day (was {Sweep}).";
        }
    }
}
