using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Templates;

namespace Omnichannel.Sdk.Testing.Tests;

/// <summary>Audit J: the test kit as a user drives it, over a year on the fake clock.</summary>
public sealed class AuditJTestKitTests
{
    private static readonly Identifier Ann = Identifier.Email("ann@example.com");

    // A weekly loop: wait a week, send, wait again. The subject prints the 'now' string, the body the now variable.
    private static OmnichannelTestHost Weekly() => OmnichannelTestHost.Create(services =>
        services.AddOmnichannel(o => o.Delivery.EmailFrom = "Kitty <hello@kitty.example>")
            .UseTemplates(new InMemoryTemplateSource(new TemplateDocument("weekly", [TemplateVariant.Email("{{ 'now' | date: '%Y-%m-%d %H:%M' }}", "<p>{{ now | date: '%Y-%m-%d %H:%M' }}</p>")])))
            .AddJourney(Journey.Define("weekly", "Weekly")
                .TriggeredBy(t => t.Event("user.signed_up"))
                .Steps(s => s.Delay("wait", "P7D").Send("mail", [ChannelNames.Email], "weekly", @class: MessageClass.Transactional, next: "wait"))
                .Build()));

    private static IReadOnlyList<string> Expected(DateTimeOffset start, int weeks) =>
        Enumerable.Range(1, weeks).Select(w => start.AddDays(7 * w).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)).ToList();

    [Fact]
    public async Task AdvancingAYear_SendsEveryWeeklyMessageOnce_InOrder_AtItsOwnInstant()
    {
        await using var host = Weekly();
        await host.TrackAsync("user.signed_up", [Ann]);

        await host.AdvanceAsync(TimeSpan.FromDays(365));

        var sent = host.Sent.Sent<EmailMessage>();
        Assert.Equal(Expected(OmnichannelTestHost.DefaultStart, 52), sent.Select(m => m.Subject).ToList());

        // The 'now' string of the date filter is the send's instant on the fake clock, as the now variable is; it read
        // the machine's clock (DateTimeOffset.Now), so the subjects all showed the day the tests ran.
        Assert.Equal(sent.Select(m => $"<p>{m.Subject}</p>"), sent.Select(m => m.HtmlBody));
        Assert.Empty(host.Sent.DuplicateMessageIds);
        Assert.Equal(OmnichannelTestHost.DefaultStart.AddDays(365), host.Time.GetUtcNow());
    }

    [Fact]
    public async Task TwoHostsInParallel_DoNotShareState()
    {
        var counts = await Task.WhenAll(Enumerable.Range(1, 4).Select(async weeks =>
        {
            await using var host = Weekly();
            await host.TrackAsync("user.signed_up", [Ann]);
            await host.AdvanceAsync(TimeSpan.FromDays(7 * weeks));
            return host.Sent.Messages.Count;
        }));

        Assert.Equal([1, 2, 3, 4], counts);
    }
}
