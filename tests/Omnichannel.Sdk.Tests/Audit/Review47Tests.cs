using System.Text.Json.Nodes;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of the forty-seventh session's changes, through the public API: an erased person's event through a link made
/// after her erasure (merges, batches, a second unknown identifier), and the ordering rules of audit U76 on definitions
/// a shop had working (journey conditions, ISO 8601 dates in every form, numbers of every size, codes written with
/// leading zeros).
/// </summary>
public sealed class Review47Tests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 9, 0, 0, TimeSpan.Zero);

    // ---- ff66a1c: her event id through a link made after her erasure ----

    // His profile holding the cookie (linked after her erasure) is merged into his phone's: the link keeps its mark, so
    // her order retried with a later stamp, and her page view queued before the erasure, stay out of the merged profile.
    [Fact]
    public async Task HerOrderRetriedThroughTheSharedCookie_AfterHisProfilesMerge_StaysOut()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var cookie = Identifier.AnonymousId("shared-browser-m");
        var her = Identifier.Email("ann-merge@example.com");
        var him = Identifier.Email("bob-merge@example.com");
        var hisPhone = Identifier.Phone("+14155550190");
        var order = await ErasedDeviceLinkedAgainTests.HerOrderThroughTheCookie_ThenErasedAsync(host, cookie, her);
        await host.TrackAsync("app.opened", [hisPhone], channel: ChannelNames.Sms);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.logged_in", [cookie, him]))).Status);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.updated", [hisPhone, him]))).Status);

        var retried = await host.Client.TrackAsync(order with { Timestamp = host.Time.GetUtcNow() + TimeSpan.FromMinutes(3) });
        var queued = await host.Client.TrackAsync(host.Event("page.viewed", [cookie]) with { Timestamp = Start + TimeSpan.FromMinutes(30) });

        Assert.Equal(TrackStatus.Erased, retried.Status);
        Assert.Equal(TrackStatus.Erased, queued.Status);
        var bob = await host.Client.GetProfileAsync(hisPhone);
        Assert.NotNull(bob);
        Assert.True(bob.Has(cookie) && bob.Has(him));
        Assert.Equal(0, bob.Statistics.OrderCount);
    }

    // One batch: his login through the cookie, her order retried with a later stamp, her page view queued before the
    // erasure, his own order. The batch runs the events of one profile together (the run's short path): hers stay out.
    [Fact]
    public async Task HerEventsInABatchAfterHisLogin_ThroughTheSharedCookie_StayOut()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var cookie = Identifier.AnonymousId("shared-browser-b");
        var her = Identifier.Email("ann-batch@example.com");
        var him = Identifier.Email("bob-batch@example.com");
        var order = await ErasedDeviceLinkedAgainTests.HerOrderThroughTheCookie_ThenErasedAsync(host, cookie, her);

        var now = host.Time.GetUtcNow();
        var results = await host.Client.TrackBatchAsync(
        [
            host.Event("user.logged_in", [cookie, him]),
            order with { Timestamp = now + TimeSpan.FromMinutes(3) },
            host.Event("page.viewed", [cookie]) with { Timestamp = Start + TimeSpan.FromMinutes(30) },
            host.Event(EventTypes.OrderPlaced, [cookie], new { order_id = "o-bob", total = 9, currency = "GBP" }),
            host.Event("page.viewed", [cookie]),
        ]);

        Assert.Equal([TrackStatus.Accepted, TrackStatus.Erased, TrackStatus.Erased, TrackStatus.Accepted, TrackStatus.Accepted], results.Select(r => r.Status));
        var bob = await host.Client.GetProfileAsync(him);
        Assert.Equal(1, bob!.Statistics.OrderCount);
    }

    // Her order retried through the cookie and an identifier nobody holds (a new session id): the event id's tombstone
    // is looked up on the way that looks at unknown identifiers, and it stays out too.
    [Fact]
    public async Task HerOrderRetriedWithANewSessionId_ThroughTheSharedCookie_StaysOut()
    {
        await using var host = OmnichannelTestHost.Create(start: Start);
        var cookie = Identifier.AnonymousId("shared-browser-s");
        var her = Identifier.Email("ann-session@example.com");
        var him = Identifier.Email("bob-session@example.com");
        var order = await ErasedDeviceLinkedAgainTests.HerOrderThroughTheCookie_ThenErasedAsync(host, cookie, her);
        Assert.Equal(TrackStatus.Accepted, (await host.Client.TrackAsync(host.Event("user.logged_in", [cookie, him]))).Status);

        var retried = await host.Client.TrackAsync(order with { Timestamp = host.Time.GetUtcNow() + TimeSpan.FromMinutes(3), Identifiers = [cookie, Identifier.AnonymousId("new-session-s")] });

        Assert.Equal(TrackStatus.Erased, retried.Status);
        Assert.Equal(0, (await host.Client.GetProfileAsync(him))!.Statistics.OrderCount);
    }

    // ---- 672b4f4: a reason carried with the message, logged and put on her timeline ----

    // A transport that sets its reason with an initializer or `with` (copying an SMTP reply onto a result it made first):
    // the address was kept, and went with the hand-over, into the log and onto her timeline. The reason is scrubbed
    // however it is set.
    [Fact]
    public void AReasonSetWithAnInitializerOrWith_IsScrubbedToo()
    {
        var set = new DeliveryResult(DeliveryStatus.PermanentFailure, null, null) { Reason = "SMTP 550: 5.1.1 <ann@example.com>: rejected" };
        var copied = DeliveryResult.TransientFailure("busy") with { Reason = "mailbox ann@example.com busy, call +447700900123" };

        Assert.Equal("SMTP 550: 5.1.1 <[email]>: rejected", set.Reason);
        Assert.Equal("mailbox [email] busy, call [phone]", copied.Reason);
        Assert.Equal(DeliveryResult.PermanentFailure("SMTP 550: 5.1.1 <bob@example.com>: rejected"), set);
    }

    // ---- 96c760b: ordering rules on definitions a shop had working ----

    [Theory]
    [InlineData("""{"stat": "lastOrderAt", "op": "gt", "value": "2024-01-01T00:00:00+02:00"}""")]
    [InlineData("""{"stat": "lastOrderAt", "op": "gte", "value": "2024-01-01T00:00:00.1234567Z"}""")]
    [InlineData("""{"stat": "lastOrderAt", "op": "lt", "value": "2024-01-01T10:00:00.123456789-05:30"}""")]
    [InlineData("""{"stat": "lastOrderAt", "op": "between", "value": ["2024-01-01", "2024-02-01T00:00:00Z"]}""")]
    [InlineData("""{"trait": "signed_up", "op": "gte", "value": "2024-01-01"}""")]
    [InlineData("""{"trait": "signed_up", "op": "lt", "value": "2024-01-01T00:00:00+0200"}""")]
    [InlineData("""{"trait": "signed_up", "op": "between", "value": ["2024-01-01", "2024-12-31T23:59:59.999+01:00"]}""")]
    [InlineData("""{"event": "order.placed", "where": [{"property": "delivered_at", "op": "gte", "value": "2024-01-01"}]}""")]
    [InlineData("""{"event": "order.placed", "where": [{"property": "total", "op": "between", "value": [0.01, 79228162514264337593543950335]}]}""")]
    [InlineData("""{"event": "order.placed", "where": [{"property": "total", "op": "gt", "value": -0}]}""")]
    [InlineData("""{"event": "order.placed", "where": [{"property": "total", "op": "lte", "value": 1e-30}]}""")]
    [InlineData("""{"trait": "tier", "op": "gte", "value": "gold"}""")]
    [InlineData("""{"trait": "size", "op": "lt", "value": "1,5"}""")]
    [InlineData("""{"trait": "postcode", "op": "between", "value": ["02000", "02999"]}""")]
    [InlineData("""{"trait": "store_code", "op": "gte", "value": "007"}""")]
    public void AnOrderingRuleAShopHadWorking_StillLoads(string rule)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"s\", \"name\": \"s\", \"rule\": " + rule + "}");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
    }

    // A fixed-width code written with leading zeros (a French or US postcode, a store code) is compared as text, and two
    // texts of one width order as their numbers do: "02134" is between "02000" and "02999". Audit U76 refused the rule
    // as "a number written as text", advising "write the number 2134", which never matches the text "02134" she holds.
    [Fact]
    public async Task APostcodeRangeWithLeadingZeros_LoadsAndMatchesHerPostcode()
    {
        var parsed = SegmentJson.Parse("""{"id": "boston", "name": "Boston area", "rule": {"trait": "postcode", "op": "between", "value": ["02000", "02999"]}}""");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
        await using var host = OmnichannelTestHost.Create(o => o.Segments.Add(parsed.Value!), start: Start);
        var ann = Identifier.CustomerId("ann-zip");
        var bob = Identifier.CustomerId("bob-zip");
        await host.TrackAsync("user.updated", [ann], traits: new { postcode = "02134" });
        await host.TrackAsync("user.updated", [bob], traits: new { postcode = "10001" });

        Assert.True((await host.ProfileAsync(ann)).IsInSegment("boston"));
        Assert.False((await host.ProfileAsync(bob)).IsInSegment("boston"));
    }

    // A number written as text with no leading zero stays refused, at the operand's path ("0.5" and "0" are numbers).
    [Theory]
    [InlineData("""{"trait": "age", "op": "gt", "value": "30"}""", "$.rule.value")]
    [InlineData("""{"trait": "ratio", "op": "lt", "value": "0.5"}""", "$.rule.value")]
    [InlineData("""{"trait": "count", "op": "gte", "value": "0"}""", "$.rule.value")]
    [InlineData("""{"trait": "age", "op": "between", "value": ["18", "065"]}""", "$.rule.value[0]")]
    public void ANumberWrittenAsText_StaysRefused(string rule, string path)
    {
        var parsed = SegmentJson.Parse("{\"id\": \"s\", \"name\": \"s\", \"rule\": " + rule + "}");
        Assert.False(parsed.IsValid);
        Assert.Contains(parsed.Errors, e => e.Path == path && e.Message.Contains("characters, not numbers", StringComparison.Ordinal));
    }

    // Journey conditions (a branch on the trigger's total, a context date) read as segment rules do.
    [Fact]
    public void AJourneyBranchOnTheTriggersTotalAndAContextDate_StillLoads()
    {
        var json = Omnichannel.Sdk.Tests.Journeys.JourneyJsonTests.Definition("""
            {"id": "b", "type": "branch", "branches": [
              {"condition": {"trigger": "total", "op": "gte", "value": 50}, "next": "x"},
              {"condition": {"context": "placed_at", "op": "between", "value": ["2024-01-01", "2024-01-31T23:59:59.5+01:00"]}, "next": "x"},
              {"condition": {"all": [{"trigger": "total", "op": "lt", "value": 12345678901234567890}, {"trait": "tier", "op": "eq", "value": "30"}]}, "next": "x"}],
             "else": "x"},
            {"id": "x", "type": "exit"}
            """);
        var parsed = JourneyJson.Parse(json);
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors.Select(e => e.Path + " " + e.Message)));
    }

    // Built in C#: an instant, a date and a Guid as operands load; a number as text is refused as in JSON.
    [Fact]
    public void ConditionsBuiltInCSharp_LoadAsTheirJsonDoes()
    {
        SegmentRule[] fine =
        [
            new TraitRule("signed_up", new Condition(ConditionOperator.Gt, JsonValue.Create(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.FromHours(2))))),
            new TraitRule("signed_up", new Condition(ConditionOperator.Gte, JsonValue.Create(new DateOnly(2024, 1, 1)))),
            new TraitRule("signed_up", new Condition(ConditionOperator.Between, new JsonArray(JsonValue.Create(new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc)), JsonValue.Create("2024-02-01")))),
            new TraitRule("code", new Condition(ConditionOperator.Gt, JsonValue.Create(Guid.Empty))),
            new TraitRule("spend", new Condition(ConditionOperator.Gt, JsonValue.Create(decimal.MaxValue))),
        ];
        foreach (var rule in fine)
        {
            var errors = SegmentDefinitionValidator.Validate(new SegmentDefinition("s", "s", rule));
            Assert.True(errors.Count == 0, string.Join("; ", errors.Select(e => e.Path + " " + e.Message)));
        }

        var refused = SegmentDefinitionValidator.Validate(new SegmentDefinition("s", "s", new TraitRule("age", new Condition(ConditionOperator.Gt, JsonValue.Create("30")))));
        Assert.Contains(refused, e => e.Path == "$.rule.value");
    }
}
