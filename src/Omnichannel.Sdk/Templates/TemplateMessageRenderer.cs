using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// The delivery pipeline's default renderer: renders a request's template for a channel (with the profile, the request's
/// data as <c>journey</c>, and the customer's device, locale and time zone) and maps the parts onto the channel's message.
/// A template with no variant for the channel returns <see langword="null"/> (the channel is passed over).
/// </summary>
/// <param name="renderer">Loaded, validated templates.</param>
/// <param name="emailFrom">The sender of emails whose template has no <c>from</c> part.</param>
public sealed class TemplateMessageRenderer(TemplateRenderer renderer, string? emailFrom = null) : IMessageRenderer
{
    /// <summary>
    /// A journey's message reads the event that started its instance as <c>event</c> (<c>id</c>, <c>type</c>,
    /// <c>timestamp</c>, <c>properties</c>): the journey puts its id, type and time under <c>triggerEvent</c> and its
    /// properties under <c>trigger</c>. Null for a message the host sends itself and for segment and date triggers.
    /// </summary>
    internal static CustomerEvent? TriggerEventOf(JsonObject? data)
    {
        if (data?["triggerEvent"] is not JsonObject t || t["id"] is not JsonValue id || t["type"] is not JsonValue type
            || !id.TryGetValue<string>(out var eventId) || !type.TryGetValue<string>(out var eventType))
        {
            return null;
        }

        return new CustomerEvent
        {
            Id = eventId,
            Type = eventType,
            Timestamp = t["timestamp"] is JsonValue at && at.TryGetValue<DateTimeOffset>(out var timestamp) ? timestamp : default,
            Identifiers = [],
            Properties = data["trigger"] is JsonObject properties
                ? System.Text.Json.JsonSerializer.SerializeToElement(properties)
                : default,
        };
    }

    /// <summary>The loaded templates (the engine checks a journey published at run time against their ids).</summary>
    internal TemplateRenderer Templates => renderer;

    /// <inheritdoc />
    /// <exception cref="TemplateRenderException">The template failed to render (every error listed).</exception>
    public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(profile);
        var context = new RenderContext
        {
            Profile = profile,
            Event = TriggerEventOf(request.Data),
            Journey = ToDictionary(request.Data),
            Now = now,
            DeviceType = profile.Statistics.Devices.MaxBy(d => d.LastSeen)?.DeviceType,
            Locale = profile.Locale,
            TimeZone = profile.TimeZone,
        };
        var result = renderer.Render(request.TemplateId, channel, context, cancellationToken);
        if (!result.Succeeded)
        {
            return result.Errors.All(e => e.Kind == TemplateErrorKind.NotFound) && renderer.TemplateIds.Contains(request.TemplateId)
                ? ValueTask.FromResult<OutboundMessage?>(null)
                : throw new TemplateRenderException(result.Errors);
        }

        var t = result.Value!;
        OutboundMessage? message = channel switch
        {
            ChannelNames.Email => new EmailMessage
            {
                MessageId = request.Key,
                From = t.Part("from") ?? emailFrom ?? throw new InvalidOperationException($"Template '{t.TemplateId}' has no 'from' part and no default email sender is configured (Delivery.EmailFrom)."),
                To = address,
                Subject = t.Subject ?? string.Empty,
                HtmlBody = t.Html,
                TextBody = t.Text,
            },
            ChannelNames.Sms => new SmsMessage { MessageId = request.Key, To = address, Body = t.Body ?? string.Empty },
            ChannelNames.Push => new PushMessage { MessageId = request.Key, DeviceTokens = [address], Title = t.Title ?? string.Empty, Body = t.Body ?? string.Empty, DeepLink = t.DeepLink },
            ChannelNames.WhatsApp => new WhatsAppMessage { MessageId = request.Key, To = address, TemplateName = t.TemplateName, TemplateParameters = t.Parameters, Text = t.Text },
            ChannelNames.InApp => new InAppMessage { MessageId = request.Key, To = address, Text = t.Text ?? string.Empty },
            _ => null,
        };
        return ValueTask.FromResult(message);
    }

    private static Dictionary<string, object?> ToDictionary(JsonObject? data) =>
        data is null ? [] : data.ToDictionary(kv => kv.Key, kv => (object?)kv.Value?.DeepClone());
}
