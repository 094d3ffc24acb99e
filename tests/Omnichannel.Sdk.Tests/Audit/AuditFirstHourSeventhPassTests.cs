using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>First hour, seventh pass (thirty-eighth session): a definition passed as its file name, not its text.</summary>
public sealed class AuditFirstHourSeventhPassTests
{
    private const string Hint = "reads like a file name, not a JSON definition: pass the file's content (File.ReadAllText(path)), not its path";

    [Theory]
    [InlineData("journeys/shipping.json")]
    [InlineData("  C:\\shop\\journeys.json ")]
    [InlineData("shipping-update")]
    public void AJourneyGivenAsAFileName_SaysToPassTheFilesContent(string text)
    {
        var one = Assert.Single(JourneyJson.Parse(text).Errors);
        var many = Assert.Single(JourneyJson.ParseMany(text).Errors);

        Assert.Equal("$", one.Path);
        Assert.StartsWith("is not valid JSON at line 1", one.Message, StringComparison.Ordinal);
        Assert.Contains(Hint, one.Message, StringComparison.Ordinal);
        Assert.Contains(Hint, many.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddJourneysFromJson_AndAddSegmentsFromJson_GivenAPath_SayToReadTheFile()
    {
        var builder = new ServiceCollection().AddOmnichannel();

        var journeys = Assert.Throws<JourneyDefinitionException>(() => builder.AddJourneysFromJson("journeys/shipping.json"));
        var segments = Assert.Throws<SegmentDefinitionException>(() => builder.AddSegmentsFromJson("segments.json"));

        Assert.Contains(Hint, journeys.Message, StringComparison.Ordinal);
        Assert.Contains(Hint, segments.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"id\": \"x\",")]                       // broken JSON text: the parser's reason alone
    [InlineData("[{\"id\": \"x\"},]")]
    [InlineData("\"journeys/shipping.json")]            // an unterminated string is JSON text gone wrong, not a path
    [InlineData("{\"id\": \"x\"}\n{\"id\": \"y\"}")]
    public void BrokenJsonText_GetsNoFileNameHint(string text)
    {
        var error = Assert.Single(JourneyJson.ParseMany(text).Errors);

        Assert.StartsWith("is not valid JSON", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("file name", error.Message, StringComparison.Ordinal);
    }
}
