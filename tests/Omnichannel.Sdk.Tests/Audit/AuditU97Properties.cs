using System.Globalization;
using FsCheck.Xunit;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Tests.Journeys;
using Xunit;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Audit U97: re-entry "afterCooldown" per correlation value for any sequence of values and gaps. Each run is spread from
/// one FsCheck int by SplitMix64's finaliser (deterministic across processes). Rules checked at every trigger, read
/// from what was sent (not from the engine's records): a value is never entered twice within the cooldown; a trigger
/// is refused only when its value entered within the cooldown, or when 200 other values did (the bound on what a
/// profile remembers per journey).
/// </summary>
public sealed class AuditU97Properties
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    internal static ulong Spread(int value, int salt)
    {
        var z = ((ulong)(uint)value << 32 | (uint)salt) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [Property(MaxTest = 12)]
    public void AValue_IsNeverEnteredTwiceWithinTheCooldown_AndIsRefusedOnlyForACause(int seed) =>
        RunAsync(seed).GetAwaiter().GetResult();

    private static async Task RunAsync(int seed)
    {
        var salt = 0;
        int Next(int n) => (int)(Spread(seed, salt++) % (ulong)n);
        TimeSpan[] cooldowns = [TimeSpan.FromHours(6), TimeSpan.FromDays(1), TimeSpan.FromHours(2)];
        var cooldown = cooldowns[Next(cooldowns.Length)];
        var burst = Next(3) > 0; // a bot-like burst of views a minute or two apart, else a spread of gaps up to hours
        TimeSpan[] gaps = burst ? [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2)]
            : [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(3)];
        var boundRefusals = 0;
        var journey = JourneyRig.Parse($$"""
            {"id": "browse", "version": 1, "name": "Browse", "trigger": {"type": "event", "event": "product.viewed"},
             "entry": {"correlationKey": "product_id", "reEntry": "afterCooldown", "cooldown": "{{System.Xml.XmlConvert.ToString(cooldown)}}"},
             "steps": [{"id": "s", "type": "send", "channels": ["email"], "template": "browse", "class": "transactional"}]}
            """);
        await using var rig = JourneyRig.Create([journey], start: Start);
        var ann = Identifier.Email("ann@example.com");
        var sentAt = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
        var fresh = 0;
        var steps = 300 + Next(40);
        for (var i = 0; i < steps; i++)
        {
            var used = sentAt.Keys.ToList();
            var key = used.Count > 0 && Next(5) < 1 ? used[Next(used.Count)] : "p" + (fresh++).ToString(CultureInfo.InvariantCulture);
            var now = rig.Host.Time.GetUtcNow();
            var before = rig.Recorder.Messages.Count;
            await rig.TrackAsync(EventTypes.ProductViewed, [ann], new { product_id = key });
            var entered = rig.Recorder.Messages.Count - before;
            Assert.InRange(entered, 0, 1);

            var mineWithin = sentAt.TryGetValue(key, out var mine) && mine.Exists(t => t > now - cooldown);
            var othersWithin = sentAt.Count(kv => kv.Key != key && kv.Value.Exists(t => t > now - cooldown));
            if (entered == 1)
            {
                Assert.False(mineWithin, $"seed {seed}, step {i}: '{key}' entered again within the cooldown {cooldown} (last {mine?[^1]:O}, now {now:O})");
                (sentAt.TryGetValue(key, out var list) ? list : sentAt[key] = []).Add(now);
            }
            else
            {
                boundRefusals += mineWithin ? 0 : 1;
                Assert.True(mineWithin || othersWithin >= 200, $"seed {seed}, step {i}: '{key}' refused with {othersWithin} other values within the cooldown and none of its own");
            }

            await rig.AdvanceAsync(gaps[Next(gaps.Length)]);
        }

        // A burst under a cooldown of a day passes the bound: the property reaches the case it is about.
        Assert.True(!burst || cooldown < TimeSpan.FromDays(1) || boundRefusals > 0, $"seed {seed}: the bound was never reached");
    }
}
