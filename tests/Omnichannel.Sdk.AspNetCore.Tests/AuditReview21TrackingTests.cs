using System.Net;
using Xunit;

namespace Omnichannel.Sdk.AspNetCore.Tests;

/// <summary>Review of the twenty-first session: a batch's <c>sentAt</c> in hostile spellings corrects the clock or nothing, never loses a message.</summary>
public sealed class AuditReview21TrackingTests(AuditTAServer server) : IClassFixture<AuditTAServer>
{
    private static int _run;

    [Theory]
    [InlineData("\"2026-06-01 11:00:00Z\"", true)]
    [InlineData("\"2026-06-01t11:00:00z\"", true)]
    [InlineData("\"2026-06-01T11:00:00.0000000000000000000001+00:00\"", true)]
    [InlineData("\"2026-06-01T11:00:00Z junk\"", false)]
    [InlineData("\" 2026-06-01T11:00:00Z\"", false)]
    [InlineData("\"11:00\"", false)] // a time alone is not today by the server's clock
    [InlineData("\"9999-12-31T23:59:59.9999999Z\"", false)] // out of range once corrected: the original time
    [InlineData("\"2026-06-01T11:00:00+99:00\"", false)]
    [InlineData("1780311600", false)]
    [InlineData("null", false)]
    [InlineData("\"\"", false)]
    public async Task ABatchsSentAt_InHostileSpellings_CorrectsTheClockOrNothing(string sentAt, bool corrected)
    {
        var tag = $"r21sent{Interlocked.Increment(ref _run)}";
        server.Time.Advance(TimeSpan.FromMinutes(1));
        var receivedAt = server.Time.GetUtcNow();
        var (status, body) = await server.PostAsync("batch", $$"""
            {"batch":[{"type":"track","userId":"{{tag}}","event":"Signed Up","messageId":"{{tag}}-m1","timestamp":"2026-06-01T10:59:00.000Z"}],
             "sentAt":{{sentAt}}}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, (int)body!["accepted"]!);
        var profile = await server.Client.GetProfileAsync(Identifier.CustomerId(tag));
        var expected = corrected ? receivedAt.AddMinutes(-1) : new DateTimeOffset(2026, 6, 1, 10, 59, 0, TimeSpan.Zero);
        Assert.Equal(expected, Assert.Single(profile!.Timeline).Timestamp);
    }
}
