namespace Omnichannel.Sdk.Delivery;

/// <summary>
/// A transport registered under a name for its channel. Several transports of one channel may coexist (two SMS
/// providers); the dispatcher tries them by ascending <see cref="Preference"/>.
/// </summary>
/// <param name="Name">A name unique among the channel's transports (<c>twilio</c>, <c>smtp</c>).</param>
/// <param name="Channel">The channel it sends on (see <see cref="ChannelNames"/>).</param>
/// <param name="Preference">Lower is tried first.</param>
/// <param name="Factory">Builds the transport from the container.</param>
public sealed record ChannelTransportRegistration(string Name, string Channel, int Preference, Func<IServiceProvider, IChannelTransport> Factory);
