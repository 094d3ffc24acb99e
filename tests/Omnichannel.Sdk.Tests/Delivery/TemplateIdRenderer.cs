using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Tests.Delivery;

/// <summary>A renderer for policy tests: the template id becomes the email subject or the SMS body.</summary>
internal sealed class TemplateIdRenderer : IMessageRenderer
{
    public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Sms
            ? new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId }
            : new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
}
