using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.StoreParity;

namespace Omnichannel.Sdk.PostgreSql.Tests;

/// <summary>An email worker and an SMS worker on one PostgreSQL database: each sends its own channel's messages only.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ChannelClaimsPostgreSqlTests(PostgreSqlServer server)
{
    [Fact]
    public async Task EachMessage_IsSentByTheWorkerOfItsChannel_WhicheverProcessPlannedIt()
    {
        var database = await server.DatabaseAsync("channel_claims_two");
        await ChannelClaimsScenario.EachMessage_IsSentByTheWorkerOfItsChannel_WhicheverProcessPlannedItAsync((time, configure) => Build(database, time, configure));
    }

    [Fact]
    public async Task AMessageOfAChannelNoRunningProcessServes_WaitsForAWorkerOfThatChannel()
    {
        var database = await server.DatabaseAsync("channel_claims_later");
        await ChannelClaimsScenario.AMessageOfAChannelNoRunningProcessServes_WaitsForAWorkerOfThatChannelAsync((time, configure) => Build(database, time, configure));
    }

    [Fact]
    public async Task AHeldMessageLeftWithAChannelOnlyAnotherWorkerServes_IsSentByThatWorker()
    {
        var database = await server.DatabaseAsync("channel_claims_handover");
        await ChannelClaimsScenario.AHeldMessageLeftWithAChannelOnlyAnotherWorkerServes_IsSentByThatWorkerAsync((time, configure) => Build(database, time, configure));
    }

    [Fact]
    public async Task AMessageAnotherProcessPlans_IsSentWithinSeconds_NotAtTheNextTimedLook()
    {
        var database = await server.DatabaseAsync("channel_claims_signal");
        await ChannelClaimsScenario.AMessageAnotherProcessPlans_IsSentWithinSeconds_NotAtTheNextTimedLookAsync((time, configure) => Build(database, time, configure));
    }

    [Fact]
    public async Task AFallbackAfterAPermanentFailure_IsSentByTheWorkerOfTheFallbackChannel()
    {
        var database = await server.DatabaseAsync("channel_claims_fallback");
        await ChannelClaimsScenario.AFallbackAfterAPermanentFailure_IsSentByTheWorkerOfTheFallbackChannelAsync((time, configure) => Build(database, time, configure));
    }

    [Fact]
    public async Task AFallbackThatFailsToo_IsRecordedWithTheReasonsOfEveryChannelTried()
    {
        var database = await server.DatabaseAsync("channel_claims_fallback_fails");
        await ChannelClaimsScenario.AFallbackThatFailsToo_IsRecordedWithTheReasonsOfEveryChannelTriedAsync((time, configure) => Build(database, time, configure));
    }

    [Fact]
    public async Task AHeldMessageHandedOverByItsCheck_ThatFailsThere_NamesEachReasonOnce()
    {
        var database = await server.DatabaseAsync("channel_claims_reason_once");
        await ChannelClaimsScenario.AHeldMessageHandedOverByItsCheck_ThatFailsThere_NamesEachReasonOnceAsync((time, configure) => Build(database, time, configure));
    }

    private static ServiceProvider Build(string connectionString, TimeProvider time, Action<OmnichannelBuilder> configure)
    {
        var services = new ServiceCollection();
        var builder = ChannelClaimsScenario.Services(services, time).UsePostgreSqlStore(connectionString);
        configure(builder);
        return services.BuildServiceProvider();
    }
}
