using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Omnichannel.Sdk.Delivery;
using Xunit;

namespace Omnichannel.Sdk.Channels.Http.Tests;

/// <summary>
/// Left by the review of audits U33 and U34: the provider's error text was still cut at a fixed length here (500 UTF-16
/// units), so an emoji or an accented letter written with a combining mark at the cut was split. A lone surrogate in a
/// failure reason is text strict JSON readers refuse, and the reason goes into the <c>message.failed</c> event and her
/// timeline.
/// </summary>
public sealed class LeftAlone32HttpTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 9, 0, 0, TimeSpan.Zero);

    private sealed class Refusing(string message) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.BadRequest)
            {
                Content = new StringContent($$"""{"message":"{{message}}"}""", Encoding.UTF8, "application/json"),
            });
    }

    [Theory]
    [InlineData(491, "😀")] // a surrogate pair across the cut
    [InlineData(495, "e\u0301")] // a letter and its combining mark across the cut
    public async Task AProvidersLongErrorText_IsCutOnWholeCharacters(int before, string character)
    {
        var message = new string('x', before) + string.Concat(Enumerable.Repeat(character, 20));
        var transport = new HttpProviderTransport(
            new HttpClient(new Refusing(message)),
            new HttpProviderOptions { Channel = ChannelNames.Sms, Endpoint = new Uri("https://sms.example/v1/messages") },
            new FakeTimeProvider(Now));

        var result = await transport.SendAsync(new SmsMessage { MessageId = "m1", To = "+34600111222", Body = "Your order shipped" });

        var reason = Assert.IsType<string>(result.Reason);
        Assert.EndsWith("…", reason, StringComparison.Ordinal);
        var kept = reason[..^1];
        Assert.True(kept.Length <= 500 + "HTTP 400 Bad Request: ".Length, $"{kept.Length} units kept");
        Assert.True(kept.EnumerateRunes().All(r => r != Rune.ReplacementChar), "a lone surrogate in the reason");
        Assert.False(char.IsHighSurrogate(kept[^1]), "the cut split a surrogate pair");
        Assert.False(kept.EndsWith('e'), "the cut separated the letter from its mark");
    }
}
