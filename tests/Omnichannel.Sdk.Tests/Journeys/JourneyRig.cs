using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Journeys;

/// <summary>A test host with journeys loaded, a template for every template id, and recording transports per channel.</summary>
internal sealed class JourneyRig : IAsyncDisposable
{
    private JourneyRig(OmnichannelTestHost host, RecordingTransport recorder, IAsyncDisposable? ownedStore)
    {
        Host = host;
        Recorder = recorder;
        _ownedStore = ownedStore;
    }

    private readonly IAsyncDisposable? _ownedStore;

    /// <summary>
    /// The store a rig uses when a test names none: the in-memory store, unless a durable store's test assembly (which
    /// compiles these scenarios too) sets a factory, so the same scenarios run with identical instants on every store.
    /// </summary>
    public static Func<IOmnichannelStore>? DefaultStore { get; set; }

    public OmnichannelTestHost Host { get; }

    public OmnichannelEngine Engine => Host.Engine;

    /// <summary>Records every channel's messages in one log.</summary>
    public RecordingTransport Recorder { get; }

    public static JourneyRig Create(IEnumerable<JourneyDefinition> journeys, IEnumerable<SegmentDefinition>? segments = null, Action<OmnichannelOptions>? configure = null, DateTimeOffset? start = null, IOmnichannelStore? store = null)
    {
        var recorder = new RecordingTransport(ChannelNames.Email);
        var owned = store is null && DefaultStore is { } factory ? factory() : null;
        store ??= owned;
        var journeyList = journeys.ToList();
        var templateIds = journeyList.SelectMany(j => j.Steps).OfType<SendStep>().Select(s => s.TemplateId).Distinct();
        var loaded = TemplateRenderer.Load(templateIds.Select(id => new TemplateDocument(id,
        [
            TemplateVariant.Email(id, "<p>" + id + " {{ journey.step }} {{ journey.variant }}</p>", id),
            TemplateVariant.Sms(id + " {{ journey.trigger.cart_id }}{{ journey.trigger.order_id }}"),
            TemplateVariant.Push(id, id + " {{ journey.trigger.order_id }}"),
        ])));
        DeliverySetup Delivery()
        {
            var delivery = new DeliverySetup();
            delivery.AddTransport("recording", recorder);
            foreach (var channel in new[] { ChannelNames.Sms, ChannelNames.Push, ChannelNames.WhatsApp, ChannelNames.Webhook, ChannelNames.Host })
            {
                delivery.AddTransport("recording", recorder.ForChannel(channel));
            }

            delivery.Renderer = new TemplateMessageRenderer(loaded.Renderer!, "Kitty <hello@kitty.example>");
            return delivery;
        }

        void Configure(OmnichannelOptions o)
        {
            foreach (var s in segments ?? [])
            {
                o.Segments.Add(s);
            }

            foreach (var j in journeyList)
            {
                o.Journeys.Add(j);
            }

            o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore;
            configure?.Invoke(o);
        }

        var host = OmnichannelTestHost.Create(Configure, start, store, Delivery());
        var rig = new JourneyRig(host, recorder, owned as IAsyncDisposable);
        if (Cluster is { } startCluster)
        {
            // The same options as the test host builds, so that every silo's engine behaves as the rig's own.
            OmnichannelOptions Options()
            {
                var o = new OmnichannelOptions { Partitions = 4 };
                o.Delivery.Retry!.Delay = TimeSpan.Zero;
                Configure(o);
                o.Privacy.HashKey ??= OmnichannelTestHost.TestHashKey;
                return o;
            }

            var parts = new ClusterParts(host, Options, (o, time) => new OmnichannelEngine(o, host.Store, time, delivery: Delivery()));
            rig._cluster = Task.Run(() => startCluster(parts)).GetAwaiter().GetResult();
        }

        return rig;
    }

    /// <summary>
    /// Set by a test assembly that runs these scenarios through a cluster (the Orleans tests): starts one for a rig and
    /// returns what stops it. Silos build their engines with <see cref="ClusterParts.Engine"/>, on the rig's store.
    /// </summary>
    public static Func<ClusterParts, Task<IAsyncDisposable>>? Cluster { get; set; }

    private IAsyncDisposable? _cluster;

    /// <summary>What a cluster needs to stand in for a rig's engine: its host, its options and an engine factory.</summary>
    public sealed record ClusterParts(OmnichannelTestHost Host, Func<OmnichannelOptions> Options, Func<OmnichannelOptions, TimeProvider, OmnichannelEngine> Engine);

    public static JourneyDefinition Parse(string json) =>
        JourneyJson.Parse(json).Value ?? throw new InvalidOperationException(string.Join("; ", JourneyJson.Parse(json).Errors));

    /// <summary>Moves the clock (running wake-ups on the way), then dispatches the outbox.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        await Host.AdvanceAsync(by);
        await Engine.RunDispatchAsync();
    }

    public async Task AdvanceToAsync(DateTimeOffset instant)
    {
        await Host.AdvanceToAsync(instant);
        await Engine.RunDispatchAsync();
    }

    public async Task<TrackResult> TrackAsync(string type, IReadOnlyList<Identifier> ids, object? properties = null, object? traits = null, string channel = ChannelNames.Web, EventContext? context = null)
    {
        var r = await Host.TrackAsync(type, ids, properties, channel, traits, context);
        Assert.Equal(TrackStatus.Accepted, r.Status);
        await Engine.RunDispatchAsync();
        return r;
    }

    /// <summary>The template ids sent so far, in order, as "channel:template".</summary>
    public IReadOnlyList<string> Sent() => [.. Recorder.Messages.Select(m => m.Channel + ":" + Describe(m))];

    private static string Describe(OutboundMessage m) => m switch
    {
        EmailMessage e => e.Subject,
        SmsMessage s => s.Body.Split(' ')[0],
        PushMessage p => p.Title,
        WebhookMessage w => w.EventType,
        HostEventMessage h => h.EventType,
        _ => m.GetType().Name,
    };

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        await Host.DisposeAsync();
        if (_ownedStore is not null)
        {
            await _ownedStore.DisposeAsync();
        }
    }

    /// <summary>
    /// A birthday card: a date trigger on <paramref name="trait"/> at 09:00 her time, one transactional email
    /// (<c>birthday-card</c>).
    /// </summary>
    public static JourneyDefinition BirthdayCard(bool annual = true, string trait = "birthday") => Parse($$"""
        {"id": "bday", "version": 1, "name": "Birthday", "trigger": {"type": "date", "trait": "{{trait}}", "offset": "PT0S", "localTime": "09:00", "annual": {{(annual ? "true" : "false")}}},
         "steps": [{"id": "card", "type": "send", "channels": ["email"], "template": "birthday-card", "class": "transactional"}]}
        """);

    /// <summary>Appends what is sent, one line each with the clock's time, while the clock moves to <paramref name="until"/> by <paramref name="step"/>.</summary>
    public async Task<List<string>> SentWhileAdvancingAsync(List<string> log, DateTimeOffset until, TimeSpan step)
    {
        while (Host.Time.GetUtcNow() < until)
        {
            await SentDuringAsync(log, () => AdvanceAsync(step));
        }

        return log;
    }

    /// <summary>Appends what <paramref name="action"/> sends (an event tracked sends at once), one line each with the clock's time.</summary>
    public async Task<List<string>> SentDuringAsync(List<string> log, Func<Task> action)
    {
        var before = Sent().Count;
        await action();
        foreach (var m in Sent().Skip(before))
        {
            log.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{m} {Host.Time.GetUtcNow():yyyy-MM-ddTHH:mm}Z"));
        }

        return log;
    }
}
