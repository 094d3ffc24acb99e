using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>
/// Audit U12, bug classes from public reports about HTTP provider clients and webhooks: what a provider's answer looks
/// like on the wire (a byte order mark, another charset, invalid UTF-8, a body that breaks off after a 2xx), a 409 for an
/// idempotency key still in use, header values the HTTP client refuses, retries of signed webhooks, fall-back after a
/// provider's "no such recipient", the client factory's handler rotation, and personal data or secrets in reasons.
/// </summary>
public sealed class AuditU12HttpTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    /// <summary>Answers every request with what the script builds; records each request's headers and body.</summary>
    private sealed class Scripted(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        public Scripted(Func<HttpResponseMessage> answer)
            : this((_, _) => Task.FromResult(answer()))
        {
        }

        public List<(HttpRequestHeaders Headers, byte[] Body)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            lock (Requests)
            {
                Requests.Add((request.Headers, body));
            }

            return await answer(request, cancellationToken);
        }

        public string? Header(int index, string name) =>
            Requests[index].Headers.TryGetValues(name, out var values) ? values.Single() : null;
    }

    /// <summary>A response body that hands out its first bytes and then breaks off, or never ends.</summary>
    private sealed class BreakingStream(byte[] first, bool hang) : Stream
    {
        private int position;

        public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (position < first.Length)
            {
                var n = Math.Min(buffer.Length, first.Length - position);
                first.AsMemory(position, n).CopyTo(buffer);
                position += n;
                return n;
            }

            if (!hang)
            {
                throw new IOException("The response ended prematurely. (ResponseEnded)");
            }

            Stalled.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, byte[] body, string? mediaType = "application/json", string? charset = null)
    {
        var content = new ByteArrayContent(body);
        if (mediaType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType) { CharSet = charset };
        }

        return new HttpResponseMessage(status) { Content = content };
    }

    private static HttpProviderTransport Provider(HttpMessageHandler handler, TimeProvider time, Action<HttpProviderOptions>? configure = null)
    {
        var options = new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("https://sms.example/v1/messages") };
        configure?.Invoke(options);
        return new HttpProviderTransport(new HttpClient(handler), options, time);
    }

    private static WebhookTransport Webhook(HttpMessageHandler handler, TimeProvider time, Action<WebhookTransportOptions>? configure = null)
    {
        var options = new WebhookTransportOptions { Secret = "whsec_u12", DefaultUrl = new Uri("https://partner.example/hooks") };
        configure?.Invoke(options);
        return new WebhookTransport(new HttpClient(handler), options, time);
    }

    private static SmsMessage Sms(string id) => new() { MessageId = id, To = "+34600111222", Body = "Your order shipped" };

    private static WebhookMessage Hook(string id) => new() { MessageId = id, EventType = "order.shipped", Payload = JsonDocument.Parse("""{"order":"A-1"}""").RootElement };

    // Class 1. A JSON answer that starts with a UTF-8 byte order mark (RFC 8259 §8.1 lets a parser ignore it; Windows
    // servers and editors add one): jqlang/jq#45, aacerox/node-rest-client#197, dgtlmoon/changedetection.io#2945.
    [Fact]
    public async Task A2xxAnswerWithAByteOrderMark_KeepsTheProvidersId_AndAnErrorKeepsItsMessage()
    {
        byte[] bom = [0xEF, 0xBB, 0xBF];
        var accepted = await Provider(new Scripted(() => Answer(HttpStatusCode.Created, [.. bom, .. """{"id":"SM-bom-1"}"""u8])), new FakeTimeProvider(Now))
            .SendAsync(Sms("u12-bom"));
        var refused = await Provider(new Scripted(() => Answer(HttpStatusCode.BadRequest, [.. bom, .. """{"message":"sender id not registered"}"""u8])), new FakeTimeProvider(Now))
            .SendAsync(Sms("u12-bom-error"));

        Assert.Equal(DeliveryResult.Accepted("SM-bom-1"), accepted);
        Assert.Equal(DeliveryResult.PermanentFailure("HTTP 400 Bad Request: sender id not registered"), refused);
    }

    // Class 2. An answer in another charset, or with bytes that are not UTF-8: System.Text.Json throws
    // InvalidOperationException ("Cannot transcode invalid UTF-8 JSON text to UTF-16 string") from GetString
    // (roflmuffin/CounterStrikeSharp#933, microsoft/PowerApps-Tooling#327). An accepted send must never turn into an
    // exception (the dispatcher would try it again: a second SMS), nor a refusal into a retry.
    [Fact]
    public async Task AnAnswerInLatin1OrWithInvalidUtf8_IsReadNotThrown()
    {
        var latin1 = await Provider(
            new Scripted(() => Answer(HttpStatusCode.OK, Encoding.Latin1.GetBytes("""{"id":"SM-café"}"""), charset: "iso-8859-1")), new FakeTimeProvider(Now))
            .SendAsync(Sms("u12-latin1"));
        var utf16 = await Provider(
            new Scripted(() => Answer(HttpStatusCode.OK, [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("""{"id":"SM-ünï"}""")], charset: "utf-16")), new FakeTimeProvider(Now))
            .SendAsync(Sms("u12-utf16"));
        var invalidAccepted = await Provider(
            new Scripted(() => Answer(HttpStatusCode.OK, [.. """{"id":"SM-"""u8, 0xE9, .. "\"}"u8])), new FakeTimeProvider(Now))
            .SendAsync(Sms("u12-invalid-ok"));
        var loneSurrogate = await Provider(
            new Scripted(() => Answer(HttpStatusCode.OK, """{"id":"SM-\ud800"}"""u8.ToArray())), new FakeTimeProvider(Now))
            .SendAsync(Sms("u12-surrogate"));
        var invalidRefused = await Provider(
            new Scripted(() => Answer(HttpStatusCode.UnprocessableEntity, [.. """{"message":"num"""u8, 0xE9, .. "ro no v\u00E1lido\"}"u8])), new FakeTimeProvider(Now))
            .SendAsync(Sms("u12-invalid-422"));
        var latin1Refused = await Webhook(
            new Scripted(() => Answer(HttpStatusCode.BadRequest, Encoding.Latin1.GetBytes("""{"error":"événement inconnu"}"""), charset: "ISO-8859-1")), new FakeTimeProvider(Now))
            .SendAsync(Hook("u12-latin1-hook"));

        Assert.Equal(DeliveryResult.Accepted("SM-café"), latin1);
        Assert.Equal(DeliveryResult.Accepted("SM-ünï"), utf16);
        Assert.Equal(DeliveryStatus.Accepted, invalidAccepted.Status);
        Assert.Equal(DeliveryStatus.Accepted, loneSurrogate.Status);
        Assert.Equal(DeliveryStatus.PermanentFailure, invalidRefused.Status);
        Assert.StartsWith("HTTP 422 Unprocessable Entity: ", invalidRefused.Reason, StringComparison.Ordinal);
        Assert.Equal(DeliveryResult.PermanentFailure("HTTP 400 Bad Request: événement inconnu"), latin1Refused);
    }

    // Class 3. The provider answered 2xx, then the body broke off or stalled past the time-out. The message is with the
    // provider: reporting a transient failure has it sent again (bluesky-social/social-app#4111 "duplicate messages
    // after slow responses"; pusher/pusher-http-dotnet#86 "The response ended prematurely" and a resend without a key).
    [Fact]
    public async Task A2xxWhoseBodyBreaksOff_IsAcceptedNotRetried()
    {
        var broken = new Scripted(() => new HttpResponseMessage(HttpStatusCode.Created) { Content = new StreamContent(new BreakingStream("""{"id":"SM-"""u8.ToArray(), hang: false)) });

        var result = await Provider(broken, new FakeTimeProvider(Now)).SendAsync(Sms("u12-broken"));

        Assert.Equal(DeliveryResult.Accepted(null), result);
    }

    [Fact]
    public async Task A2xxWhoseBodyStallsPastTheTimeout_IsAcceptedNotRetried()
    {
        var clock = new FakeTimeProvider(Now);
        var body = new BreakingStream("""{"id":"SM-slow"""u8.ToArray(), hang: true);
        var stalled = new Scripted(() => new HttpResponseMessage(HttpStatusCode.Accepted) { Content = new StreamContent(body) });
        var transport = Provider(stalled, clock, o => o.Timeout = TimeSpan.FromSeconds(10));

        var send = transport.SendAsync(Sms("u12-stalled")).AsTask();
        await body.Stalled.Task.WaitAsync(Guard);
        clock.Advance(TimeSpan.FromSeconds(10));
        var result = await send.WaitAsync(Guard);

        Assert.Equal(DeliveryResult.Accepted(null), result);
    }

    // A refusal whose body breaks off is still the refusal its status says, not a network error to retry.
    [Fact]
    public async Task A4xxWhoseBodyBreaksOff_IsStillPermanent()
    {
        var broken = new Scripted(() => new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StreamContent(new BreakingStream("""{"message":"inva"""u8.ToArray(), hang: false)) });

        var result = await Provider(broken, new FakeTimeProvider(Now)).SendAsync(Sms("u12-broken-400"));

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.StartsWith("HTTP 400 Bad Request", result.Reason, StringComparison.Ordinal);
    }

    // Class 4. 409 for an idempotency key whose first request is still being processed: the IETF Idempotency-Key draft
    // (ietf-wg-httpapi/idempotency#11) and Stripe answer a retry that overtakes the original with 409, and the retry is
    // to be made again later, when it gets the original's answer (apache/iceberg#14196: "do not finalize 409
    // request_in_progress"). A permanent failure there marks a message failed that the provider is sending, and the
    // fallback channel sends it a second time.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A409ForAnIdempotencyKeyInUse_IsTransient_OnlyWhenAKeyWasSent(bool withKey)
    {
        var handler = new Scripted(() => Answer(HttpStatusCode.Conflict, """{"message":"A request with this Idempotency-Key is in progress"}"""u8.ToArray()));

        var sms = await Provider(handler, new FakeTimeProvider(Now), o => o.IdempotencyKeyHeader = withKey ? "Idempotency-Key" : null).SendAsync(Sms("u12-409"));

        Assert.Equal(withKey ? DeliveryStatus.TransientFailure : DeliveryStatus.PermanentFailure, sms.Status);
        Assert.StartsWith("HTTP 409 Conflict: A request with this Idempotency-Key is in progress", sms.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A409FromAWebhookReceiver_IsTransient_BecauseEveryWebhookCarriesItsKey()
    {
        var handler = new Scripted(() => Answer(HttpStatusCode.Conflict, """{"message":"delivery u12-hook-409 in progress"}"""u8.ToArray()));

        var result = await Webhook(handler, new FakeTimeProvider(Now)).SendAsync(Hook("u12-hook-409"));

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
    }

    // Class 5. A configured header value the HTTP client cannot send: an API key pasted with a zero-width space, a
    // non-breaking space or typographic quotes. SocketsHttpHandler throws "Request headers must contain only ASCII
    // characters" on every request (AIDotNet/OpenDeepWiki#291 retried it three times; Jackett/Jackett#5806,
    // dougdellolio/coinbasepro-csharp#290), which the transport read as a network error: transient, for every message,
    // until each ran out of attempts. It is a configuration mistake, so it is refused at start, without echoing the value.
    [Theory]
    [InlineData("Bearer sk_live_u12\u200B")]
    [InlineData("Bearer\u00A0sk_live_u12")]
    [InlineData("\u201Csk_live_u12\u201D")]
    [InlineData("sk_live_u12\0")]
    public void AConfiguredHeaderValueThatIsNotPrintableAscii_IsRefusedAtStart_WithoutEchoingIt(string value)
    {
        var provider = new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("https://sms.example/v1/messages") };
        provider.Headers["Authorization"] = value;
        var webhook = new WebhookTransportOptions { Secret = "whsec_u12" };
        webhook.Headers["X-Partner-Key"] = value;

        var providerError = Assert.Throws<OptionsValidationException>(() => new HttpProviderTransport(new HttpClient(), provider));
        var webhookError = Assert.Throws<OptionsValidationException>(() => new WebhookTransport(new HttpClient(), webhook));

        Assert.Contains(providerError.Failures, f => f.Contains("'Authorization'", StringComparison.Ordinal) && f.Contains("ASCII", StringComparison.Ordinal));
        Assert.Contains(webhookError.Failures, f => f.Contains("'X-Partner-Key'", StringComparison.Ordinal) && f.Contains("ASCII", StringComparison.Ordinal));
        Assert.DoesNotContain("sk_live_u12", providerError.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_live_u12", webhookError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddHttpProviderTransport_WithANonAsciiApiKey_FailsAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddOmnichannel().AddHttpProviderTransport("acme-sms", o =>
        {
            o.Channel = ChannelNames.Sms;
            o.Endpoint = new Uri("https://sms.example/v1/messages");
            o.Headers["Authorization"] = "Bearer sk_live_u12\u200B";
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<HttpProviderOptions>>().Get("acme-sms"));
        Assert.Contains(error.Failures, f => f.Contains("acme-sms", StringComparison.Ordinal) && f.Contains("ASCII", StringComparison.Ordinal));
    }

    // Class 11. Credentials in the URL (https://user:password@host/…): HttpClient sends no Authorization for them
    // (urllib3/urllib3#1530, vibe-d/vibe.d#481, dondai44423/donsetch#15 "basic auth is never sent"), so the receiver
    // answers 401 (a permanent failure with no hint) or takes the request unauthenticated, and the URL with its password
    // went into start-up errors and reasons. Refused at start for configured URLs, and as a permanent failure for a
    // message's own URL, never echoing the password.
    [Fact]
    public void AConfiguredUrlWithCredentials_IsRefusedAtStart_WithoutEchoingThePassword()
    {
        var provider = new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("https://acme:pw_u12_secret@sms.example/v1/messages") };
        var webhook = new WebhookTransportOptions { Secret = "whsec_u12", DefaultUrl = new Uri("https://hooks:pw_u12_secret@partner.example/hooks") };
        var notHttp = new WebhookTransportOptions { Secret = "whsec_u12", DefaultUrl = new Uri("ftp://hooks:pw_u12_secret@partner.example/hooks") };

        var errors = new[]
        {
            Assert.Throws<OptionsValidationException>(() => new HttpProviderTransport(new HttpClient(), provider)),
            Assert.Throws<OptionsValidationException>(() => new WebhookTransport(new HttpClient(), webhook)),
            Assert.Throws<OptionsValidationException>(() => new WebhookTransport(new HttpClient(), notHttp)),
        };

        Assert.Contains(errors[0].Failures, f => f.StartsWith("Endpoint must not carry credentials", StringComparison.Ordinal));
        Assert.Contains(errors[1].Failures, f => f.StartsWith("DefaultUrl must not carry credentials", StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("pw_u12_secret", e.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AMessageUrlWithCredentials_IsAPermanentFailure_WithoutSendingOrEchoingThePassword()
    {
        var handler = new Scripted(() => new HttpResponseMessage(HttpStatusCode.NoContent));
        var transport = Webhook(handler, new FakeTimeProvider(Now));

        var result = await transport.SendAsync(Hook("u12-userinfo") with { Url = new Uri("https://hooks:pw_u12_secret@partner.example/hooks") });
        var notHttp = await transport.SendAsync(Hook("u12-userinfo-ftp") with { Url = new Uri("ftp://hooks:pw_u12_secret@partner.example/hooks") });

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.Contains("credentials", result.Reason, StringComparison.Ordinal);
        Assert.Equal(DeliveryStatus.PermanentFailure, notHttp.Status);
        Assert.DoesNotContain("pw_u12_secret", result.Reason + notHttp.Reason, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    // Class 6 (held). A send that timed out may have reached the provider; its retry must carry the same idempotency key,
    // and a signed webhook's retry must be signed afresh, or a receiver with a five-minute window rejects every retry
    // made later than that (better-auth/better-auth#8844 "stale signature timestamp on long-running retries";
    // reapit/foundations#11108 signatures on retried events).
    [Fact]
    public async Task ATimedOutWebhook_RetriedTenMinutesLater_CarriesTheSameKey_AndASignatureFreshAtThatTime()
    {
        var clock = new FakeTimeProvider(Now);
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var handler = new Scripted(async (_, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                first.TrySetResult();
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            }

            return new HttpResponseMessage(HttpStatusCode.NoContent);
        });
        var transport = Webhook(handler, clock, o => o.Timeout = TimeSpan.FromSeconds(15));

        var attempt = transport.SendAsync(Hook("u12-hook-timeout")).AsTask();
        await first.Task.WaitAsync(Guard);
        clock.Advance(TimeSpan.FromSeconds(15));
        var timedOut = await attempt.WaitAsync(Guard);
        clock.Advance(TimeSpan.FromMinutes(10));
        var retried = await transport.SendAsync(Hook("u12-hook-timeout"));

        Assert.Equal(DeliveryStatus.TransientFailure, timedOut.Status);
        Assert.True(retried.IsAccepted, retried.Reason);
        Assert.Equal("u12-hook-timeout", handler.Header(0, WebhookHeaders.IdempotencyKey));
        Assert.Equal("u12-hook-timeout", handler.Header(1, WebhookHeaders.IdempotencyKey));
        Assert.NotEqual(handler.Header(0, WebhookHeaders.Timestamp), handler.Header(1, WebhookHeaders.Timestamp));
        var verdict = WebhookSignature.Verify("whsec_u12", handler.Header(1, WebhookHeaders.Timestamp), handler.Header(1, WebhookHeaders.Signature), handler.Requests[1].Body, clock.GetUtcNow(), WebhookSignature.DefaultTolerance);
        Assert.Equal(WebhookVerificationStatus.Valid, verdict.Status);
    }

    // Class 7 (held). A receiver reading the signature header the way ASP.NET Core hands it over: two header lines during
    // a rotation come joined by a comma; upper-case hex and spaces around entries are accepted (Svix and Standard
    // Webhooks accept several signatures; lettermint/lettermint-node#26 "accepts multiple v1 signatures").
    [Fact]
    public void Verify_AcceptsRotatedSignaturesAsTwoHeaderLines_UpperCaseHex_AndSpaces()
    {
        var body = """{"order":"A-1"}"""u8.ToArray();
        var ts = Now.ToUnixTimeSeconds();
        var timestamp = ts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var lines = new Microsoft.Extensions.Primitives.StringValues([WebhookSignature.Compute("whsec_old", ts, body), WebhookSignature.Compute("whsec_new", ts, body)]);
        var upper = "v1=" + WebhookSignature.Compute("whsec_new", ts, body)[3..].ToUpperInvariant();

        Assert.True(WebhookSignature.Verify("whsec_new", timestamp, lines, body, Now, WebhookSignature.DefaultTolerance).IsValid);
        Assert.True(WebhookSignature.Verify("whsec_old", timestamp, lines, body, Now, WebhookSignature.DefaultTolerance).IsValid);
        Assert.True(WebhookSignature.Verify("whsec_new", " " + timestamp + " ", "  " + upper + " ,  v1=zz", body, Now, WebhookSignature.DefaultTolerance).IsValid);
        Assert.Equal(WebhookVerificationStatus.SignatureMismatch, WebhookSignature.Verify("whsec_other", timestamp, lines, body, Now, WebhookSignature.DefaultTolerance).Status);
    }

    // Class 8 (held). A provider's "no such recipient" (WhatsApp's undeliverable number, FCM's UNREGISTERED 404) is a
    // permanent failure of that channel: the next channel takes the message in the same dispatch, and the refused
    // channel is not asked again (RocketChat/Rocket.Chat#32440, rails/action_push_native#141: a dead token retried
    // "forever").
    private sealed class ByChannel : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.WhatsApp
                ? new WhatsAppMessage { MessageId = request.Key, To = address, Text = "Your order shipped" }
                : new SmsMessage { MessageId = request.Key, To = address, Body = "Your order shipped" });
    }

    [Fact]
    public async Task AProvidersNoSuchRecipient_OnTheFirstChannel_FallsBackToTheNextChannelAtOnce_AndIsNotAskedAgain()
    {
        var whatsAppHandler = new Scripted(() => Answer(HttpStatusCode.BadRequest, """{"error":{"code":131026,"message":"Message undeliverable"}}"""u8.ToArray()));
        var smsHandler = new Scripted(() => Answer(HttpStatusCode.Created, """{"sid":"SM-u12"}"""u8.ToArray()));
        var whatsApp = new HttpProviderTransport(new HttpClient(whatsAppHandler), new HttpProviderOptions { Channel = ChannelNames.WhatsApp, Endpoint = new Uri("https://wa.example/messages") });
        var sms = new HttpProviderTransport(new HttpClient(smsHandler), new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("https://sms.example/messages"), MessageIdPath = "sid" });
        await using var host = OmnichannelTestHost.Create(
            delivery: new DeliverySetup { Renderer = new ByChannel() }.AddTransport("wa", whatsApp).AddTransport("sms", sms));
        var ann = Identifier.Phone("+34600111222");
        await host.TrackAsync("user.signed_up", [ann]);

        var send = await host.Client.SendAsync(ann, new MessageRequest { Key = "u12-fallback", Channels = [ChannelNames.WhatsApp, ChannelNames.Sms], TemplateId = "shipped", Class = MessageClass.Transactional });
        Assert.Equal(SendStatus.Queued, send.Status);
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromHours(1));
        await host.Engine.RunDispatchAsync();

        Assert.Single(whatsAppHandler.Requests);
        Assert.Single(smsHandler.Requests);
        var sent = Assert.Single((await host.ProfileAsync(ann)).Timeline, t => t.Type == EventTypes.MessageSent);
        Assert.Equal(ChannelNames.Sms, sent.Channel);
    }

    // Class 9 (held). A transport must not keep one HttpClient for its life: the factory rotates handlers so DNS changes
    // are seen (dotnet/corefx#11224 "Singleton HttpClient doesn't respect DNS changes", dotnet/runtime#74173).
    private sealed class CountingFactory(HttpMessageHandler handler) : IHttpClientFactory
    {
        public List<string> Names { get; } = [];

        public HttpClient CreateClient(string name)
        {
            lock (Names)
            {
                Names.Add(name);
            }

            return new HttpClient(handler, disposeHandler: false);
        }
    }

    [Fact]
    public async Task EverySend_TakesAFreshClientFromTheFactory_SoHandlerRotationReachesIt()
    {
        var factory = new CountingFactory(new Scripted(() => Answer(HttpStatusCode.OK, """{"id":"SM-1"}"""u8.ToArray())));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
        services.AddOmnichannel()
            .AddHttpProviderTransport("acme-sms", o => { o.Channel = ChannelNames.Sms; o.Endpoint = new Uri("https://sms.example/v1/messages"); })
            .AddWebhookTransport(o => o.Secret = "whsec_u12");
        services.AddSingleton<IHttpClientFactory>(factory);
        await using var provider = services.BuildServiceProvider(validateScopes: true);
        var transports = provider.GetServices<ChannelTransportRegistration>().ToDictionary(r => r.Name, r => r.Factory(provider));

        await transports["acme-sms"].SendAsync(Sms("u12-f1"));
        await transports["acme-sms"].SendAsync(Sms("u12-f2"));
        await transports["webhook"].SendAsync(Hook("u12-f3") with { Url = new Uri("https://partner.example/hooks") });

        Assert.Equal(
            [HttpProviderTransport.GetHttpClientName("acme-sms"), HttpProviderTransport.GetHttpClientName("acme-sms"), WebhookTransport.GetHttpClientName("webhook")],
            factory.Names);
    }

    // Class 10 (held). Personal data and secrets in a failure's reason, which is logged, traced and put on the timeline:
    // a provider's error that names the recipient (18F/identity-idp#1540 "stop logging full phone numbers in
    // exceptions"), and a webhook URL that carries its secret in the path or query (Slack-style hook URLs) when the
    // connection fails.
    [Fact]
    public async Task AProvidersErrorNamingTheRecipient_LeavesNeitherNumberNorAddressInTheReason()
    {
        var handler = new Scripted(() => Answer(HttpStatusCode.BadRequest, """{"message":"The 'To' number +34 600 111 222 is not valid for ann.lee@example.com"}"""u8.ToArray()));

        var result = await Provider(handler, new FakeTimeProvider(Now)).SendAsync(Sms("u12-pii"));

        Assert.Equal(DeliveryStatus.PermanentFailure, result.Status);
        Assert.DoesNotContain("600 111 222", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("ann.lee", result.Reason, StringComparison.Ordinal);
        Assert.Contains("[phone]", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWebhookUrlWithASecretInItsPathAndQuery_IsNotInTheReasonWhenTheConnectionFails()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var http = new HttpClient();
        var transport = new WebhookTransport(http, new WebhookTransportOptions { Secret = "whsec_u12" }, new FakeTimeProvider(Now));

        var result = await transport.SendAsync(Hook("u12-secret-url") with { Url = new Uri($"http://127.0.0.1:{port}/services/T000/B000/XyZsecretPath?token=qTokenSecret") });

        Assert.Equal(DeliveryStatus.TransientFailure, result.Status);
        Assert.DoesNotContain("XyZsecretPath", result.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("qTokenSecret", result.Reason, StringComparison.Ordinal);
    }
}
