using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Review of audit U36 (thirty-second session). U36 made a repeated report of an outcome start no journey again; but a
/// click on another link of the message, or an unsubscribe from another topic through it, is a new action of hers, not a
/// provider's webhook sent again. Public API only, on the fake clock.
/// </summary>
public sealed class ReviewU36Tests
{
    private static readonly Identifier Ann = Identifier.CustomerId("ann");
    private static readonly Identifier AnnMail = Identifier.Email("ann@example.com");
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private const string Welcome = """
        {"id": "welcome", "version": 1, "name": "Welcome", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "hello", "type": "send", "channels": ["email"], "template": "hello", "class": "transactional"}]}
        """;

    private static JourneyRig Rig(string follower) => JourneyRig.Create([JourneyRig.Parse(Welcome), JourneyRig.Parse(follower)], start: Start);

    private static async Task<string> SignUp(JourneyRig rig)
    {
        await rig.TrackAsync("user.signed_up", [Ann, AnnMail]);
        return Assert.Single(rig.Recorder.Messages).MessageId!;
    }

    private static async Task Report(JourneyRig rig, string type, string key, object extra)
    {
        var props = new Dictionary<string, object> { ["channel"] = "email", ["message_id"] = key };
        foreach (var p in extra.GetType().GetProperties())
        {
            props[p.Name] = p.GetValue(extra)!;
        }

        await rig.Host.TrackAsync(type, [Ann], props, at: rig.Host.Time.GetUtcNow());
        await rig.Engine.RunDispatchAsync();
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task AJourneyOnAClickOfOneLink_Starts_WhenSheClickedAnotherLinkOfTheMessageFirst()
    {
        // Braze/Iterable-style "clicked this link" triggers: the link is in the click's url (EventTypes.MessageClicked).
        await using var rig = Rig("""
            {"id": "sale", "version": 1, "name": "Sale", "trigger": {"type": "event", "event": "message.clicked",
              "where": [{"property": "url", "op": "contains", "value": "/winter-sale"}]},
             "steps": [{"id": "more", "type": "send", "channels": ["email"], "template": "more", "class": "transactional"}]}
            """);
        var key = await SignUp(rig);
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/account" });
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/winter-sale" });
        Assert.Equal(["email:hello", "email:more"], rig.Sent());
    }

    [Fact]
    public async Task AClickReportedAgain_StartsNoJourneyAgain_EvenAfterAClickOnAnotherLink()
    {
        // sendgrid/sendgrid-nodejs#1435: a retried webhook carries a new event id; the click is the same one.
        await using var rig = Rig("""
            {"id": "clicked", "version": 1, "name": "Clicked", "trigger": {"type": "event", "event": "message.clicked"},
             "steps": [{"id": "more", "type": "send", "channels": ["email"], "template": "more", "class": "transactional"}]}
            """);
        var key = await SignUp(rig);
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/winter-sale" });
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/account" });
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/winter-sale" });
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/account" });
        Assert.Equal(["email:hello", "email:more", "email:more"], rig.Sent());
        var clicked = await rig.Engine.GetMeasurementsAsync(new MeasurementQuery { JourneyId = "welcome", MetricPrefix = MeasurementMetrics.Clicked });
        Assert.Equal(1, clicked.Where(r => r.Key.Metric == MeasurementMetrics.Clicked).Sum(r => r.Count)); // unique clicks: once per message
    }

    [Fact]
    public async Task AJourneyOnAnUnsubscribeFromOneTopic_Starts_WhenSheLeftAnotherTopicThroughTheMessageFirst()
    {
        // A preference centre reached from one message: she leaves "offers", then "newsletter".
        await using var rig = Rig("""
            {"id": "survey", "version": 1, "name": "Survey", "trigger": {"type": "event", "event": "message.unsubscribed",
              "where": [{"property": "topic", "op": "eq", "value": "newsletter"}]},
             "steps": [{"id": "why", "type": "send", "channels": ["email"], "template": "why", "class": "transactional"}]}
            """);
        var key = await SignUp(rig);
        await Report(rig, EventTypes.MessageUnsubscribed, key, new { topic = "offers" });
        await Report(rig, EventTypes.MessageUnsubscribed, key, new { topic = "newsletter" });
        await Report(rig, EventTypes.MessageUnsubscribed, key, new { topic = "newsletter" }); // the webhook again
        Assert.Equal(["email:hello", "email:why"], rig.Sent());
    }

    [Fact]
    public void TheRememberedLinksAndTopics_SurviveTheStoredDocument_InOrder_AndAMergeUnitesThem()
    {
        var a = new Touch { Key = "m1", Channel = "email", Reported = ["c:b", "u:a"] };
        var b = new Touch { Key = "m1", Channel = "email", Reported = ["c:a", "c:b"] };
        Assert.Equal(["c:a", "c:b", "u:a"], Touch.Union(a.Reported, b.Reported));
        Assert.Same(a.Reported, Touch.Union(a.Reported, ["u:a"])); // nothing new: the same list, the same stored element

        var p = new CustomerProfile("p1", Start);
        p.Touches.Add(a);
        var back = ProfileSerializer.Deserialize(ProfileSerializer.Serialize(p), 1);
        Assert.Equal(["c:b", "u:a"], Assert.Single(back.Touches).Reported);

        var full = new Touch { Key = "m2", Reported = [.. Enumerable.Range(0, Touch.MaxReported).Select(i => $"c:{i:D3}")] };
        Assert.Same(full.Reported, full.WithReported("c:new")); // bounded: a 33rd link is not remembered
    }

    [Fact]
    public async Task ClicksReportedUnderHerCookieAndUnderHer_AreRememberedThroughTheMerge()
    {
        // A click's webhook names the message and the cookie that opened the link (link a); another names her (link b); she
        // logs in, the cookie merges into her; the provider sends both clicks again under her id: no start. Link c starts.
        await using var rig = Rig("""
            {"id": "clicked", "version": 1, "name": "Clicked", "trigger": {"type": "event", "event": "message.clicked"},
             "steps": [{"id": "more", "type": "send", "channels": ["email"], "template": "more", "class": "transactional"}]}
            """);
        var key = await SignUp(rig);
        var cookie = Identifier.AnonymousId("cookie-1");
        await rig.Host.TrackAsync(EventTypes.MessageClicked, [cookie], new { channel = "email", message_id = key, url = "https://shop.example/a" }, at: rig.Host.Time.GetUtcNow());
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/b" });
        await rig.Host.TrackAsync("user.logged_in", [cookie, Ann], at: rig.Host.Time.GetUtcNow());
        await rig.Engine.RunDispatchAsync();
        await rig.AdvanceAsync(TimeSpan.FromMinutes(10));
        var starts = rig.Sent().Count(s => s == "email:more");
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/a" });
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/b" });
        Assert.Equal(starts, rig.Sent().Count(s => s == "email:more"));
        await Report(rig, EventTypes.MessageClicked, key, new { url = "https://shop.example/c" });
        Assert.Equal(starts + 1, rig.Sent().Count(s => s == "email:more"));
        Assert.Equal(3, (await rig.Host.ProfileAsync(Ann)).Touches.Single(t => t.Key == key).Reported!.Count);
    }

    [Property(MaxTest = 30)]
    public Property ClicksInAnyOrderAndRepeats_StartTheClickJourneyOncePerDistinctLink() => Prop.ForAll(
        Gen.ListOf(Gen.Elements("a", "b", "c", "A")).Select(l => l.ToArray()).Where(l => l.Length is > 0 and <= 8).ToArbitrary(),
        links =>
        {
            // "A" and "a" are two links: a URL's path is case-sensitive (RFC 3986, 6.2.2.1 lowers only scheme and host).
            var rig = Rig("""
                {"id": "clicked", "version": 1, "name": "Clicked", "trigger": {"type": "event", "event": "message.clicked"},
                 "steps": [{"id": "more", "type": "send", "channels": ["email"], "template": "more", "class": "transactional"}]}
                """);
            try
            {
                var key = SignUp(rig).GetAwaiter().GetResult();
                foreach (var link in links)
                {
                    Report(rig, EventTypes.MessageClicked, key, new { url = $"https://shop.example/{link}" }).GetAwaiter().GetResult();
                }

                return (rig.Sent().Count(s => s == "email:more") == links.Distinct(StringComparer.Ordinal).Count())
                    .Label($"links {string.Join(",", links)}: {string.Join(",", rig.Sent())}");
            }
            finally
            {
                rig.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        });
}
