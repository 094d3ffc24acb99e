using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests;

/// <summary>A renderer for SMS scenarios: the message's body is the request's template id, sent to the planned address.</summary>
internal sealed class SmsRenderer : IMessageRenderer
{
    public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<OutboundMessage?>(new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId });
}
