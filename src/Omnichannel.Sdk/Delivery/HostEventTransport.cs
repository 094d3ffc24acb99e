namespace Omnichannel.Sdk.Delivery;

/// <summary>Hands journey-emitted events to a host callback; an exception from the callback is a transient failure, retried.</summary>
internal sealed class HostEventTransport(Func<HostEventMessage, CancellationToken, ValueTask> handler) : IChannelTransport
{
    public string Channel => ChannelNames.Host;

    public async ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        if (message is not HostEventMessage e)
        {
            return DeliveryResult.PermanentFailure($"expected a {nameof(HostEventMessage)}, got {message.GetType().Name}");
        }

        await handler(e, cancellationToken).ConfigureAwait(false);
        return DeliveryResult.Accepted(e.MessageId);
    }
}
