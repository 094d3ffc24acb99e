using System.Collections;
using System.Reflection;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Testing;
using Omnichannel.Sdk.Tests.Engine;
using Xunit;

namespace Omnichannel.Sdk.Tests.Trust;

/// <summary>
/// Definitions built in C# can carry a null where the JSON form cannot (a null list, a null id, a null rule), because
/// nullable annotations are only warnings. Every such null, one at a time, anywhere in rich definitions, is either
/// accepted or refused as a definition error with its path — by the validator, the JSON writer and the engine alike —
/// and never crashes them with another exception.
/// </summary>
public sealed class NullMemberTests
{
    private const string SegmentsJson = """
        [
          {"id": "no-order-90d", "name": "No order", "rule": {"lastEvent": "order.placed", "op": "moreThanAgo", "value": "P90D"}},
          {"id": "big", "name": "Big", "description": "d", "rule": {"any": [
            {"all": [{"segment": "no-order-90d"}, {"not": {"trait": "tier", "op": "eq", "value": "vip"}}]},
            {"event": "order.placed", "where": [{"property": "total", "op": "gte", "value": 10}], "count": {"op": "gte", "value": 2}, "within": "P365D"},
            {"aggregate": "sum", "event": "order.placed", "property": "total", "within": "P365D", "op": "gte", "value": 100},
            {"stat": "lifecycleStage", "op": "eq", "value": "repeatCustomer"},
            {"firstEvent": "cart.item_added", "op": "moreThanAgo", "value": "P7D"},
            {"reachable": "email"}]}}
        ]
        """;

    [Fact]
    public async Task ANullAnywhereInASegment_IsAcceptedOrRefusedWithAPath_NeverACrash()
    {
        var crashes = new List<string>();
        var parsed = SegmentJson.ParseMany(SegmentsJson);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        var segments = parsed.Value!;
        foreach (var segment in segments)
        {
            foreach (var where in NullOneAtATime(segment))
            {
                await TryAsync(crashes, where, async () =>
                {
                    if (SegmentDefinitionValidator.Validate(segment).Count == 0)
                    {
                        _ = SegmentJson.Serialize(segment);
                    }

                    await using var engine = new OmnichannelEngine(new OmnichannelOptions(), new InMemoryOmnichannelStore(), Clock());
                    await engine.UpsertSegmentAsync(segments[0]);
                    await engine.PreviewSegmentAsync(segment);
                    await (await engine.UpsertSegmentAsync(segment)).Completion;
                });
            }
        }

        Assert.True(crashes.Count == 0, string.Join("\n", crashes));
    }

    [Fact]
    public async Task ANullAnywhereInAJourney_IsAcceptedOrRefusedWithAPath_NeverACrash()
    {
        var crashes = new List<string>();
        var journey = JourneyJson.Parse(DefinitionLimitTests.EveryStepJson).Value!;
        var version = 1;
        foreach (var where in NullOneAtATime(journey))
        {
            await TryAsync(crashes, where, async () =>
            {
                if (JourneyDefinitionValidator.Validate(journey).Count == 0)
                {
                    _ = JourneyJson.Serialize(journey);
                }

                var options = new OmnichannelOptions();
                options.Segments.Add(SegmentJson.ParseMany(SegmentsJson).Value![0]);
                await using var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), Clock());
                await engine.PublishJourneyAsync(journey with { Version = ++version });
            });
        }

        Assert.True(crashes.Count == 0, string.Join("\n", crashes));
    }

    [Fact]
    public async Task ANullAnywhereInAnEventOrAMessageRequest_IsAnsweredWithTheField_NeverACrash()
    {
        var crashes = new List<string>();
        var e = new CustomerEvent
        {
            Id = "e1",
            Type = EventTypes.OrderPlaced,
            Timestamp = OmnichannelTestHost.DefaultStart,
            Identifiers = [Identifier.CustomerId("c1"), Identifier.Email("ann@example.com")],
            Channel = ChannelNames.Web,
            Context = new EventContext { Locale = "en-GB", TimeZone = "Europe/London", Country = "GB", Campaign = "spring" },
            Properties = JsonData.From(new { order_id = "o1", total = 10, currency = "GBP" }),
        };
        var request = new Omnichannel.Sdk.Delivery.MessageRequest { Key = "k1", Channels = [ChannelNames.Email], TemplateId = "t", Topic = "offers" };
        await using var engine = new OmnichannelEngine(new OmnichannelOptions(), new InMemoryOmnichannelStore(), Clock());
        await engine.TrackAsync(e with { Id = "seed" });
        var n = 0;
        foreach (var where in NullOneAtATime(e))
        {
            await TryAsync(crashes, where, async () =>
            {
                var result = await engine.TrackAsync(e with { Id = e.Id is null ? null! : $"e{++n}" });
                if (result.Status == TrackStatus.Rejected && result.Errors.Count == 0)
                {
                    crashes.Add($"{where}: rejected without naming a field");
                }
            });
        }

        foreach (var where in NullOneAtATime(request))
        {
            await TryAsync(crashes, where, async () =>
            {
                try
                {
                    await engine.SendAsync(Identifier.CustomerId("c1"), request with { Key = request.Key is null ? null! : $"k{++n}" });
                }
                catch (ArgumentException ex) when (ex.ParamName is not null)
                {
                    // A clear refusal naming the argument.
                }
            });
        }

        Assert.True(crashes.Count == 0, string.Join("\n", crashes));
    }

    [Fact]
    public async Task ANullAnywhereInTheOptions_FailsTheEngineAtStart_WithTheOption_NeverACrash()
    {
        var crashes = new List<string>();
        var options = new OmnichannelOptions();
        options.Segments.Add(SegmentJson.ParseMany(SegmentsJson).Value![0]);
        var visited = new List<string>();
        foreach (var where in NullOneAtATime(options))
        {
            visited.Add(where);
            await TryAsync(crashes, where, async () =>
            {
                try
                {
                    await using var engine = new OmnichannelEngine(options, new InMemoryOmnichannelStore(), Clock());
                    await engine.TrackAsync(new CustomerEvent { Id = "e1", Type = EventTypes.OrderPlaced, Timestamp = OmnichannelTestHost.DefaultStart, Identifiers = [Identifier.CustomerId("c1")] });
                }
                catch (Microsoft.Extensions.Options.OptionsValidationException)
                {
                    // Refused at start, naming the option.
                }
                catch (ArgumentException ex) when (ex.ParamName is not null)
                {
                }
            });
        }

        Assert.True(crashes.Count == 0, string.Join("\n", crashes));
        Assert.True(visited.Count >= 10, "too few options reached: " + string.Join(", ", visited));
    }

    private static Microsoft.Extensions.Time.Testing.FakeTimeProvider Clock() => new(OmnichannelTestHost.DefaultStart);

    private static async Task TryAsync(List<string> crashes, string where, Func<Task> run)
    {
        try
        {
            await run();
        }
        catch (DefinitionException ex)
        {
            if (ex.Errors.Count == 0 || ex.Errors.Any(e => !e.Path.StartsWith('$')))
            {
                crashes.Add($"{where}: refused without a JSON path: {ex.Message}");
            }
        }
        catch (Exception ex)
        {
            crashes.Add($"{where}: {ex.GetType().Name}: {ex.Message} at {ex.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("Omnichannel.Sdk.", StringComparison.Ordinal))?.Trim()}");
        }
    }

    /// <summary>
    /// Sets each reference-typed member (and each list element) reachable from <paramref name="root"/> to null in turn,
    /// yields while it is null, and puts the value back.
    /// </summary>
    private static IEnumerable<string> NullOneAtATime(object root)
    {
        var targets = new List<(string Where, Action SetNull, Action Restore)>();
        Collect(root, "$", targets, new HashSet<object>(ReferenceEqualityComparer.Instance));
        foreach (var (where, setNull, restore) in targets)
        {
            setNull();
            try
            {
                yield return where;
            }
            finally
            {
                restore();
            }
        }
    }

    private static void Collect(object node, string path, List<(string, Action, Action)> targets, HashSet<object> seen)
    {
        if (!seen.Add(node))
        {
            return;
        }

        if (node is IList list)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i] is { } item && !item.GetType().IsValueType)
                {
                    var index = i;
                    if (!list.IsReadOnly || list is Array)
                    {
                        targets.Add(($"{path}[{i}]", () => list[index] = null, () => list[index] = item));
                    }

                    Collect(item, $"{path}[{i}]", targets, seen);
                }
            }

            return;
        }

        if (node.GetType().Namespace?.StartsWith("Omnichannel.Sdk", StringComparison.Ordinal) != true)
        {
            return;
        }

        foreach (var property in node.GetType().GetProperties(BindingFlags.Instance | BindingFlags.Public))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod?.IsPublic != true || property.PropertyType.IsValueType || property.GetValue(node) is not { } value)
            {
                continue;
            }

            if (property.SetMethod?.IsPublic == true)
            {
                targets.Add(($"{path}.{property.Name}", () => property.SetValue(node, null), () => property.SetValue(node, value)));
            }

            if (value is not string)
            {
                Collect(value, $"{path}.{property.Name}", targets, seen);
            }
        }
    }
}
