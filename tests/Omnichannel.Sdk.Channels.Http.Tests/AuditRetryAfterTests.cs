using System.Net;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>
/// Audit: an SMS gateway answers 429 with Retry-After: 3600. The HTTP transport reports the delay, but the engine's
/// dispatcher never reads it: it asks again after its own RetryDelay (30 s, doubling) and gives the message up for good
/// after MaxAttempts, about a quarter of an hour later, while the provider asked for an hour.
/// </summary>
public sealed class AuditRetryAfterTests
{
    private sealed class Throttling : HttpMessageHandler
    {
        public int Requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Requests);
            var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent("""{"message":"slow down"}""") };
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromHours(1));
            return Task.FromResult(response);
        }
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(new SmsMessage { MessageId = request.Key, To = address, Body = "Your order shipped" });
    }

    [Fact]
    public async Task A429WithRetryAfter_IsNotRetriedBeforeTheProvidersDelay_NorGivenUpMeanwhile()
    {
        var handler = new Throttling();
        using var http = new HttpClient(handler);
        var transport = new HttpProviderTransport(http, new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("https://sms.example/send") });
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.Retry = null,   // no quick retries: only the dispatcher's own schedule is looked at
            delivery: new DeliverySetup { Renderer = new Renderer() }.AddTransport("gateway", transport));
        var ann = Identifier.Phone("+12125550101");
        await host.TrackAsync("user.signed_up", [ann]);

        var send = await host.Client.SendAsync(ann, new MessageRequest { Key = "shipped-1", Channels = [ChannelNames.Sms], TemplateId = "shipped", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, send.Status);
        await host.Engine.RunDispatchAsync();
        Assert.Equal(1, handler.Requests);

        // Half an hour later: the provider asked for an hour, so it has not been asked again and the message still waits.
        for (var i = 0; i < 30; i++)
        {
            await host.AdvanceAsync(TimeSpan.FromMinutes(1));
            await host.Engine.RunDispatchAsync();
        }

        Assert.Equal(1, handler.Requests);
        Assert.DoesNotContain((await host.ProfileAsync(ann)).Timeline, t => t.Type == EventTypes.MessageFailed);
    }
}
