using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Delivery;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Review of the forty-fifth session's changes (channel-filtered outbox claims): see the design notes.</summary>
public sealed class ReviewFortyFifthTests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");

    // 22:00 UTC: a marketing message is held for her quiet hours (21:00-08:00, UTC by default) until 08:00.
    private static readonly DateTimeOffset Evening = new(2026, 3, 1, 22, 0, 0, TimeSpan.Zero);

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Sms
                ? new SmsMessage { MessageId = "x", To = address, Body = request.TemplateId }
                : new EmailMessage { MessageId = "x", From = "shop@kitty.example", To = address, Subject = request.TemplateId, TextBody = "Hi" });
    }

    /// <summary>
    /// A store written before channel claims (its ClaimOutboxAsync and GetNextOutboxDueAsync with channels are the
    /// interface's defaults, which ignore them) under an email-only engine claims every entry, as before channel claims:
    /// a message on [sms, email] and a held one on [email, sms] left with the text only when due (her email consent
    /// withdrawn) fail here ("sms: no transport"). The engine logged event 234 ("left in the shared outbox") for the
    /// first, which it then claimed and failed; and handing the second over to a new entry on sms, which this store
    /// gives straight back to the same claimer, never ended the dispatch run.
    /// </summary>
    [Fact]
    public async Task AStoreKeepingTheDefaultClaims_FailsAMessageLeftWithAnotherChannel_WithoutHandingItOverForEver()
    {
        var email = new RecordingTransport(ChannelNames.Email);
        var store = new FlakyStore(new InMemoryOmnichannelStore());
        var lines = new List<string>();
        await using var host = OmnichannelTestHost.Create(
            services =>
            {
                services.AddLogging(b => b.AddProvider(new ListLogger(lines)).SetMinimumLevel(LogLevel.Information));
                services.AddSingleton<IMessageRenderer>(new Renderer());
                services.AddOmnichannel(o => o.Privacy.HashKey = OmnichannelTestHost.TestHashKey)
                    .UseStore(_ => store)
                    .AddTransport("email", ChannelNames.Email, _ => email);
            },
            new OmnichannelTestHostOptions { Start = Evening, KeepStore = true, RecordTransports = false });
        await host.TrackAsync("user.signed_up", [Ann, Identifier.Email("ann@example.com"), Identifier.Phone("+14155550126")]);
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = true });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "sms", granted = true });
        var queued = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo", Channels = [ChannelNames.Sms, ChannelNames.Email], TemplateId = "promo" });
        Assert.Equal(SendStatus.Queued, queued.Status);
        var held = await host.Client.SendAsync(Ann, new MessageRequest { Key = "promo-2", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "promo" });
        await host.TrackAsync(EventTypes.ConsentChanged, [Ann], new { channel = "email", granted = false });

        // A bound on real time, not a sleep: the run either ends or hands the message over without end.
        await host.AdvanceToAsync(held.DueAt!.Value + TimeSpan.FromMinutes(1)).WaitAsync(TimeSpan.FromSeconds(30));
        await host.Engine.RunDispatchAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // Both were claimed here (this store claims every entry) and failed on sms, as before channel claims; none is
        // said to be left to other processes (event 234), which on this store never happens.
        Assert.Empty(email.Messages);
        var failed = (await host.ProfileAsync(Ann)).Timeline.Where(t => t.Type == EventTypes.MessageFailed).ToList();
        Assert.Equal(2, failed.Count);
        Assert.All(failed, f => Assert.Contains("sms: no transport is registered", f.Summary, StringComparison.Ordinal));
        Assert.Null(await store.GetNextOutboxDueAsync());
        lock (lines)
        {
            Assert.DoesNotContain(lines, l => l.Contains("left in the shared outbox", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The clock text of a future timestamp's refusal (first hour 13) is the same in every culture the host runs in: it was
    /// formatted in the current culture, so a th-TH server (Buddhist calendar) said "now 2569-01-05T09:00:00Z" and an
    /// fi-FI one "09.00.00" (its time separator), beside the client's ISO timestamp it is to be compared with.
    /// </summary>
    [Theory]
    [InlineData("th-TH")]
    [InlineData("fi-FI")]
    [InlineData("ar-SA")]
    public async Task AFutureTimestampsRefusal_NamesTheClockInIsoForm_InEveryCulture(string culture)
    {
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo(culture);
        try
        {
            await using var host = OmnichannelTestHost.Create();
            var result = await host.Client.TrackAsync(host.Event("page.viewed", [Identifier.AnonymousId("a-1")], at: host.Time.GetUtcNow().AddMinutes(6)));

            Assert.Equal(TrackStatus.Rejected, result.Status);
            Assert.Contains("(its TimeProvider, now 2026-01-05T09:00:00Z)", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }
}
