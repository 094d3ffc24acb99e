using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;

namespace Omnichannel.Sdk.Testing;

/// <summary>
/// A transport for tests that accepts every message and records it, so a test can read what was sent:
/// <see cref="Messages"/>, <see cref="Sent{TMessage}"/>, <see cref="SentTo"/>, <see cref="DuplicateMessageIds"/>.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Every send is recorded, resends included, so a test can prove that nothing was sent twice.</para>
/// <para>One recorder can serve several channels: <see cref="ForChannel"/> gives a transport for another channel that
/// records into the same log.</para>
/// <para>With a <c>filePath</c>, each accepted message is also appended to that file as one JSON line, and
/// <see cref="SendAsync"/> returns <see cref="DeliveryResult.Accepted"/> only after the line is appended and flushed to
/// disk. A recorder created later on the same file (a restarted process) first loads what was recorded before, so a
/// crash test can count messages across restarts. A line torn by a crash mid-write was never acknowledged; it is
/// dropped when the file is loaded.</para>
/// </remarks>
public sealed class RecordingTransport : IChannelTransport
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private static readonly Dictionary<string, Type> KnownTypes = new(StringComparer.Ordinal)
    {
        ["email"] = typeof(EmailMessage),
        ["sms"] = typeof(SmsMessage),
        ["push"] = typeof(PushMessage),
        ["whatsapp"] = typeof(WhatsAppMessage),
        ["webhook"] = typeof(WebhookMessage),
        ["in_app"] = typeof(InAppMessage),
        ["host"] = typeof(HostEventMessage),
    };

    private readonly Log _log;

    /// <summary>Creates a recorder for <paramref name="channel"/>.</summary>
    /// <param name="channel">The channel it is registered for; defaults to <see cref="ChannelNames.Email"/>.</param>
    /// <param name="filePath">
    /// A JSON-lines file to append each accepted message to, and to load earlier messages from when it exists;
    /// <see langword="null"/> to keep messages in memory only.
    /// </param>
    public RecordingTransport(string channel = ChannelNames.Email, string? filePath = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(channel);
        Channel = channel;
        _log = new Log(filePath is null ? null : Path.GetFullPath(filePath));
    }

    private RecordingTransport(string channel, Log log)
    {
        Channel = channel;
        _log = log;
    }

    /// <inheritdoc />
    public string Channel { get; }

    /// <summary>The file messages are persisted to, if any.</summary>
    public string? FilePath => _log.FilePath;

    /// <summary>Every recorded message, oldest first (a snapshot), on every channel of this recorder.</summary>
    public IReadOnlyList<OutboundMessage> Messages => _log.Snapshot().Select(r => r.Message).ToList();

    /// <summary>Every recorded send with the channel it went through, oldest first (a snapshot).</summary>
    public IReadOnlyList<RecordedMessage> Records => _log.Snapshot();

    /// <summary>Message ids recorded more than once: empty when nothing was sent twice.</summary>
    public IReadOnlyList<string> DuplicateMessageIds =>
        _log.Snapshot().GroupBy(r => r.Message.MessageId, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();

    /// <summary>A transport for <paramref name="channel"/> that records into this recorder's log (and file).</summary>
    /// <param name="channel">The other channel.</param>
    public RecordingTransport ForChannel(string channel)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(channel);
        return new RecordingTransport(channel, _log);
    }

    /// <summary>The recorded messages sent through <paramref name="channel"/>, oldest first.</summary>
    /// <param name="channel">The channel the transport was registered for.</param>
    public IReadOnlyList<OutboundMessage> MessagesOn(string channel) =>
        _log.Snapshot().Where(r => r.Channel == channel).Select(r => r.Message).ToList();

    /// <summary>The recorded messages of one shape, oldest first: <c>Sent&lt;EmailMessage&gt;()</c>.</summary>
    /// <typeparam name="TMessage">The message shape.</typeparam>
    public IReadOnlyList<TMessage> Sent<TMessage>()
        where TMessage : OutboundMessage => _log.Snapshot().Select(r => r.Message).OfType<TMessage>().ToList();

    /// <summary>
    /// The recorded messages addressed to <paramref name="address"/> (email address, phone number, in-app id, device
    /// token or webhook URL), oldest first. Email addresses compare without case, so <c>"Ann &lt;ann@x.example&gt;"</c>
    /// is found by <c>ann@x.example</c> too.
    /// </summary>
    /// <param name="address">The recipient.</param>
    public IReadOnlyList<OutboundMessage> SentTo(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return _log.Snapshot().Select(r => r.Message).Where(m => IsAddressedTo(m, address)).ToList();
    }

    /// <summary>Forgets every recorded message, and empties the file if there is one.</summary>
    public void Clear() => _log.Clear();

    /// <summary>Records the message (appending it to the file first, if any) and accepts it under its message id.</summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Checked before recording.</param>
    public ValueTask<DeliveryResult> SendAsync(OutboundMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        _log.Append(new RecordedMessage(Channel, message));
        return ValueTask.FromResult(DeliveryResult.Accepted("recorded:" + message.MessageId));
    }

    private static bool IsAddressedTo(OutboundMessage message, string address) => message switch
    {
        EmailMessage e => EmailMatches(e.To, address),
        SmsMessage s => s.To == address,
        WhatsAppMessage w => w.To == address,
        InAppMessage i => i.To == address,
        PushMessage p => p.DeviceTokens.Contains(address),
        WebhookMessage h => h.Url?.ToString() == address || h.Url?.OriginalString == address,
        _ => false,
    };

    private static bool EmailMatches(string to, string address)
    {
        if (string.Equals(to, address, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        var open = to.LastIndexOf('<');
        var close = to.LastIndexOf('>');
        return open >= 0 && close > open && string.Equals(to[(open + 1)..close].Trim(), address, StringComparison.OrdinalIgnoreCase);
    }

    private static string ToLine(RecordedMessage record)
    {
        var type = record.Message.GetType();
        var key = KnownTypes.FirstOrDefault(k => k.Value == type).Key ?? type.AssemblyQualifiedName!;
        var line = new JsonObject
        {
            ["channel"] = record.Channel,
            ["type"] = key,
            ["message"] = JsonSerializer.SerializeToNode(record.Message, type, JsonOptions),
        };
        return line.ToJsonString();
    }

    private static RecordedMessage FromLine(string line)
    {
        var node = JsonNode.Parse(line)!.AsObject();
        var key = node["type"]!.GetValue<string>();
        var type = KnownTypes.GetValueOrDefault(key) ?? Type.GetType(key, throwOnError: true)!;
        var message = (OutboundMessage)node["message"].Deserialize(type, JsonOptions)!;
        return new RecordedMessage(node["channel"]!.GetValue<string>(), message);
    }

    /// <summary>The log shared by a recorder and its <see cref="ForChannel"/> views.</summary>
    private sealed class Log
    {
        private readonly Lock _gate = new();
        private readonly List<RecordedMessage> _records = [];

        public Log(string? filePath)
        {
            FilePath = filePath;
            if (filePath is not null && File.Exists(filePath))
            {
                Load(filePath);
            }
        }

        public string? FilePath { get; }

        public IReadOnlyList<RecordedMessage> Snapshot()
        {
            lock (_gate)
            {
                return [.. _records];
            }
        }

        public void Append(RecordedMessage record)
        {
            lock (_gate)
            {
                if (FilePath is not null)
                {
                    // Written and flushed to disk before the send is acknowledged: an accepted message is never lost.
                    using var stream = new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.Read);
                    stream.Write(Encoding.UTF8.GetBytes(ToLine(record) + "\n"));
                    stream.Flush(flushToDisk: true);
                }

                _records.Add(record);
            }
        }

        public void Clear()
        {
            lock (_gate)
            {
                _records.Clear();
                if (FilePath is not null && File.Exists(FilePath))
                {
                    File.WriteAllBytes(FilePath, []);
                }
            }
        }

        private void Load(string filePath)
        {
            var bytes = File.ReadAllBytes(filePath);
            var complete = Array.LastIndexOf(bytes, (byte)'\n') + 1;
            if (complete < bytes.Length)
            {
                // A crash mid-write left a torn last line; it was never acknowledged. Cut it so the next line starts clean.
                using var stream = new FileStream(filePath, FileMode.Open, FileAccess.Write, FileShare.Read);
                stream.SetLength(complete);
                stream.Flush(flushToDisk: true);
            }

            var text = Encoding.UTF8.GetString(bytes, 0, complete);
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                _records.Add(FromLine(line));
            }
        }
    }
}

/// <summary>One send recorded by a <see cref="RecordingTransport"/>.</summary>
/// <param name="Channel">The channel of the transport it went through.</param>
/// <param name="Message">The message.</param>
public sealed record RecordedMessage(string Channel, OutboundMessage Message);
