using System.Net;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>
/// Audit S, bug classes from public reports about HTTP retry layers: <c>Retry-After</c> as an HTTP-date already past
/// (pulseaiclub/phi#30, AstroVela/vane#170: must read as "now", never a negative wait), an unparsable one
/// (benoitc/livery#47: fall back to the own back-off), and a throttled answer that is retried with the same
/// idempotency key (Stripe-style keys, Svix delivery reports).
/// </summary>
public sealed class AuditSHttpTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 9, 10, 0, 0, TimeSpan.Zero);

    private sealed class Scripted(Func<HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<string?> IdempotencyKeys { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            IdempotencyKeys.Add(request.Headers.TryGetValues("Idempotency-Key", out var v) ? v.Single() : null);
            return Task.FromResult(answer());
        }
    }

    private static HttpProviderTransport Transport(HttpMessageHandler handler, TimeProvider time) =>
        new(new HttpClient(handler), new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("https://sms.example/send") }, time);

    private static SmsMessage Sms(string id) => new() { MessageId = id, To = "+33612345678", Body = "Your order shipped" };

    [Fact]
    public async Task A429WithARetryAfterDateAlreadyPast_IsTransientWithNoWait()
    {
        var time = new FakeTimeProvider(Now);
        var handler = new Scripted(() =>
        {
            var r = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
            r.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(Now.AddMinutes(-5));
            return r;
        });

        var result = await Transport(handler, time).SendAsync(Sms("m-past"));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.Equal(TimeSpan.Zero, result.RetryAfter);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("1.5")]
    public async Task A503WithAnUnreadableRetryAfter_IsTransientAndLeavesTheWaitToTheBackOff(string header)
    {
        var handler = new Scripted(() =>
        {
            var r = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            r.Headers.TryAddWithoutValidation("Retry-After", header);
            return r;
        });

        var result = await Transport(handler, new FakeTimeProvider(Now)).SendAsync(Sms("m-bad-header"));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.Null(result.RetryAfter);
    }

    [Fact]
    public async Task AThrottledSend_RetriedLater_CarriesTheSameIdempotencyKey()
    {
        var answers = new Queue<HttpStatusCode>([HttpStatusCode.TooManyRequests, HttpStatusCode.Accepted]);
        var handler = new Scripted(() => new HttpResponseMessage(answers.Dequeue()) { Content = new StringContent("""{"id":"p-1"}""") });
        var transport = Transport(handler, new FakeTimeProvider(Now));

        var first = await transport.SendAsync(Sms("m-retry"));
        var second = await transport.SendAsync(Sms("m-retry"));

        Assert.Equal(DeliveryStatus.TransientFailure, first.Status);
        Assert.True(second.IsAccepted, second.Reason);
        Assert.Equal(2, handler.IdempotencyKeys.Count);
        Assert.NotNull(handler.IdempotencyKeys[0]);
        Assert.Equal(handler.IdempotencyKeys[0], handler.IdempotencyKeys[1]);
    }
}
