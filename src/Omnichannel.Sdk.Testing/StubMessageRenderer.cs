using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Testing;

/// <summary>
/// A renderer for tests that need no templates: every message names its template. An email's subject and text body, an
/// SMS, push, WhatsApp or in-app text are the template id (<see cref="MessageRequest.TemplateId"/>), so a test asserts
/// which template went to whom on which channel. Used by <see cref="OmnichannelTestHost"/> when
/// <see cref="OmnichannelTestHostOptions.StubTemplates"/> is set.
/// </summary>
public sealed class StubMessageRenderer : IMessageRenderer
{
    /// <summary>The sender of stubbed emails: <c>test@omnichannel.invalid</c>.</summary>
    public const string From = "test@omnichannel.invalid";

    /// <inheritdoc />
    public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var id = request.TemplateId;
        OutboundMessage? message = channel switch
        {
            ChannelNames.Email => new EmailMessage { MessageId = request.Key, From = From, To = address, Subject = id, TextBody = id },
            ChannelNames.Sms => new SmsMessage { MessageId = request.Key, To = address, Body = id },
            ChannelNames.Push => new PushMessage { MessageId = request.Key, DeviceTokens = [address], Title = id, Body = id },
            ChannelNames.WhatsApp => new WhatsAppMessage { MessageId = request.Key, To = address, Text = id },
            ChannelNames.InApp => new InAppMessage { MessageId = request.Key, To = address, Text = id },
            _ => null,
        };
        return ValueTask.FromResult(message);
    }
}
