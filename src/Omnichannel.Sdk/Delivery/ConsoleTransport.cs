using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Omnichannel.Sdk.Delivery;

/// <summary>
/// A transport for samples and local development: prints one readable block per message (channel, recipient,
/// subject or title, body text) to a <see cref="TextWriter"/> and accepts every message.
/// </summary>
/// <remarks>Safe to call from several threads: blocks are written whole, never interleaved.</remarks>
public sealed class ConsoleTransport : IChannelTransport
{
    private readonly TextWriter _writer;
    private readonly Lock _gate = new();

    /// <summary>Creates a console transport for <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel it is registered for (any channel, see <see cref="ChannelNames"/>).</param>
    /// <param name="writer">Where to print; <see cref="Console.Out"/> when <see langword="null"/>.</param>
    public ConsoleTransport(string channel, TextWriter? writer = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(channel);
        Channel = channel;
        _writer = writer ?? Console.Out;
    }

    /// <inheritdoc />
    public string Channel { get; }

    /// <summary>Prints the message and accepts it under <c>console:&lt;message id&gt;</c>.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Checked before printing.</param>
    public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        var block = Describe(Channel, message);
        lock (_gate)
        {
            _writer.Write(block);
            _writer.Flush();
        }

        return ValueTask.FromResult(DeliveryResult.Accepted("console:" + message.MessageId));
    }

    /// <summary>The printed block: a header line, then one line per field, then a blank line.</summary>
    internal static string Describe(string channel, OutboundMessage message)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"--- {channel} message {message.MessageId} ---").AppendLine();
        switch (message)
        {
            case EmailMessage email:
                Field(text, "From", email.From);
                Field(text, "Reply-To", email.ReplyTo);
                Field(text, "To", email.To);
                Field(text, "Subject", email.Subject);
                foreach (var (name, value) in email.Headers)
                {
                    Field(text, name, value);
                }

                Body(text, email.TextBody ?? email.HtmlBody);
                break;
            case SmsMessage sms:
                Field(text, "From", sms.From);
                Field(text, "To", sms.To);
                var info = SmsEncoding.Analyze(sms.Body);
                Field(text, "Segments", string.Create(CultureInfo.InvariantCulture, $"{info.SegmentCount} ({info.Alphabet}, {info.Length} units)"));
                Body(text, sms.Body);
                break;
            case PushMessage push:
                Field(text, "To", string.Join(", ", push.DeviceTokens));
                Field(text, "Title", push.Title);
                Field(text, "Deep link", push.DeepLink);
                foreach (var (name, value) in push.Data)
                {
                    Field(text, "Data " + name, value);
                }

                Body(text, push.Body);
                break;
            case WhatsAppMessage whatsApp:
                Field(text, "To", whatsApp.To);
                if (whatsApp.TemplateName is not null)
                {
                    Field(text, "Template", whatsApp.TemplateName + (whatsApp.TemplateLanguage is null ? "" : " (" + whatsApp.TemplateLanguage + ")"));
                    for (var i = 0; i < whatsApp.TemplateParameters.Count; i++)
                    {
                        Field(text, "{{" + (i + 1).ToString(CultureInfo.InvariantCulture) + "}}", whatsApp.TemplateParameters[i]);
                    }
                }

                Body(text, whatsApp.Text);
                break;
            case WebhookMessage webhook:
                Field(text, "To", webhook.Url?.ToString() ?? "(configured endpoint)");
                Field(text, "Event", webhook.EventType);
                Body(text, webhook.Payload.GetRawText());
                break;
            case InAppMessage inApp:
                Field(text, "To", inApp.To);
                foreach (var action in inApp.Actions)
                {
                    Field(text, "Action", action.Url is null ? action.Label : action.Label + " -> " + action.Url);
                }

                Body(text, inApp.Text);
                break;
            default:
                // A host's own message shape: show all its public data.
                Body(text, JsonSerializer.Serialize(message, message.GetType()));
                break;
        }

        text.AppendLine();
        return text.ToString();
    }

    private static void Field(StringBuilder text, string name, string? value)
    {
        if (value is not null)
        {
            text.Append(name).Append(": ").Append(value).AppendLine();
        }
    }

    private static void Body(StringBuilder text, string? body)
    {
        if (body is not null)
        {
            text.AppendLine().Append(body).AppendLine();
        }
    }
}
