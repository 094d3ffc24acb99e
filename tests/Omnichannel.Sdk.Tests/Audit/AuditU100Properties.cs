using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>FsCheck generators for audit U100: a stream of her events, some sent twice, and two logins.</summary>
public static class U100StreamArbitrary
{
    public static Gen<(int L1Minute, int L1Arrival, int L2Minute, int L2Arrival, U100Event[] Events)> Streams(int most) => U100Streams.Of(most);

    public static Arbitrary<(int L1Minute, int L1Arrival, int L2Minute, int L2Arrival, U100Event[] Events)> Core() => Streams(24).ToArbitrary();
}

/// <summary>
/// Audit U100 (design notes, "Audit U100: arrival order and merges, property-based, round 5"): the same profile whatever
/// order her events arrive in, and merges (chained three deep, at any point of the stream, in either direction) that keep
/// everything. Every run also reads her again after a restart over the same store (the live state equals what comes
/// back), and the reference is a from-scratch replay in event-time order. The timeline's cap (2, 6 or 16) is drawn from the
/// case.
/// </summary>
public sealed class AuditU100Properties
{
    /// <summary>(a) One identity: generated arrival order (with duplicates) reads as event-time order.</summary>
    [Property(Arbitrary = [typeof(U100StreamArbitrary)], MaxTest = 200)]
    public void AnyArrivalOrder_OneIdentity_ReadsAsTimeOrder((int L1Minute, int L1Arrival, int L2Minute, int L2Arrival, U100Event[] Events) s) =>
        OneIdentityAsync(Cap(s.L1Arrival), s.Events).GetAwaiter().GetResult();

    /// <summary>
    /// (b) Split over three identifiers, merged by two logins anywhere in the stream (a chain three deep), in generated
    /// order one at a time and in reverse time order as one batch over the partitions: reads as one identity in time order.
    /// </summary>
    [Property(Arbitrary = [typeof(U100StreamArbitrary)], MaxTest = 200)]
    public void AnyArrivalOrder_SplitAndMergedThreeDeep_ReadsAsOneIdentityInTimeOrder((int L1Minute, int L1Arrival, int L2Minute, int L2Arrival, U100Event[] Events) s) =>
        SplitAsync(Cap(s.L1Arrival), s.L1Minute, s.L1Arrival, s.L2Minute, s.L2Arrival, s.Events).GetAwaiter().GetResult();

    internal static int Cap(int drawn) => AuditU100Scenario.TimelineCaps[drawn % AuditU100Scenario.TimelineCaps.Length];

    internal static async Task OneIdentityAsync(int cap, U100Event[] events)
    {
        var reference = await AuditU100Scenario.RunAsync(AuditU100Scenario.OneIdentityInTimeOrder(events, 0, 0), cap);
        AuditU100Scenario.Read.Same(reference, await AuditU100Scenario.RunAsync(AuditU100Scenario.OneIdentityAsArrived(events), cap), "time order", "generated order");
    }

    internal static async Task SplitAsync(int cap, int l1Minute, int l1Arrival, int l2Minute, int l2Arrival, U100Event[] events)
    {
        var reference = await AuditU100Scenario.RunAsync(AuditU100Scenario.OneIdentityInTimeOrder(events, l1Minute, l2Minute), cap);
        AuditU100Scenario.Read.Same(reference, await AuditU100Scenario.RunAsync(AuditU100Scenario.Split(events, l1Minute, l1Arrival, l2Minute, l2Arrival), cap), "one identity in time order", "split, generated order");
        AuditU100Scenario.Read.Same(reference, await AuditU100Scenario.RunAsync(AuditU100Scenario.Split(events, l1Minute, l1Arrival, l2Minute, l2Arrival, reverse: true), cap, batch: true), "one identity in time order", "split, reverse time order, one batch");
        AuditU100Scenario.Read.SameButJourneyInstants(reference, await AuditU100Scenario.RunAsync(AuditU100Scenario.Split(events, l1Minute, l1Arrival, l2Minute, l2Arrival, passing: true), cap), "one identity in time order", "split, generated order, the clock moving between events");
    }
}
