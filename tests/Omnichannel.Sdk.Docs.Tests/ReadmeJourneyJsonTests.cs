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
