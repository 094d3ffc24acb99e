using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Testing;
using Orleans;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Review of the forty-third session's last changes: an erasure through the cluster tells each of her grains to forget her
/// hot copies. That step is best effort, so a silo that does not answer (killed and not yet declared dead: dotnet/orleans#6977,
/// calls to it are left to time out) must not hold the erasure's answer for the whole response timeout.
/// </summary>
public sealed class ReviewFortyThirdSessionTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 2, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task AnErasureWhoseForgetCallsGetNoAnswer_StillAnswersTrue_LongBeforeTheResponseTimeout()
    {
        var store = new InMemoryOmnichannelStore();
        var silent = new SilentForget();
        await using var cluster = await InProcessCluster.StartAsync(1, services =>
        {
            ClusterSetup.Register(_time, services, store);
            services.AddSingleton<IIncomingGrainCallFilter>(silent);
        }, responseTimeout: TimeSpan.FromMinutes(3));
        IOmnichannelClient client = new OmnichannelClusterClient(cluster.Client, ClusterSetup.Options());
        var events = new ClusterEvents(_time);
        var email = Identifier.Email("r43-silent@example.com");
        Assert.Equal(TrackStatus.Accepted, (await client.TrackAsync(events.Event("r43-a", EventTypes.ProductViewed, null, email, Identifier.DeviceId("r43-device")))).Status);

        try
        {
            // Every forget call hangs, as one to a silo that was killed: the erasure is made, and says so within 30 s (it
            // waited for the client's response timeout, 3 minutes here, 30 s by default).
            var erased = await client.EraseProfileAsync(email).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(erased);
            Assert.True(silent.Reached.Task.IsCompleted, "the forget calls should have been made");
            Assert.Null(await client.GetProfileAsync(email));
            Assert.True(await client.IsSuppressedAsync(email));
        }
        finally
        {
            silent.Release.TrySetResult();
        }
    }

    /// <summary>Holds every <c>ForgetAsync</c> call before its grain runs it, until released.</summary>
    private sealed class SilentForget : IIncomingGrainCallFilter
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.InterfaceMethod?.Name == "ForgetAsync")
            {
                Reached.TrySetResult();
                await Release.Task;
            }

            await context.Invoke();
        }
    }
}
