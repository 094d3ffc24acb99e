using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>First hour, again (seventeenth session): mistakes a newcomer makes, and messages that say what to do.</summary>
public sealed class AuditFirstHourSeventeenthTests
{
    [Theory]
    [InlineData("""{"id":"x","name":"X","rule":{"trait":"tier","op":"eq","value":"vip",}}""", "trailing comma at the end: remove it (a definition is strict JSON)")]
    [InlineData("""[{"id":"x","name":"X","rule":{"trait":"tier","op":"eq","value":"vip"}},]""", "trailing comma at the end: remove it (a definition is strict JSON)")]
    [InlineData("{\"id\":\"x\", // a note\n\"name\":\"X\"}", "comments are not allowed")]
    public void AJsonDefinitionThatIsNotStrictJson_SaysWhereAndWhatToRemove_NotToChangeReaderOptions(string json, string expected)
    {
        var error = Assert.Single(SegmentJson.ParseMany(json).Errors);

        Assert.Equal("$", error.Path);
        Assert.StartsWith("is not valid JSON at line ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("reader options", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Clara Martin <clara@example.com>", "it contains a space")]
    [InlineData("<clara@example.com>", "it contains '<'")]
    [InlineData("clara@example.com;", "it contains ';'")]
    [InlineData("clara@example", "the domain after '@' needs a dot")]
    [InlineData("clara@example.", "the domain after '@' needs a dot")]
    public void AnEmailThatIsNotOneBareAddress_SaysWhatIsWrongWithIt(string raw, string expected)
    {
        Assert.False(IdentifierNormalizers.Email(raw, new IdentityOptions(), out _, out var error));

        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("clara", error, StringComparison.Ordinal);   // the value is not echoed
    }

    [Fact]
    public async Task ASendOnAChannelWithoutATransport_FailsSayingToRegisterOne()
    {
        var templates = new InMemoryTemplateSource(new TemplateDocument("hello", [TemplateVariant.Sms("Hello")]));
        await using var host = OmnichannelTestHost.Create(
            services => services.AddOmnichannel(o => o.Identity.DefaultPhoneCountryCode = "44")
                .UseTemplates(templates)
                .AddJourney(Journey.Define("welcome", "Welcome")
                    .TriggeredBy(t => t.Event("user.signed_up"))
                    .Steps(s => s.Send("hello", [ChannelNames.Sms], "hello", @class: MessageClass.Transactional))
                    .Build()),
            new OmnichannelTestHostOptions { RecordTransports = false });
        var ann = Identifier.Phone("07700 900461");

        await host.TrackAsync("user.signed_up", [ann]);
        await host.AdvanceAsync(TimeSpan.Zero);

        var failed = Assert.Single((await host.ProfileAsync(ann)).Timeline, t => t.Type == EventTypes.MessageFailed);
        Assert.Contains("sms: no transport is registered for this channel (register one with AddTransport(name, \"sms\", ...))", failed.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Email")]
    [InlineData("e mail")]
    public void ATransportRegisteredUnderAChannelNameNoSendCanUse_IsRefusedAtRegistration(string channel)
    {
        var e = Assert.Throws<ArgumentException>(() => new ServiceCollection().AddOmnichannel()
            .AddTransport("console", channel, _ => new ConsoleTransport(channel)));

        Assert.Equal("channel", e.ParamName);
        Assert.Contains($"'{channel}' is not a valid channel name (expected a lower_case name such as email, sms, push", e.Message, StringComparison.Ordinal);
    }
}
