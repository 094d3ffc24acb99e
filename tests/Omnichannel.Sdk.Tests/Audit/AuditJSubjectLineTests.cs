using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Templates;
using Xunit;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>Audit J: an email subject is one header line, whatever the data printed into it holds.</summary>
public sealed class AuditJSubjectLineTests
{
    [Theory]
    [InlineData("Clara\r\nBcc: eve@evil.example")]
    [InlineData("Clara\nBcc: eve@evil.example")]
    [InlineData("Clara\rBcc: eve@evil.example")]
    [InlineData("Clara\u2028Bcc: eve@evil.example")]
    [InlineData("Clara\u0085Bcc: eve@evil.example")]
    public void ALineBreakInTheData_IsFoldedOutOfTheSubject(string firstName)
    {
        var renderer = Renderer(Single("t", TemplateVariant.Email("Hi {{ profile.first_name }}, your cart", "<p>Hi</p>")));

        var subject = renderer.Render("t", ChannelNames.Email, Context(Clara().WithTrait("first_name", firstName))).GetValueOrThrow().Subject;

        Assert.Equal("Hi Clara Bcc: eve@evil.example, your cart", subject);
    }

    [Fact]
    public void ALineBreakInTheSubjectsOwnSource_IsFoldedToo()
    {
        var renderer = Renderer(Single("t", TemplateVariant.Email("Hi {{ profile.first_name }},\n  your cart", "<p>Hi</p>")));

        Assert.Equal("Hi Clara, your cart", renderer.Render("t", ChannelNames.Email, Context()).GetValueOrThrow().Subject);
    }

    [Fact]
    public async Task AProductNameWithALineBreak_StillGoesOutThroughTheFileTransport()
    {
        // System.Net.Mail refuses a subject with CR or LF (ArgumentException): the message failed for good.
        var renderer = new TemplateMessageRenderer(
            Renderer(Single("t", TemplateVariant.Email("{{ journey.product }} is back", "<p>{{ journey.product }}</p>"))), "shop@kitty.example");
        var request = new MessageRequest
        {
            Key = "k1",
            Channels = [ChannelNames.Email],
            TemplateId = "t",
            Data = new System.Text.Json.Nodes.JsonObject { ["product"] = "Tower XL\nin grey" },
        };
        var message = await renderer.RenderAsync(request, ChannelNames.Email, "clara@example.com", Clara(), Start);
        var directory = Path.Combine(Path.GetTempPath(), "auditj-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = await new FileTransport(ChannelNames.Email, directory).SendAsync(message!);

            Assert.Equal(DeliveryStatus.Accepted, result.Status);
            Assert.Equal("Tower XL in grey is back", ((EmailMessage)message!).Subject);
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
