using System.Runtime.CompilerServices;
using Omnichannel.Sdk.Tests.Journeys;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// The journey, live-segment and delivery scenario suites (compiled into this assembly from the core tests) run through a 3-silo
/// in-process Orleans cluster: every event and read the scenarios make through the test host goes through an
/// <see cref="OmnichannelClusterClient"/> to the customer's grain, which applies it with its silo's own engine on the
/// rig's store; the assertions (messages, instants, counts) are the core suite's, unchanged.
/// </summary>
/// <remarks>
/// Time-driven work (wake-ups, dispatch when the virtual clock moves) stays with the rig's own engine, which the
/// scenarios drive step by step on their fake clock; the silos' engines get the same clock without timers, so the
/// clock moves only when the scenario moves it (with silo timers on, a silo could run a wake-up while the scenario
/// moves the clock on). Silo timers firing on their own are tested in <c>ClusterWakeUpTests</c>.
/// </remarks>
internal static class ScenariosOnCluster
{
    public const int Silos = 3;

    [ModuleInitializer]
    internal static void RunScenariosThroughACluster() =>
        JourneyRig.Cluster = async parts =>
        {
            var clock = new ClockWithoutTimers(parts.Host.Time);
            var cluster = await InProcessCluster.StartAsync(Silos, () => parts.Engine(parts.Options(), clock));
            parts.Host.ClientOverride = new OmnichannelClusterClient(cluster.Client, parts.Options());
            return cluster;
        };
}
