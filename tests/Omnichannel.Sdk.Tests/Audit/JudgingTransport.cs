using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// A transport for the cross-feature properties (U71, U87): judges every message against the property's model at the
/// hand-over (<paramref name="judge"/>), records what it judged, and accepts it with the provider id <c>p-{message id}</c>.
/// </summary>
internal sealed class JudgingTransport<TReceived>(string channel, Func<string, OutboundMessage, TReceived> judge, List<TReceived> received) : IChannelTransport
{
    public string Channel { get; } = channel;

    public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        var r = judge(Channel, message);
        lock (received)
        {
            received.Add(r);
        }

        return ValueTask.FromResult(DeliveryResult.Accepted("p-" + message.MessageId));
    }
}

/// <summary>The properties' renderer: an email whose subject is the template id, else a text whose body is (SMS, and LINE in an SmsMessage).</summary>
internal sealed class TemplateIdRenderer : IMessageRenderer
{
    public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Email
            ? new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" }
            : new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId });
}
