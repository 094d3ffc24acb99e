using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.StoreParity;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U70: bug classes from public reports (round 70: counters re-sent under new event ids, ties of one second, one
/// profile written from every entry point at once), on the in-memory store (the same scenarios run on SQLite in
/// <c>AuditU70SqliteTests</c>). Public API and the test kit only.
/// </summary>
public sealed class AuditU70Tests
{
    private readonly InMemoryOmnichannelStore _store = new();

    // A host on this test's store: a second call is a restart.
    private OmnichannelTestHost Open() => OmnichannelTestHost.Create(
        o =>
        {
            foreach (var s in AuditU70Scenario.Segments)
            {
                o.Segments.Add(s);
            }
        },
        start: AuditU70Scenario.Start,
        store: _store);

    [Fact]
    public Task ALoyaltyOrReferralEventReSent_UnderANewEventId_CountsOnce_AcrossARestart() =>
        AuditU70Scenario.ALoyaltyOrReferralEventReSent_UnderANewEventId_CountsOnce_AcrossARestart(Open);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task ALoyaltyTransactionOnBothSidesOfAMerge_CountsOnce(bool accountFirst) =>
        AuditU70Scenario.ALoyaltyTransactionOnBothSidesOfAMerge_CountsOnce(Open, accountFirst);

    [Theory]
    [InlineData("e-9", "e-10", false)]
    [InlineData("e-9", "e-10", true)]
    [InlineData("e-1", "e-2", false)]
    [InlineData("e-1", "e-2", true)]
    public Task AnAdditionAndItsRemovalInOneSecond_LeaveNothing_WhateverTheirIdsAndArrivalOrder(string addId, string removeId, bool removalFirst) =>
        AuditU70Scenario.AnAdditionAndItsRemovalInOneSecond_LeaveNothing_WhateverTheirIdsAndArrivalOrder(Open, addId, removeId, removalFirst);

    [Fact]
    public Task OneProfile_WrittenFromEveryEntryPointAtOnce_LosesNoUpdate() =>
        AuditU70Scenario.OneProfile_WrittenFromEveryEntryPointAtOnce_LosesNoUpdate(Open);
}
