using System.Globalization;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Journeys;

/// <summary>The JSON names of trigger and step types and enum values, and the text form of local times.</summary>
internal static class JourneyNames
{
    public static readonly IReadOnlyList<string> TriggerTypes = ["event", "segment", "date", "inactivity"];

    public static readonly IReadOnlyList<string> StepTypes =
    [
        "send", "delay", "delayUntilLocalTime", "delayUntilDateTrait", "waitForEvent", "branch", "split", "updateProfile",
        "emit", "webhook", "exit",
    ];

    public static readonly IReadOnlyList<(ReEntryPolicy Policy, string Name)> ReEntryPolicies =
    [
        (ReEntryPolicy.Never, "never"), (ReEntryPolicy.AfterPreviousEnded, "afterPreviousEnded"), (ReEntryPolicy.AfterCooldown, "afterCooldown"),
    ];

    public static readonly IReadOnlyList<(DayOfWeek Day, string Name)> Days =
    [
        (DayOfWeek.Monday, "monday"), (DayOfWeek.Tuesday, "tuesday"), (DayOfWeek.Wednesday, "wednesday"), (DayOfWeek.Thursday, "thursday"),
        (DayOfWeek.Friday, "friday"), (DayOfWeek.Saturday, "saturday"), (DayOfWeek.Sunday, "sunday"),
    ];

    public static string Name(this ReEntryPolicy policy) => ReEntryPolicies.First(p => p.Policy == policy).Name;

    public static string Name(this DayOfWeek day) => Days.First(d => d.Day == day).Name;

    public static string Name(this MessageClass c) => c == MessageClass.Transactional ? "transactional" : "marketing";

    public static string Name(this SegmentTransition t) => t == SegmentTransition.Exited ? "exited" : "entered";

    public static string Name(this TraitUpdateKind k) => k switch
    {
        TraitUpdateKind.Unset => "unset",
        TraitUpdateKind.Increment => "increment",
        _ => "set",
    };

    public static string StepType(JourneyStep step) => step switch
    {
        SendStep => "send",
        DelayStep => "delay",
        DelayUntilLocalTimeStep => "delayUntilLocalTime",
        DelayUntilDateTraitStep => "delayUntilDateTrait",
        WaitForEventStep => "waitForEvent",
        BranchStep => "branch",
        SplitStep => "split",
        UpdateProfileStep => "updateProfile",
        EmitStep => "emit",
        WebhookStep => "webhook",
        ExitStep => "exit",
        _ => step.GetType().Name,
    };

    /// <summary><c>HH:mm</c>, or <c>HH:mm:ss</c> when there are seconds.</summary>
    public static string LocalTime(TimeOnly time) =>
        time.ToString(time.Second == 0 && time.Millisecond == 0 ? "HH':'mm" : "HH':'mm':'ss", CultureInfo.InvariantCulture);

    public static bool TryLocalTime(string? text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text, ["HH':'mm", "HH':'mm':'ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
}
