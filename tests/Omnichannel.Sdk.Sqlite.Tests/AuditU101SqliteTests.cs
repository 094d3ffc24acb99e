using Microsoft.Data.Sqlite;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>
/// Audit U101 (U99's "left alone": the hand-over keys of a custom channel her document never named). Two processes share
/// one SQLite file: a LINE worker plans a message keyed on her address for her email, then her LINE id; the email worker's
/// email fails for good and hands the message over to the LINE worker (<c>{key}→line</c>). She is erased before the LINE
/// worker runs. The hand-over key, her address in it, stayed in <c>outbox_keys</c>.
/// </summary>
public sealed class AuditU101SqliteTests : IDisposable
{
    private const string Email = "ann.u101.sqlite@example.com";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMessageHandedOverToACustomChannel_AndPendingThereAtHerErasure_LeavesNoKeyOfHers(bool erasedByTheLineWorker)
    {
        var path = _folder.File();
        await using var store = await SqliteOmnichannelStore.OpenAsync(new SqliteStoreOptions { ConnectionString = path });
        var start = new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
        var emails = new FailingTransport(ChannelNames.Email);
        emails.FailPermanently("mailbox unavailable");
        var line = new RecordingTransport("line");
        static void Line(OmnichannelOptions o) => o.Identity.AddType(new IdentifierRule("line"));
        await using var byEmail = OmnichannelTestHost.Create(Line, start, store, new DeliverySetup { Renderer = new Renderer() }.AddTransport("email", emails));
        await using var byLine = OmnichannelTestHost.Create(Line, start, store, new DeliverySetup { Renderer = new Renderer() }.AddTransport("line", line));
        var ann = Identifier.CustomerId("c-ann-u101");
        await byEmail.TrackAsync("user.signed_up", [ann, Identifier.Email(Email), new Identifier("line", "U-ann-u101")]);
        var key = "welcome-" + Email;
        Assert.Equal(SendStatus.Queued, (await byLine.Client.SendAsync(ann, new MessageRequest { Key = key, Channels = [ChannelNames.Email, "line"], TemplateId = "w", Class = MessageClass.Transactional })).Status);
        await byEmail.Engine.RunDispatchAsync();
        Assert.Equal(1, emails.Attempts);
        Assert.NotNull(await store.GetNextOutboxDueAsync(["line"])); // handed over, waiting for the LINE worker
        Assert.Equal(1, await KeysLike(path, key + "\u2192line"));

        Assert.True(await (erasedByTheLineWorker ? byLine : byEmail).Client.EraseProfileAsync(ann));

        Assert.Equal(0, await KeysLike(path, key + "%"));
        Assert.False(DatabaseFileBytes.Contains(DatabaseFileBytes.Read(path), Email), "her address is still in the files");
        await byLine.Engine.RunDispatchAsync();
        Assert.Empty(line.Messages);
    }

    private static async Task<long> KeysLike(string path, string pattern)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM outbox_keys WHERE message_key LIKE $p";
        command.Parameters.AddWithValue("$p", pattern);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed class Renderer : IMessageRenderer
    {
        public ValueTask<OutboundMessage?> RenderAsync(MessageRequest request, string channel, string address, CustomerProfile profile, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<OutboundMessage?>(channel == ChannelNames.Email
                ? new EmailMessage { MessageId = request.Key, From = "shop@example.com", To = address, Subject = "Welcome", TextBody = "Hello" }
                : new InAppMessage { MessageId = request.Key, To = address, Text = "Hello" });
    }
}
