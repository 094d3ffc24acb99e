using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>Audit U28: a custom channel (line) on SQLite, with a restart between planning and dispatch.</summary>
public sealed class AuditU28SqliteTests : IDisposable
{
    private static readonly Identifier Known = Identifier.CustomerId("c-100");
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task ALineMessageHeldForTheMorning_SurvivesARestart_AndLeavesInItsShape()
    {
        var night = new DateTimeOffset(2026, 3, 2, 22, 0, 0, TimeSpan.Zero);
        var options = new SqliteStoreOptions { ConnectionString = "Data Source=" + _folder.File() };
        await using (var store = await SqliteOmnichannelStore.OpenAsync(options))
        {
            await using var host = Host(store, night, new RecordingTransport("line"), new RecordingTransport(ChannelNames.Email));
            await host.TrackAsync("user.signed_up", [Known, Identifier.Email("ann@example.com"), new Identifier("line", "U4af4980629")]);
            await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "line", granted = true });
            var sent = await host.Client.SendAsync(Known, new MessageRequest { Key = "p1", Channels = ["line", "email"], TemplateId = "p1", Class = MessageClass.Marketing });
            Assert.Equal((SendStatus.Queued, "line"), (sent.Status, sent.Channel));
            Assert.True(sent.DueAt > night);
        }

        await using (var store = await SqliteOmnichannelStore.OpenAsync(options))
        {
            var line = new RecordingTransport("line");
            var email = new RecordingTransport(ChannelNames.Email);
            await using var host = Host(store, night.AddHours(11), line, email);
            await host.Engine.RunDispatchAsync();

            var message = Assert.IsType<InAppMessage>(Assert.Single(line.Messages));
            Assert.Equal(("U4af4980629", "rendered at 09:00"), (message.To, message.Text));
            Assert.Empty(email.Messages);
            Assert.Contains((await host.ProfileAsync(Known)).Timeline, t => t.Type == EventTypes.MessageSent && t.Channel == "line");
        }
    }

    private static OmnichannelTestHost Host(IOmnichannelStore store, DateTimeOffset start, RecordingTransport line, RecordingTransport email) =>
        OmnichannelTestHost.Create(
            o =>
            {
                o.Identity.AddType(new IdentifierRule("line"));
                o.Delivery.MarketingQuietHours = QuietHoursAction.Defer;
            },
            start,
            store,
            new DeliverySetup { Renderer = new Renderer() }.AddTransport("line", line).AddTransport("email", email));

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == "line"
                ? new InAppMessage { MessageId = "x", To = address, Text = "rendered at " + now.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture) }
                : new EmailMessage { MessageId = "x", From = "shop@example.com", To = address, Subject = "Hi", TextBody = "Hi" });
    }
}
