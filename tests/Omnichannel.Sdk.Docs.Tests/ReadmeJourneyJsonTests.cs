using Omnichannel.Sdk.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Docs.Tests;

/// <summary>The package README's journey in JSON: it parses, and it is the journey of the C# example beside it.</summary>
public sealed class ReadmeJourneyJsonTests
{
    [Fact]
    public void TheAbandonedCartJson_Parses_AndIsTheCSharpExamplesJourney()
    {
        var json = Assert.Single(JsonBlocks("src/Omnichannel.Sdk/README.md"), b => b.Contains("\"steps\"", StringComparison.Ordinal));
        var parsed = JourneyJson.Parse(json);
        Assert.True(parsed.Value is not null, string.Join('\n', parsed.Errors.Select(e => e.ToString())));

        // As the README's C# example defines it.
        var csharp = Journey.Define("abandoned-cart", "Abandoned cart")
            .TriggeredBy(t => t.Event(EventTypes.CartItemAdded))
            .CorrelatedBy("cart_id")
            .ExitOn(EventTypes.OrderPlaced)
            .Goal(EventTypes.OrderPlaced, within: "P7D")
            .Steps(s => s
                .Delay("wait-1h", "PT1H")
                .Send("reminder", [ChannelNames.Push, ChannelNames.Email], "cart-reminder", topic: "cart")
                .Delay("wait-23h", "PT23H")
                .Send("sms", [ChannelNames.Sms], "cart-sms", topic: "cart"))
            .Build();

        Assert.Equal(JourneyJson.Serialize(csharp), JourneyJson.Serialize(parsed.Value));
        Assert.Equal(EventTrigger.DefaultMaxAge, ((EventTrigger)parsed.Value.Trigger).MaxAge);
    }

    [Fact]
    public void TheWeeklyDigestExample_IsRunAsATest_AndThePreferenceCentreIsAWebSnippet()
    {
        var snippets = MarkdownSnippets.Read("src/Omnichannel.Sdk/README.md");

        // ExampleTest_Passes runs every block with facts: the digest's loop, segment trigger and her limit stay checked.
        var digest = Assert.Single(snippets, s => s.Code.Contains("\"weekly-digest\"", StringComparison.Ordinal));
        Assert.True(SnippetCompiler.HasFacts(digest), $"{digest} lost its [Fact]");
        Assert.Contains("\"next\": \"digest\"", digest.Code, StringComparison.Ordinal);
        Assert.Contains("own limit of 2 per P7D reached", digest.Code, StringComparison.Ordinal);

        var form = Assert.Single(snippets, s => s.Code.Contains("EventTypes.PreferencesUpdated", StringComparison.Ordinal) && s.Code.Contains("MapPost", StringComparison.Ordinal));
        Assert.Equal("web", form.Kind);
    }

    private static IEnumerable<string> JsonBlocks(string relativePath)
    {
        var lines = File.ReadAllLines(Path.Combine(MarkdownSnippets.RepositoryRoot, relativePath));
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() == "```json")
            {
                var end = Array.FindIndex(lines, i + 1, l => l.Trim() == "```");
                yield return string.Join('\n', lines[(i + 1)..end]);
                i = end;
            }
        }
    }
}
