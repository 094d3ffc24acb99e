using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Storage;
using Omnichannel.Sdk.Templates;
using static Omnichannel.Sdk.Tests.Templates.TemplateTestData;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U10: bug classes from public reports, round 10 (message content, templates and headers). Each test names the
/// reports its class comes from; docs/design-notes.md, "Audit U10", lists what held and what was fixed.
/// </summary>
public sealed class AuditU10Tests
{
    private static readonly Identifier Known = Identifier.CustomerId("c-u10");
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");
    private const string HashKey = "u10-key-0123456789abcdef0123456789abcdef";

    // ---- 1. Truncation never splits a character (a UTF-16 surrogate pair) ----

    // Humanizr/Humanizer#1573, langfuse/langfuse#16172, apache/lucene#15899: a cut by UTF-16 code units left the first
    // half of an emoji, which providers print as "?" or U+FFFD and strict JSON parsers refuse. Liquid's truncate, and
    // slice on a string, count code units.
    [Theory]
    [InlineData("{{ profile.first_name | truncate: 5 }}", "Hi 😀😀", "Hi...")]
    [InlineData("{{ profile.first_name | truncate: 7 }}", "Hi 😀😀 there", "Hi ...")]
    [InlineData("{{ profile.first_name | truncate: 8 }}", "Hi 😀😀 there", "Hi 😀...")]
    [InlineData("{{ profile.first_name | truncate: 4, '' }}", "Hi 😀😀", "Hi ")]
    [InlineData("{{ profile.first_name | slice: 0, 4 }}", "Hi 😀😀", "Hi ")]
    [InlineData("{{ profile.first_name | slice: 4, 2 }}", "Hi 😀😀", "")]
    [InlineData("{{ profile.first_name | slice: 3, 2 }}", "Hi 😀😀", "😀")]
    [InlineData("{{ profile.first_name | slice: 4 }}", "Hi 😀😀", "")]
    [InlineData("{{ profile.first_name | truncate: 5 }}", "Hello world", "He...")]
    [InlineData("{{ profile.first_name | slice: 1, 3 }}", "Hello", "ell")]
    public void TruncateAndSlice_NeverSplitASurrogatePair(string source, string name, string expected)
    {
        foreach (var part in new[] { "sms", "push" })
        {
            var renderer = Renderer(Single("t", part == "sms" ? TemplateVariant.Sms(source) : TemplateVariant.Push(source, "b")));
            var text = renderer.Render("t", part, Context(Clara().WithTrait("first_name", name))).GetValueOrThrow().Parts[part == "sms" ? "body" : "title"];

            Assert.Equal(expected, text);
            Assert.True(IsWellFormed(text), $"'{text}' holds a lone surrogate");
        }
    }

    [Property(MaxTest = 300)]
    public void TruncateAndSlice_OfAnyText_AreWellFormedWhenTheTextIs(string? value, byte length, sbyte start)
    {
        var text = string.Concat((value ?? "").Select((c, i) => i % 3 == 0 ? "😀" + c : c.ToString())).Replace("\0", "", StringComparison.Ordinal);
        if (!IsWellFormed(text))
        {
            return; // a lone surrogate in the data is printed as it is (audit TPL); the filters must not make new ones
        }

        var renderer = Renderer(Single("t", TemplateVariant.Sms(
            $"{{{{ journey.v | truncate: {length % 40} }}}}|{{{{ journey.v | slice: {start % 20}, {length % 20} }}}}|{{{{ journey.v | truncate: {length % 40}, '' }}}}")));
        var context = Context() with { Journey = new Dictionary<string, object?> { ["v"] = text } };
        var result = renderer.Render("t", ChannelNames.Sms, context);
        if (result.Succeeded)
        {
            Assert.True(IsWellFormed(result.Value!.Body!), $"'{result.Value!.Body}' holds a lone surrogate");
        }
    }

    // ---- 2. WhatsApp template parameters: one line, no tabs, at most four spaces in a row ----

    // netflie/whatsapp-cloud-api#201, dimagi/open-chat-studio#4277 (Meta: "Param text cannot have new-line/tab characters
    // or more than 4 consecutive spaces", error 132018): a parameter printed from an address or a note with a line break
    // made Meta refuse every send of the approved template.
    [Theory]
    [InlineData("12 Rue de la Paix\nApt 4", "12 Rue de la Paix Apt 4")]
    [InlineData("12 Rue de la Paix\r\n\r\nApt 4", "12 Rue de la Paix Apt 4")]
    [InlineData("Clara\tMoreau", "Clara Moreau")]
    [InlineData("Clara     Moreau", "Clara Moreau")]
    [InlineData("Clara    Moreau", "Clara    Moreau")]
    [InlineData("Clara\u2028Moreau", "Clara Moreau")]
    [InlineData(" Clara\n", "Clara")]
    public void AWhatsAppTemplateParameter_IsOneLine_AsMetaRequires(string value, string expected)
    {
        var renderer = Renderer(Single("t", TemplateVariant.WhatsAppTemplate("order_shipped", "{{ profile.first_name }}", "Order {{ journey.order }}")));
        var context = Context(Clara().WithTrait("first_name", value)) with { Journey = new Dictionary<string, object?> { ["order"] = "A-1" } };

        var rendered = renderer.Render("t", ChannelNames.WhatsApp, context).GetValueOrThrow();

        Assert.Equal([expected, "Order A-1"], rendered.Parameters);
    }

    [Property(MaxTest = 300)]
    public void AWhatsAppTemplateParameter_NeverHoldsALineBreakATabOrFiveSpaces(string? value)
    {
        var renderer = Renderer(Single("t", TemplateVariant.WhatsAppTemplate("n", "x{{ journey.v }}y")));
        var context = Context() with { Journey = new Dictionary<string, object?> { ["v"] = value } };
        var result = renderer.Render("t", ChannelNames.WhatsApp, context);

        var parameter = Assert.Single(result.GetValueOrThrow().Parameters);
        Assert.DoesNotContain(parameter, c => c is '\r' or '\n' or '\t' or '\v' or '\f' or '\u0085' or '\u2028' or '\u2029');
        Assert.DoesNotContain("     ", parameter, StringComparison.Ordinal);
        Assert.StartsWith("x", parameter, StringComparison.Ordinal);
    }

    // ---- 2b. An SMS has one kind of line break ----

    // alphagov/notifications-utils#460 (phones showed CR LF as two line breaks), minutis-redcall/redcall#57,
    // TwilioDevEd/message-segment-calculator#27 (CR LF costs two characters): a template saved on Windows, or a trait typed
    // in a Windows form, made a 160-character message two segments.
    [Theory]
    [InlineData("\r\n")]
    [InlineData("\r")]
    [InlineData("\n")]
    public void AnSmsWithWindowsLineEndings_HasOneLineBreakPerLine_AndItsSegmentsCountThat(string newline)
    {
        var source = "Hi {{ profile.first_name }}," + newline + "{{ journey.note }}" + newline + new string('x', 148);
        var renderer = Renderer(Single("t", TemplateVariant.Sms(source)));
        var context = Context(Clara().WithTrait("first_name", "Ann")) with { Journey = new Dictionary<string, object?> { ["note"] = "a" + newline + "b" } };

        var body = renderer.Render("t", ChannelNames.Sms, context).GetValueOrThrow().Body!;

        Assert.Equal("Hi Ann,\na\nb\n" + new string('x', 148), body);
        Assert.Equal(1, SmsEncoding.Analyze(body).SegmentCount);
    }

    // ---- 3. Data is never run as Liquid, also in WhatsApp parameters and template names ----

    // kalimatas/php-liquid#22 (values put into a template from outside), chatwoot/chatwoot#13649 (WhatsApp campaign
    // parameters run through Liquid): a first name holding "{{ … }}" or "{% … %}" is printed, never run. Audit TPL checked
    // email, SMS and push parts; WhatsApp parameters go to Meta as they are printed.
    [Theory]
    [InlineData("{{ profile.email }}")]
    [InlineData("{% raw %}{{ 7 | times: 7 }}{% endraw %}")]
    [InlineData("{% assign x = 1 %}{{ x }}")]
    public void LiquidInTheData_IsPrintedAsItIs_InAWhatsAppParameter(string value)
    {
        var renderer = Renderer(Single("t", TemplateVariant.WhatsAppTemplate("promo", "{{ profile.first_name }}")));

        var rendered = renderer.Render("t", ChannelNames.WhatsApp, Context(Clara().WithTrait("first_name", value))).GetValueOrThrow();

        Assert.Equal(value, Assert.Single(rendered.Parameters));
    }

    // ---- 4. An unsubscribe link the engine wrote always works ----

    // productdevbook/mavi#17 (nobody could unsubscribe: the link never verified), apache/streampipes#2971 (mailed tokens
    // that do not survive as URLs). The token carries the message key, so a key in another script within the 2,000 bytes a key may have (escaped
    // as six bytes a character in JSON, twelve for an emoji) made a token longer than the reader accepts: the one-click header and the footer link answered "invalid".
    [Theory]
    [InlineData(40, "a")]
    [InlineData(660, "注")]
    [InlineData(498, "😀")]
    [InlineData(1994, "k")]
    [InlineData(997, "\"\\")]
    public async Task TheUnsubscribeLinkOfAMessage_WithALongOrNonAsciiKey_Unsubscribes(int length, string unit)
    {
        var (host, email) = await UnsubscribeHostAsync();
        await using var _ = host;
        var key = "promo-" + string.Concat(Enumerable.Repeat(unit, length));

        Assert.Equal(SendStatus.Queued, (await host.Client.SendAsync(Known, new MessageRequest { Key = key, Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" })).Status);
        await host.Engine.RunDispatchAsync();
        var token = TokenOf((EmailMessage)Assert.Single(email.Messages));

        Assert.True(token.Length < 5500, $"a token of {token.Length} characters"); // within a request line, whatever the key
        Assert.NotNull(host.Engine.ReadUnsubscribeLink(token));
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(token));
        Assert.False((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email, "newsletter")!.Granted);
    }

    // A token is bound to its person and its topic: another topic (or person) in the payload under the same signature is
    // refused (RFC 8058 §3.1: the URI identifies the list and the recipient, and must not be guessable); a token with
    // non-ASCII characters is refused, not a 500 (odoo/odoo#284040). The footer link in the html part, once the browser
    // decodes its &amp;, is the header's link.
    [Fact]
    public async Task TheLink_CannotBeTurnedToAnotherTopic_AndTheFooterLinkIsTheHeadersLink()
    {
        var (host, email) = await UnsubscribeHostAsync();
        await using var _ = host;
        await host.Client.SendAsync(Known, new MessageRequest { Key = "p1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });
        await host.Engine.RunDispatchAsync();
        var sent = (EmailMessage)Assert.Single(email.Messages);
        var token = TokenOf(sent);

        var dot = token.IndexOf('.', StringComparison.Ordinal);
        var payload = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(0, dot))).Replace("newsletter", "offers", StringComparison.Ordinal);
        var forged = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(payload)) + token[dot..];
        Assert.Equal(UnsubscribeStatus.InvalidToken, await host.Engine.UnsubscribeAsync(forged));
        Assert.Equal(UnsubscribeStatus.InvalidToken, await host.Engine.UnsubscribeAsync(token[..^2])); // cut by a mail client
        Assert.Equal(UnsubscribeStatus.InvalidToken, await host.Engine.UnsubscribeAsync("ééé.ééé"));
        Assert.Null(host.Engine.ReadUnsubscribeLink(token + "😀"));
        Assert.True((await host.ProfileAsync(Known)).GetConsent(ChannelNames.Email, "offers")?.Granted ?? true);

        var href = System.Text.RegularExpressions.Regex.Match(sent.HtmlBody!, "href=\"([^\"]*)\"").Groups[1].Value;
        Assert.Equal(HeaderUrl(sent), WebUtility.HtmlDecode(href));
        Assert.Equal(HeaderUrl(sent), sent.TextBody);
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(Uri.UnescapeDataString(token)));
    }

    // ---- 5. List-Unsubscribe is ASCII, whatever the endpoint's host or path ----

    // jstedfast/MimeKit#236, odoo/odoo#289182 (a List-Unsubscribe that is not plain ASCII is written as RFC 2047
    // encoded-words, which mailbox providers do not decode: the one-click button disappears); RFC 2369 wants a URI,
    // and an IRI's host goes as its A-label, its path percent-encoded.
    [Theory]
    [InlineData("https://bücher.example/abmelden")]
    [InlineData("https://shop.example/désinscription?liste=été")]
    public async Task TheListUnsubscribeHeader_IsAscii_ForAnInternationalisedEndpoint(string endpoint)
    {
        var (host, email) = await UnsubscribeHostAsync(new Uri(endpoint));
        await using var _ = host;
        await host.Client.SendAsync(Known, new MessageRequest { Key = "p1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });
        await host.Engine.RunDispatchAsync();
        var sent = (EmailMessage)Assert.Single(email.Messages);

        Assert.True(System.Text.Ascii.IsValid(sent.Headers["List-Unsubscribe"]), sent.Headers["List-Unsubscribe"]);
        Assert.Equal(new Uri(endpoint).IdnHost, new Uri(HeaderUrl(sent)).Host);
        Assert.Equal(UnsubscribeStatus.Unsubscribed, await host.Engine.UnsubscribeAsync(TokenOf(sent)));
    }

    // ---- 6. Marketing gets the one-click headers, transactional none, on every path ----

    // goposta/posta#74, CTFd/CTFd#2568, trycompai/comp#2507 (a one-click header on a password reset lets her turn off
    // mail she needs), Gmail and Yahoo's bulk-sender rules (marketing must carry it): a marketing message held by quiet
    // hours and re-rendered at dispatch keeps both headers; a transactional one never gets them.
    [Fact]
    public async Task AHeldMarketingEmail_KeepsItsOneClickHeaders_AndTransactionalNeverGetsThem()
    {
        var (host, email) = await UnsubscribeHostAsync(quietHours: true);
        await using var _ = host;
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true }, context: new EventContext { TimeZone = "Europe/Paris" });
        await host.AdvanceToAsync(new DateTimeOffset(2026, 1, 5, 22, 0, 0, TimeSpan.Zero)); // 23:00 in Paris

        var marketing = await host.Client.SendAsync(Known, new MessageRequest { Key = "m1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });
        var transactional = await host.Client.SendAsync(Known, new MessageRequest { Key = "t1", Channels = [ChannelNames.Email], TemplateId = "news", Class = MessageClass.Transactional });
        Assert.True(marketing.DueAt > host.Time.GetUtcNow(), "the marketing message is held");
        await host.Engine.RunDispatchAsync();
        await host.AdvanceAsync(TimeSpan.FromHours(10));
        await host.Engine.RunDispatchAsync();

        var sent = email.Messages.Cast<EmailMessage>().ToDictionary(m => m.MessageId);
        Assert.Equal("List-Unsubscribe=One-Click", sent["m1"].Headers["List-Unsubscribe-Post"]);
        Assert.StartsWith("<https://shop.example/unsubscribe?t=", sent["m1"].Headers["List-Unsubscribe"], StringComparison.Ordinal);
        Assert.DoesNotContain(sent["t1"].Headers.Keys, k => k.StartsWith("List-Unsubscribe", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(string.Empty, sent["t1"].TextBody);
        Assert.Equal(SendStatus.Queued, transactional.Status);
    }

    // ---- 7. A template that throws or runs past its budget fails its own message only ----

    // usesend/useSend#408 (one failing contact wedged the whole campaign), seantis/seantis.reservation#156 (a template
    // error brought down the process that sent it): a filter throwing on her data and a loop past the step budget fail
    // their own message with the reason; every other message still goes.
    [Fact]
    public async Task ATemplateThatThrowsOrRunsPastItsBudget_SkipsItsMessageWithTheReason_AndOthersGo()
    {
        var renderer = Renderer(
            new TemplateRendererOptions { MaxSteps = 10_000 },
            Single("ratio", TemplateVariant.Email("Ratio", null, "{{ journey.a | divided_by: journey.b }}")),
            Single("loop", TemplateVariant.Email("Loop", null, "{% for i in (1..journey.n) %}{% for j in (1..journey.n) %}.{% endfor %}{% endfor %}")),
            Single("ok", TemplateVariant.Email("Hello {{ profile.first_name }}", null, "Hi")));
        var email = new RecordingTransport(ChannelNames.Email);
        await using var host = OmnichannelTestHost.Create(
            o => o.Delivery.MarketingQuietHours = QuietHoursAction.Ignore,
            delivery: new DeliverySetup { Renderer = new TemplateMessageRenderer(renderer, "shop@kitty.example") }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann], traits: new { first_name = "Ann" });

        var thrown = await host.Client.SendAsync(Known, new MessageRequest { Key = "r1", Channels = [ChannelNames.Email], TemplateId = "ratio", Class = MessageClass.Transactional, Data = new JsonObject { ["a"] = 1, ["b"] = 0 } });
        var looped = await host.Client.SendAsync(Known, new MessageRequest { Key = "l1", Channels = [ChannelNames.Email], TemplateId = "loop", Class = MessageClass.Transactional, Data = new JsonObject { ["n"] = 1000 } });
        var fine = await host.Client.SendAsync(Known, new MessageRequest { Key = "o1", Channels = [ChannelNames.Email], TemplateId = "ok", Class = MessageClass.Transactional });
        await host.Engine.RunDispatchAsync();

        Assert.Equal(SendStatus.Skipped, thrown.Status);
        Assert.Contains("rendering failed", thrown.Reason, StringComparison.Ordinal);
        Assert.Equal(SendStatus.Skipped, looped.Status);
        Assert.Contains("steps", looped.Reason, StringComparison.Ordinal);
        Assert.Equal(SendStatus.Queued, fine.Status);
        Assert.Equal("Hello Ann", ((EmailMessage)Assert.Single(email.Messages)).Subject);
    }

    // ---- 8. Numbers, money and dates by her locale and zone, never the server's culture ----

    // smartstore/SmartStoreNET#1488 (the Liquid engine formatted with CurrentCulture), mikebridge/Liquid.NET#18,
    // dotliquid/dotliquid#106 (decimal comma cultures): the same message renders the same bytes whatever
    // CultureInfo.CurrentCulture the process runs under; a format asked in her locale uses her locale.
    [Theory]
    [InlineData("tr-TR")]
    [InlineData("de-DE")]
    [InlineData("ar-SA")]
    [InlineData("fa-IR")]
    [InlineData("hi-IN")]
    public void MoneyAndDates_RenderTheSame_UnderAnyServerCulture(string serverCulture)
    {
        var source = "{{ profile.statistics.total_spent }} {{ profile.statistics.total_spent | format_number: 'N2', profile.locale }} {{ now | date: '%d %b %Y %H:%M' }} {{ profile.first_name | upcase }}";
        var renderer = Renderer(Single("t", TemplateVariant.Sms(source)));
        var clara = Clara(locale: "fr-FR", timeZone: "America/New_York").WithTrait("first_name", "iris");
        clara.Statistics.TotalSpent = 1234.5m;
        var saved = CultureInfo.CurrentCulture;
        var savedUi = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(serverCulture);
            var text = renderer.Render("t", ChannelNames.Sms, Context(clara)).GetValueOrThrow().Body;

            Assert.Equal("1234.5 " + 1234.5m.ToString("N2", CultureInfo.GetCultureInfo("fr-FR")) + " 09 Jun 2026 06:30 IRIS", text);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
            CultureInfo.CurrentUICulture = savedUi;
        }
    }

    // ---- 9. No header of a sent email ever holds a line break, whatever the data ----

    // drewr/postal#89, bbottema/simple-java-mail#88 (header injection through a subject): for any trait printed into
    // the subject, the message the transport gets has a one-line subject and one-line header values (the one-click
    // headers included).
    [Property(MaxTest = 40)]
    public void NoHeaderOfASentEmail_HoldsALineBreak_WhateverTheTrait(string? value) =>
        NoLineBreak(new string([.. (value ?? "").Where(c => !char.IsControl(c))])).GetAwaiter().GetResult(); // tracking refuses other controls

    private static async Task NoLineBreak(string value)
    {
        var (host, email) = await UnsubscribeHostAsync(firstName: "x\r\n" + value + "\nBcc: eve@evil.example\u2028y");
        await using var _ = host;
        await host.Client.SendAsync(Known, new MessageRequest { Key = "p1", Channels = [ChannelNames.Email], TemplateId = "news", Topic = "newsletter" });
        await host.Engine.RunDispatchAsync();
        if (email.Messages.Count == 0)
        {
            return; // a trait the renderer refuses (too long) sends nothing
        }

        var sent = (EmailMessage)Assert.Single(email.Messages);
        foreach (var header in sent.Headers.Values.Append(sent.Subject).Append(sent.From).Append(sent.To))
        {
            Assert.DoesNotContain(header, c => c is '\r' or '\n' or '\u0085' or '\u2028' or '\u2029');
        }
    }

    // ---- helpers ----

    private static bool IsWellFormed(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static async Task<(OmnichannelTestHost Host, RecordingTransport Email)> UnsubscribeHostAsync(Uri? endpoint = null, bool quietHours = false, string firstName = "Ann")
    {
        var renderer = Renderer(Single("news", TemplateVariant.Email(
            "News for {{ profile.first_name }}",
            "<p>Hi</p><a href=\"{{ journey.unsubscribe_url }}\">Unsubscribe</a>",
            "{{ journey.unsubscribe_url }}")));
        var email = new RecordingTransport(ChannelNames.Email);
        var host = OmnichannelTestHost.Create(
            o =>
            {
                o.Delivery.MarketingQuietHours = quietHours ? QuietHoursAction.Defer : QuietHoursAction.Ignore;
                o.Delivery.Unsubscribe.Endpoint = endpoint ?? new Uri("https://shop.example/unsubscribe");
                o.Privacy.HashKey = HashKey;
            },
            store: new InMemoryOmnichannelStore(),
            delivery: new DeliverySetup { Renderer = new TemplateMessageRenderer(renderer, "Kitty Supplies <shop@kitty.example>") }.AddTransport("email", email));
        await host.TrackAsync("user.signed_up", [Known, Ann], traits: new { first_name = firstName });
        await host.TrackAsync(EventTypes.ConsentChanged, [Known], new { channel = "email", granted = true });
        return (host, email);
    }

    private static string HeaderUrl(EmailMessage message) =>
        message.Headers["List-Unsubscribe"].Split(',').Select(s => s.Trim().TrimStart('<').TrimEnd('>')).Single(u => u.StartsWith("https:", StringComparison.Ordinal));

    private static string TokenOf(EmailMessage message)
    {
        var url = HeaderUrl(message);
        return Uri.UnescapeDataString(url[(url.LastIndexOf("t=", StringComparison.Ordinal) + 2)..]);
    }
}
