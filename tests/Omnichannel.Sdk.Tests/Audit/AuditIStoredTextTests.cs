using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Testing;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit I: text the host or a definition chooses ends up in the durable stores as text. A NUL cannot be stored by
/// PostgreSQL, an unpaired surrogate becomes U+FFFD in SQLite and PostgreSQL, a long key does not fit a PostgreSQL index
/// entry; the in-memory store kept them all. Such text is refused where it comes in, alike for every store.
/// </summary>
public sealed class AuditIStoredTextTests
{
    private static string Json(string variant, string template) => $$"""
        {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "user.signed_up"},
         "steps": [{"id": "ab", "type": "split", "variants": [{"name": "{{variant}}", "weight": 1, "next": "send"}, {"name": "b", "weight": 1, "next": "send"}]},
                   {"id": "send", "type": "send", "channels": ["email"], "template": "{{template}}", "class": "transactional"}]}
        """;

    [Theory]
    [InlineData("a\\u0000b", "promo", "$.steps[0].variants[0].name")]
    [InlineData("a\\ud83d", "promo", "$.steps[0].variants[0].name")] // refused as ill-formed text before validation
    [InlineData("two\\nlines", "promo", "$.steps[0].variants[0].name")]
    [InlineData("a", "promo\\u0000x", "$.steps[1].template")]
    [InlineData("a", "promo\\ud800", "$.steps[1].template")]
    public void AVariantNameOrTemplateIdAStoreCannotHold_IsRefusedWithItsPath(string variant, string template, string path)
    {
        var result = JourneyJson.Parse(Json(variant, template));
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path);
    }

    [Fact]
    public void AVariantNameTooLongForItsMeasurementMetric_IsRefused_AndOneThatFitsIsAccepted()
    {
        // journey:variant:{name}:revenue_sq is cut at 200 characters: a longer name lost the counter's own name.
        var refused = JourneyJson.Parse(Json(new string('v', 101), "promo"));
        Assert.Contains(refused.Errors, e => e.Path == "$.steps[0].variants[0].name");
        Assert.True(JourneyJson.Parse(Json(new string('v', 100), "promo")).IsValid);
        Assert.True(JourneyJson.Parse(Json("réactivation 🐈", "modèle-été")).IsValid);
    }

    // Escaped (\uD800): xUnit hands theory data over as UTF-8, which would turn an unpaired surrogate into U+FFFD.
    public static TheoryData<string, string, string, string?> Requests => new()
    {
        { "promo\\u0000x", "promo", "email", null },
        { "promo\\uD800", "promo", "email", null },
        { "promo\\uDC00x", "promo", "email", null },
        { new string('k', OmnichannelEngine.MaxMessageKeyBytes - 1) + "é", "promo", "email", null }, // one byte too many
        { "promo", "promo\\u0000", "email", null },
        { "promo", "promo", "em\\u0000ail", null },
        { "promo", "promo", "email", "offers\\uD83D" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task SendAsync_WithTextAStoreCannotHold_IsRefused_WhateverTheStore(string key, string template, string channel, string? topic)
    {
        (key, template, channel, topic) = (Unescape(key), Unescape(template), Unescape(channel), topic is null ? null : Unescape(topic));
        Assert.Contains(new[] { key, template, channel, topic ?? "" }, t => t.Length > 1000 || t.Any(c => c == '\0' || char.IsSurrogate(c)));
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("c1"), Identifier.Email("ann@example.com")]);

        var error = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await host.Client.SendAsync(Identifier.CustomerId("c1"), new MessageRequest { Key = key, Channels = [channel], TemplateId = template, Topic = topic }));
        Assert.Equal("request", error.ParamName);
    }

    private static string Unescape(string s) => System.Text.RegularExpressions.Regex.Unescape(s);

    [Fact]
    public async Task SendAsync_WithTheLongestKey_StillQueues()
    {
        await using var host = OmnichannelTestHost.Create();
        await host.TrackAsync("user.signed_up", [Identifier.CustomerId("c1"), Identifier.Email("ann@example.com")]);
        var r = await host.Client.SendAsync(Identifier.CustomerId("c1"), new MessageRequest
        {
            Key = new string('k', OmnichannelEngine.MaxMessageKeyBytes - 2) + "é", // exactly the limit
            Channels = ["email"],
            TemplateId = "promo",
            Class = MessageClass.Transactional,
        });
        Assert.NotEqual(SendStatus.UnknownProfile, r.Status);
    }

    [Fact]
    public void AMeasurementDimensionCutAtItsLimit_KeepsASurrogatePairWhole()
    {
        var template = new string('t', MeasurementKey.MaxLength - 1) + "🐈🐈";
        var key = MeasurementKey.Of("j", "s", "v", "email", template, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), "sent");
        Assert.Equal(new string('t', MeasurementKey.MaxLength - 1), key.TemplateId);
        Assert.EndsWith("🐈", MeasurementKey.Of("j", "s", "v", "email", new string('t', MeasurementKey.MaxLength - 2) + "🐈🐈", DateTimeOffset.UnixEpoch, "sent").TemplateId, StringComparison.Ordinal);
    }
}
