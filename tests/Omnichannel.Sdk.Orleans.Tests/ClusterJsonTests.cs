using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Orleans.Implementation;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Orleans.Tests;

/// <summary>
/// Everything that crosses a grain call as JSON comes back whole, with every member set: a type the reader cannot build
/// (no constructor it may use) fails here, not in a customer's cluster.
/// </summary>
public sealed class ClusterJsonTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 4, 5, 6, 7, TimeSpan.FromHours(1));

    public static TheoryData<object> Crossing() =>
    [
        new CustomerEvent
        {
            Id = "e1",
            Type = EventTypes.OrderPlaced,
            Timestamp = At,
            Identifiers = [Identifier.CustomerId("c1"), Identifier.Email("ann@example.com")],
            Channel = ChannelNames.Store,
            Context = new EventContext { DeviceType = "tablet", Os = "iOS", Locale = "en-GB", TimeZone = "Europe/London", Country = "GB", City = "Leeds", Campaign = "spring", UtmSource = "news", UtmMedium = "email" },
            Properties = JsonData.From(new { order_id = "o1", total = 12.5m }),
            Traits = JsonData.From(new { name = "Ann" }),
        },
        new TrackResult
        {
            EventId = "e1",
            Status = TrackStatus.Rejected,
            ProfileId = "p1",
            Errors = [new ValidationError("$.identifiers[0].value", "empty")],
            FailureReason = "why",
            SegmentChanges = [new SegmentChange("vip", true, At)],
            NotLinked = [new ValidationError("identifiers[1]", "limit")],
            Ignored = [new ValidationError("context.timeZone", "is a UTC offset")],
            IsTransient = true,
        },
        new SendResult("k1", SendStatus.Queued, ChannelNames.Sms, At, "held for quiet hours"),
        new MessageRequest { Key = "k1", Channels = [ChannelNames.Email, ChannelNames.Sms], TemplateId = "t1", Topic = "offers", Class = MessageClass.Transactional, Data = new JsonObject { ["voucher"] = "V1" } },
        new SegmentPreview("vip", 3, 10, At),
        JourneyStatistics.From(
            "cart",
            new Dictionary<string, long>
            {
                ["entered"] = 10, ["completed"] = 4, ["exited"] = 3, ["control"] = 1, ["converted"] = 2, ["entry_refused"] = 5,
                ["exited:unsubscribed"] = 3, ["channel:email:converted"] = 2, ["variant:a:entered"] = 6, ["variant:a:converted"] = 2,
                ["step:wait:entered"] = 9, ["step:wait:timed_out"] = 1, ["step:send:sent"] = 7, ["step:send:skipped"] = 1,
                ["step:send:channel:email"] = 7, ["step:split:to:left"] = 4, ["step:goal:matched"] = 2, ["step:goal:converted"] = 2,
            },
            active: 3),
    ];

    [Theory]
    [MemberData(nameof(Crossing))]
    public void EachTypeThatCrossesAGrainCall_ComesBackWithEveryMember(object value)
    {
        var json = ClusterJson.Write(value);
        var back = typeof(ClusterJson).GetMethod(nameof(ClusterJson.Read))!.MakeGenericMethod(value.GetType()).Invoke(null, [json])!;

        Assert.Equal(json, ClusterJson.Write(back));
    }

    [Fact]
    public void DefinitionErrors_ComeBackWithTheirPaths()
    {
        DefinitionError[] errors = [new("$.rule.segment", "unknown segment 'nope'"), new("$.id", "required")];
        Assert.Equal(errors, ClusterJson.Read<DefinitionError[]>(ClusterJson.Write(errors)));
    }
}
