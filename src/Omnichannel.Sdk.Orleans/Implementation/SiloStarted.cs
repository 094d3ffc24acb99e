using Orleans;
using Orleans.Runtime;

namespace Omnichannel.Sdk.Orleans.Implementation;

/// <summary>
/// Whether this silo's runtime has started: a grain call made on a silo before it has (its host not started yet) failed
/// inside Orleans with a <see cref="NullReferenceException"/>, which says nothing about what to do.
/// </summary>
internal sealed class SiloStarted : ILifecycleParticipant<ISiloLifecycle>
{
    private volatile bool _started;

    public bool Started => _started;

    // The grain services' stage runs after the runtime's messaging has started and before the silo becomes active.
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloStarted), ServiceLifecycleStage.RuntimeGrainServices, _ =>
        {
            _started = true;
            return Task.CompletedTask;
        });
}
