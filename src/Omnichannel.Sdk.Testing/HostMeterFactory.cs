using System.Diagnostics.Metrics;

namespace Omnichannel.Sdk.Testing;

// The test host's meter factory, when the registration has none (AddMetrics): without one the engine's meter is
// process-wide, so a test's MeterListener or MetricCollector saw every host's measurements, those of tests running in
// parallel included. Meters created here carry this factory as their scope, as the runtime's own factory's do.
internal sealed class HostMeterFactory : IMeterFactory
{
    private readonly Lock _gate = new();
    private readonly List<Meter> _meters = [];
    private bool _disposed;

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_meters.Find(m => m.Name == options.Name && m.Version == options.Version && options.Tags is null) is { } known)
            {
                return known;
            }

            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this, TelemetrySchemaUrl = options.TelemetrySchemaUrl });
            _meters.Add(meter);
            return meter;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }

            _meters.Clear();
        }
    }
}
