using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Xunit;

namespace Omnichannel.Sdk.Tests;

/// <summary>
/// Two engines on one in-memory store, as a web server beside a worker: <see cref="Planner"/> plans texts and hands none
/// over (no transport, on a store it shares), <see cref="Sender"/> hands them over to <see cref="Sms"/> and records them.
/// Each keeps hot copies of what it commits, so the planner's copy of a profile can be older than the stored one.
/// </summary>
internal sealed class PlannerAndSender : IAsyncDisposable
{
    private readonly DateTimeOffset _at;

    private PlannerAndSender(OmnichannelTestHost planner, OmnichannelTestHost sender, RecordingTransport sms, DateTimeOffset at)
    {
        Planner = planner;
        Sender = sender;
        Sms = sms;
        _at = at;
    }

    public OmnichannelTestHost Planner { get; }

    public OmnichannelTestHost Sender { get; }

    public RecordingTransport Sms { get; }

    /// <summary>Both engines at <paramref name="start"/>; the planner with <paramref name="plannerPartitions"/> and, when <paramref name="runs"/>, batched runs.</summary>
    public static PlannerAndSender Create(DateTimeOffset start, int plannerPartitions = 1, bool runs = false)
    {
        var store = new InMemoryOmnichannelStore();
        var sms = new RecordingTransport(ChannelNames.Sms);
        var planner = OmnichannelTestHost.Create(o => o.Partitions = plannerPartitions, start: start, store: new Engine.FlakyStore(store) { Runs = runs }, delivery: new DeliverySetup { Renderer = new SmsRenderer() });
        var sender = OmnichannelTestHost.Create(o => o.Partitions = 1, start: start, store: store, delivery: new DeliverySetup { Renderer = new SmsRenderer() }.AddTransport(ChannelNames.Sms, sms));
        return new(planner, sender, sms, start.AddMinutes(-10));
    }

    /// <summary>An event dated <paramref name="minute"/> minutes after ten minutes before the start.</summary>
    public CustomerEvent Event(string id, string type, Identifier[] ids, object? properties, int minute, string channel = ChannelNames.Web) => new()
    {
        Id = id,
        Type = type,
        Timestamp = _at.AddMinutes(minute),
        Identifiers = ids,
        Channel = channel,
        Properties = properties is null ? default : JsonData.From(properties),
    };

    /// <summary>Tracks <see cref="Event"/> on <paramref name="host"/> and asserts it was accepted.</summary>
    public async Task TrackAsync(OmnichannelTestHost host, string id, string type, Identifier[] ids, object? properties, int minute, string channel = ChannelNames.Web) =>
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(Event(id, type, ids, properties, minute, channel))).Status);

    public async ValueTask DisposeAsync()
    {
        await Planner.DisposeAsync();
        await Sender.DisposeAsync();
    }
}
