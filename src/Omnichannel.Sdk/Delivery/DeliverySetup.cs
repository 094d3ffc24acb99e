namespace Omnichannel.Sdk.Delivery;

/// <summary>
/// The transports and renderer an engine delivers with. <c>AddOmnichannel</c> builds it from the builder's
/// <c>AddTransport</c> calls and the registered <see cref="IMessageRenderer"/>; without a container, build it by hand.
/// </summary>
public sealed class DeliverySetup
{
    private readonly List<(string Name, string Channel, int Preference, IChannelTransport Transport)> _transports = [];

    // Each channel's transports in preference order, built on first use after a change: read for every message sent.
    private Dictionary<string, IReadOnlyList<(string Name, IChannelTransport Transport)>>? _byChannel;

    /// <summary>Renders requests into messages; <see langword="null"/> sends nothing but records why.</summary>
    public IMessageRenderer? Renderer { get; set; }

    /// <summary>Adds a transport for its channel under a name; the lowest preference is tried first.</summary>
    /// <param name="name">Unique among the channel's transports.</param>
    /// <param name="transport">The transport.</param>
    /// <param name="preference">Lower is tried first.</param>
    public DeliverySetup AddTransport(string name, IChannelTransport transport, int preference = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(transport);
        if (_transports.Exists(t => t.Name == name && t.Channel == transport.Channel))
        {
            throw new InvalidOperationException($"A transport named '{name}' is already registered for channel '{transport.Channel}'.");
        }

        _transports.Add((name, transport.Channel, preference, transport));
        _byChannel = null;
        return this;
    }

    internal bool HasTransports => _transports.Count > 0;

    /// <summary>The channels transports are registered for.</summary>
    internal IEnumerable<string> Channels => _transports.Select(t => t.Channel).Distinct(StringComparer.Ordinal);

    /// <summary><c>channel:name (Type)</c> of every transport, for the start-up log line.</summary>
    internal string Describe() => _transports.Count == 0 ? "none" :
        string.Join(", ", _transports.OrderBy(t => t.Channel, StringComparer.Ordinal).ThenBy(t => t.Preference).Select(t => $"{t.Channel}:{t.Name} ({t.Transport.GetType().Name})"));

    internal IReadOnlyList<(string Name, IChannelTransport Transport)> For(string channel) =>
        ByChannel().TryGetValue(channel, out var transports) ? transports : [];

    /// <summary>The channels transports are registered for, as a set to claim outbox entries by (see <c>OutboxEntry.Channel</c>).</summary>
    internal IReadOnlyCollection<string> Served => ByChannel().Keys;

    // Partitions read it at once: a race builds two equal maps, and either one is kept.
    private Dictionary<string, IReadOnlyList<(string Name, IChannelTransport Transport)>> ByChannel() => _byChannel ??= _transports
        .GroupBy(t => t.Channel, StringComparer.Ordinal)
        .ToDictionary(
            g => g.Key,
            g => (IReadOnlyList<(string, IChannelTransport)>)[.. g.OrderBy(t => t.Preference).Select(t => (t.Name, t.Transport))],
            StringComparer.Ordinal);
}
