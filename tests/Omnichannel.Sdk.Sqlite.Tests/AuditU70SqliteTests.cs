using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.StoreParity;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U70's scenarios (<see cref="AuditU70Scenario"/>) on one SQLite file: a second host is a restart.</summary>
public sealed class AuditU70SqliteTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _path;

    public AuditU70SqliteTests() => _path = _folder.File();

    public void Dispose() => _folder.Dispose();

    private OmnichannelTestHost Open() => OmnichannelTestHost.Create(
        services => services.AddOmnichannel(o =>
            {
                o.Privacy.HashKey = OmnichannelTestHost.TestHashKey;
                foreach (var s in AuditU70Scenario.Segments)
                {
                    o.Segments.Add(s);
                }
            })
            .UseSqliteStore(_path),
        new OmnichannelTestHostOptions { Start = AuditU70Scenario.Start, KeepStore = true });

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
    public Task AnAdditionAndItsRemovalInOneSecond_LeaveNothing_WhateverTheirIdsAndArrivalOrder(string addId, string removeId, bool removalFirst) =>
        AuditU70Scenario.AnAdditionAndItsRemovalInOneSecond_LeaveNothing_WhateverTheirIdsAndArrivalOrder(Open, addId, removeId, removalFirst);

    [Fact]
    public Task OneProfile_WrittenFromEveryEntryPointAtOnce_LosesNoUpdate() =>
        AuditU70Scenario.OneProfile_WrittenFromEveryEntryPointAtOnce_LosesNoUpdate(Open);
}
