using System.Text.Json;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;
using FsCheck.Xunit;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audit U82 (machine opens and scanner clicks): rules that already read a provider's machine flag, hostile
/// flag values, and the definitions the engine reports. Public API and the test kit's fake clock only.
/// </summary>
public sealed class ReviewU82Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("c-ann-r82");
    private static readonly Identifier AnnMail = Identifier.Email("ann.r82@example.com");
    private static readonly DateTimeOffset Start = new(2026, 4, 6, 9, 0, 0, TimeSpan.Zero);

    private static SegmentDefinition Json(string id, string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"" + id + "\", \"name\": \"" + id + "\", \"rule\": " + rule + "}");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        return parsed.Value!;
    }

    private static async Task<long> Metric(OmnichannelTestHost host, string metric) =>
        (await host.Engine.GetMeasurementsAsync(new MeasurementQuery { MetricPrefix = metric })).Where(r => r.Key.Metric == metric).Sum(r => r.Count);

    private static async Task<bool> InAsync(OmnichannelTestHost host, string segmentId) =>
        (await host.ProfileAsync(Ann)).Segments.Any(m => m.SegmentId == segmentId);

    private static async Task SignUpAsync(OmnichannelTestHost host) =>
        await host.TrackAsync(host.Event("user.signed_up", [Ann, AnnMail], at: Start) with { Id = "signup" });

    // ---- A rule that already reads a machine's flag -------------------------------------------------------------------
    // A host who filtered Apple MPP opens before U82 wrote `sg_machine_open eq true` ("opened by Apple's proxy"); the
    // README names `machine_reason` as what the event gains. Such a rule asks about machines: the implicit
    // `machine ne true` made it empty (a segment lost everyone at the upgrade), a journey on it never started, and a
    // conversion on it was never reached.
    [Theory]
    [InlineData("sg_machine_open", "true", "sg_machine_open", true)]
    [InlineData("machine_reason", "\"sendgrid\"", "sg_machine_open", true)]
    [InlineData("machine_open", "\"true\"", "machine_open", "true")]
    [InlineData("is_suspected_bot_click", "true", "is_suspected_bot_click", true)]
    public async Task ARuleOnAProvidersMachineFlagOrTheReason_FindsTheMachinesReports(string property, string value, string flag, object flagValue)
    {
        var type = flag == "is_suspected_bot_click" ? EventTypes.MessageClicked : EventTypes.MessageOpened;
        var where = "{\"property\": \"" + property + "\", \"op\": \"eq\", \"value\": " + value + "}";
        var condition = new PropertyCondition(property, new Condition(ConditionOperator.Eq, System.Text.Json.Nodes.JsonNode.Parse(value)));
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Json("by-flag", "{\"event\": \"" + type + "\", \"within\": \"P30D\", \"where\": [" + where + "]}"));
            o.Segments.Add(Json("by-flag-count", "{\"aggregate\": \"count\", \"event\": \"" + type + "\", \"op\": \"gte\", \"value\": 1, \"where\": [" + where + "]}"));
            o.Segments.Add(Json("by-flag-last", "{\"lastEvent\": \"" + type + "\", \"op\": \"withinLast\", \"value\": \"P1D\", \"where\": [" + where + "]}"));
            o.Journeys.Add(Journey.Define("on-flag", "On a machine's report")
                .TriggeredBy(t => t.Event(type, condition))
                .Steps(s => s.Delay("wait", "PT1H"))
                .Build());
            o.Measurement.Conversions.Add(new ConversionDefinition("machine-report", type) { Where = [condition] });
        }, start: Start);
        await SignUpAsync(host);
        await host.TrackAsync(type, [AnnMail], new Dictionary<string, object> { ["channel"] = ChannelNames.Email, ["message_id"] = "m1", [flag] = flagValue }, channel: "server");

        Assert.True(await InAsync(host, "by-flag"));
        Assert.True(await InAsync(host, "by-flag-count"));
        Assert.True(await InAsync(host, "by-flag-last"));
        Assert.Equal(1, (await host.Client.GetJourneyStatisticsAsync("on-flag")).Entered);
        Assert.Equal(1, await Metric(host, MeasurementMetrics.Conversion("machine-report")));
        Assert.Equal(1, (await host.Client.PreviewSegmentAsync(Json("by-flag-preview", "{\"event\": \"" + type + "\", \"where\": [" + where + "]}"))).Matching);
    }

    // ---- `machine` named with false -----------------------------------------------------------------------------------
    // The README reads `machine: false` as a person's report, and her ordinary open carries no `machine` at all (it is
    // applied as it came). "Opened, machine eq false" is her opens, not only those a host stamped false; "machine ne false"
    // is the machines'. A machine's open is in neither "her" rule.
    [Theory]
    [InlineData("eq", "false", false, true)]
    [InlineData("eq", "false", true, false)]
    [InlineData("ne", "false", false, false)]
    [InlineData("ne", "false", true, true)]
    [InlineData("in", "[false]", false, true)]
    [InlineData("in", "[false]", true, false)]
    [InlineData("notIn", "[false]", false, false)]
    [InlineData("notIn", "[false]", true, true)]
    [InlineData("ne", "true", false, true)]
    [InlineData("ne", "true", true, false)]
    [InlineData("eq", "true", true, true)]
    [InlineData("eq", "true", false, false)]
    public async Task ARuleOnMachine_ReadsHerUnflaggedOpen_AsNotAMachines(string op, string value, bool machine, bool member)
    {
        var where = "[{\"property\": \"machine\", \"op\": \"" + op + "\", \"value\": " + value + "}]";
        var condition = SegmentJson.Parse("{\"id\": \"x\", \"name\": \"x\", \"rule\": {\"event\": \"message.opened\", \"where\": " + where + "}}").Value!.Rule is EventRule { Where: [var c] } ? c : throw new InvalidOperationException();
        await using var host = OmnichannelTestHost.Create(o =>
        {
            o.Segments.Add(Json("rule", "{\"event\": \"message.opened\", \"within\": \"P30D\", \"where\": " + where + "}"));
            o.Journeys.Add(Journey.Define("on-rule", "On the rule's opens")
                .TriggeredBy(t => t.Event(EventTypes.MessageOpened, condition))
                .Steps(s => s.Delay("wait", "PT1H"))
                .Build());
            o.Measurement.Conversions.Add(new ConversionDefinition("rule-open", EventTypes.MessageOpened) { Where = [condition] });
        }, start: Start);
        await SignUpAsync(host);
        object open = machine
            ? new { channel = ChannelNames.Email, message_id = "m9", sg_machine_open = true }
            : new { channel = ChannelNames.Email, message_id = "m9" };
        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], open, channel: "server");

        Assert.Equal(member, await InAsync(host, "rule"));
        Assert.Equal(member ? 1 : 0, (await host.Client.GetJourneyStatisticsAsync("on-rule")).Entered);
        Assert.Equal(member ? 1 : 0, await Metric(host, MeasurementMetrics.Conversion("rule-open")));
        Assert.Equal(member ? 1 : 0, (await host.Client.PreviewSegmentAsync(Json("rule-preview", "{\"event\": \"message.opened\", \"where\": " + where + "}"))).Matching);
    }

    // ---- Live equals from scratch, with machines' reports ----------------------------------------------------------------
    // For every mix of her opens and clicks and machines' (each flag), and every rule shape that reads them (count, sum-free
    // count aggregate, first/last occurrence, "did not", nested any/not, `machine` eq/ne/in with true and false), the
    // memberships kept live as the reports arrive equal those a back-fill computes from her history afterwards.
    private static readonly string[] Rules =
    [
        """{"event": "message.opened", "within": "P30D", "count": {"op": "gte", "value": 2}}""",
        """{"not": {"event": "message.clicked", "within": "P14D"}}""",
        """{"aggregate": "count", "event": "message.clicked", "op": "gte", "value": 1}""",
        """{"lastEvent": "message.opened", "op": "moreThanAgo", "value": "P7D"}""",
        """{"firstEvent": "message.clicked", "op": "withinLast", "value": "P20D"}""",
        """{"any": [{"not": {"event": "message.opened", "within": "P10D"}}, {"all": [{"event": "message.clicked"}]}]}""",
        """{"event": "message.opened", "where": [{"property": "machine", "op": "eq", "value": false}], "within": "P30D"}""",
        """{"event": "message.opened", "where": [{"property": "machine", "op": "in", "value": [true]}]}""",
        """{"event": "message.clicked", "where": [{"property": "machine", "op": "ne", "value": false}]}""",
        """{"event": "message.opened", "where": [{"property": "sg_machine_open", "op": "eq", "value": true}]}""",
    ];

    [Property(MaxTest = 12)]
    public bool MachinesReports_LiveMembershipsEqualABackfillsFromScratch(int seed)
    {
        return Run().GetAwaiter().GetResult();

        async Task<bool> Run()
        {
            var rng = new Random(seed);
            await using var host = OmnichannelTestHost.Create(o =>
            {
                for (var i = 0; i < Rules.Length; i++)
                {
                    o.Segments.Add(Json($"live-{i}", Rules[i]));
                }
            }, start: Start);
            await SignUpAsync(host);
            var reports = Enumerable.Range(0, 1 + rng.Next(8))
                .Select(i => (Id: $"r-{i}", At: Start.AddHours(1 + rng.Next(30 * 24)), Click: rng.Next(2) == 0, Kind: rng.Next(6)))
                .OrderBy(r => r.At).ToList();
            foreach (var (id, at, click, kind) in reports)
            {
                await host.AdvanceToAsync(at);
                var props = new Dictionary<string, object> { ["channel"] = ChannelNames.Email, ["message_id"] = $"m{rng.Next(3)}" };
                switch (kind)
                {
                    case 1: props["sg_machine_open"] = true; break;
                    case 2: props[click ? "is_suspected_bot_click" : "machine_open"] = click ? true : "true"; break;
                    case 3: props["client-info"] = new Dictionary<string, object> { ["bot"] = "apple" }; break;
                    case 4: props["machine"] = true; break;
                    case 5: props["machine"] = false; break;
                }

                await host.TrackAsync(host.Event(click ? EventTypes.MessageClicked : EventTypes.MessageOpened, [AnnMail], props, channel: "server", at: at) with { Id = id });
            }

            await host.AdvanceToAsync(Start.AddDays(35));
            for (var i = 0; i < Rules.Length; i++)
            {
                await (await host.Client.UpsertSegmentAsync(Json($"scratch-{i}", Rules[i]))).Completion;
            }

            var p = await host.ProfileAsync(Ann);
            return Enumerable.Range(0, Rules.Length).All(i => p.Segments.Any(m => m.SegmentId == $"live-{i}") == p.Segments.Any(m => m.SegmentId == $"scratch-{i}"));
        }
    }

    // ---- Hostile flag values: her report is never dropped, and only a documented flag marks it ---------------------------
    // A flag that is not true (a number, null, "false", an object where a string is due) says nothing: her open counts and
    // stays on her timeline. `machine` as a number is no word either, and the event is still accepted.
    [Theory]
    [InlineData("""{"channel": "email", "message_id": "m2", "sg_machine_open": 1}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "sg_machine_open": null}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "sg_machine_open": "false"}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "machine_open": false}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "client-info": "bot"}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "client-info": {"bot": ""}}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "client-info": {"bot": true}}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "machine": 1}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "machine": "yes"}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "machine": false, "sg_machine_open": true}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "machine": "1", "deep": {"a": {"b": {"c": [1, {"d": [true]}]}}}}""")]
    [InlineData("""{"channel": "email", "message_id": "m2", "machine": {"true": true}, "sg_machine_open": "no"}""")]
    public async Task AFlagThatIsNotTrue_LeavesHerOpenCountedAndOnHerTimeline(string properties)
    {
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(Json("opened", """{"event": "message.opened", "within": "P30D"}""")), start: Start);
        await SignUpAsync(host);
        using var doc = JsonDocument.Parse(properties);
        await host.TrackAsync(EventTypes.MessageOpened, [AnnMail], doc.RootElement.Clone(), channel: "server");

        Assert.Equal(1, await Metric(host, MeasurementMetrics.Opened));
        Assert.True(await InAsync(host, "opened"));
        var entry = Assert.Single((await host.ProfileAsync(Ann)).Timeline, t => t.Type == EventTypes.MessageOpened);
        Assert.DoesNotContain("machine", entry.Summary ?? string.Empty, StringComparison.Ordinal);
    }
}
