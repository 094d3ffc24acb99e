using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FsCheck.Xunit;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Privacy;
using Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Session 63: a timeline entry keeps its id's hash and its kind, a touch its key's hash, worked out when the members are
/// set; and the keyed hashes reuse a thread's HMAC instances. Each answer must be the one the plain comparisons (and the
/// one-shot HMAC) give, for every input. Inputs are spread from a generated int by a SplitMix64 finaliser.
/// </summary>
public sealed class CachedComparisonsProperties
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static readonly string[] Types =
    [
        EventTypes.OrderPlaced, EventTypes.ProductViewed, EventTypes.SegmentEntered, EventTypes.SegmentExited, "message.queued",
        "message.sent", EventTypes.MessageSkipped, "journey.entered", "journey.step", "search",
    ];

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // The rule as it read before the kind was kept on the entry: string tests on every call.
    private static bool EngineByStrings(TimelineEntry t) =>
        t.Type is { Length: > 0 } type && type[0] is ('s' or 'm' or 'j')
        && (type is EventTypes.SegmentEntered or EventTypes.SegmentExited or "message.queued"
            || type.StartsWith("journey.", StringComparison.Ordinal)
            || (type == EventTypes.MessageSkipped && t.Channel == "system"));

    // AddTimeline as it read before: ids compared as strings, kinds by the string rule.
    private static void AddByStrings(List<TimelineEntry> list, TimelineEntry entry, int length)
    {
        var engine = EngineByStrings(entry);
        var counted = list.Count >= length;
        var (sameKind, oldest) = (0, -1);
        for (var k = 0; k < list.Count; k++)
        {
            if (list[k].EventId == entry.EventId)
            {
                return;
            }

            if (counted && EngineByStrings(list[k]) == engine)
            {
                sameKind++;
                oldest = oldest < 0 ? k : oldest;
            }
        }

        static bool After(TimelineEntry a, TimelineEntry b) => Stamp.Newer(a.Timestamp, a.EventId, b.Timestamp, b.EventId);
        if (sameKind >= length && oldest >= 0 && After(list[oldest], entry))
        {
            return;
        }

        var i = list.Count;
        while (i > 0 && After(list[i - 1], entry))
        {
            i--;
        }

        list.Insert(i, entry);
        for (var over = sameKind + 1 - length; over > 0; over--)
        {
            for (var k = 0; k < list.Count; k++)
            {
                if (EngineByStrings(list[k]) == engine)
                {
                    list.RemoveAt(k);
                    break;
                }
            }
        }
    }

    [Property(MaxTest = 200)]
    public void AddTimeline_KeepsWhatStringComparisonsKeep(int seed, byte count, byte cap)
    {
        var length = 1 + (cap % 12);
        var profile = new CustomerProfile("p-cached", T0);
        var expected = new List<TimelineEntry>();
        var z = (ulong)(uint)seed;
        for (var n = 0; n < count % 120; n++)
        {
            z = Mix(z);
            var type = Types[(int)(z % (ulong)Types.Length)];
            var channel = (z >> 8) % 3 == 0 ? "system" : "web";
            var id = "ev-" + ((z >> 16) % 40); // repeats: an id seen before is not added again
            var at = T0.AddMinutes((double)((z >> 32) % 90));
            var entry = new TimelineEntry(id, type, channel, at, null);
            ProfileCore.AddTimeline(profile, entry, length);
            AddByStrings(expected, entry, length);
        }

        Assert.Equal(expected, profile.TimelineEntries);
        Assert.All(profile.TimelineEntries, t => Assert.Equal(EngineByStrings(t), ProfileCore.IsEngineEntry(t)));
    }

    [Fact]
    public void AnEntryChangedWithWith_IsJudgedByItsNewMembers()
    {
        var sent = new TimelineEntry("m-1", "message.sent", "email", T0, null);
        var queued = sent with { Type = "message.queued" };
        var skippedBySystem = new TimelineEntry("m-2", EventTypes.MessageSkipped, "email", T0, null) with { Channel = "system" };

        Assert.False(ProfileCore.IsEngineEntry(sent));
        Assert.True(ProfileCore.IsEngineEntry(queued));
        Assert.True(ProfileCore.IsEngineEntry(skippedBySystem));
        Assert.False(ProfileCore.IsEngineEntry(skippedBySystem with { Channel = "sms" }));

        // The same id after a `with`: still a duplicate; another id: not.
        var profile = new CustomerProfile("p-with", T0);
        ProfileCore.AddTimeline(profile, sent, 10);
        ProfileCore.AddTimeline(profile, sent with { Summary = "again" }, 10);
        ProfileCore.AddTimeline(profile, sent with { EventId = "m-3" }, 10);
        Assert.Equal(["m-1", "m-3"], profile.TimelineEntries.Select(t => t.EventId));

        // Equality still reads the members only.
        Assert.Equal(new TimelineEntry("m-1", "message.queued", "email", T0, null), queued with { EventId = "m-1" });
    }

    [Fact]
    public void AnEntryReadFromJson_KeepsItsKindAndId()
    {
        var entry = new TimelineEntry("m-9", "message.queued", "email", T0, "s");
        var json = JsonSerializer.Serialize(entry);
        var read = JsonSerializer.Deserialize<TimelineEntry>(json)!;

        // The members in their declared order, as documents written before the kept hash and kind have them.
        Assert.Equal("""{"EventId":"m-9","Type":"message.queued","Channel":"email","Timestamp":"2026-03-01T09:00:00+00:00","Summary":"s"}""", json);

        Assert.Equal(entry, read);
        Assert.True(ProfileCore.IsEngineEntry(read));
        var profile = new CustomerProfile("p-json", T0);
        ProfileCore.AddTimeline(profile, entry, 10);
        ProfileCore.AddTimeline(profile, read, 10);
        Assert.Single(profile.TimelineEntries);
    }

    [Property(MaxTest = 200)]
    public void TouchIndexOf_FindsWhatAStringSearchFinds(int seed, byte count)
    {
        var touches = new List<Touch>();
        var z = (ulong)(uint)seed;
        for (var n = 0; n < count % 60; n++)
        {
            z = Mix(z);
            var touch = new Touch { Key = "order-" + ((z >> 8) % 30), Channel = "email", QueuedAt = T0.AddMinutes(n) };
            touches.Add(n % 5 == 4 ? touch with { Key = "receipt-" + ((z >> 24) % 30) } : touch);
        }

        for (var k = 0; k < 30; k++)
        {
            foreach (var key in new[] { "order-" + k, "receipt-" + k, "other-" + k })
            {
                Assert.Equal(touches.FindLastIndex(t => t.Key == key), Touch.IndexOf(touches, key));
            }
        }
    }

    /// <summary>
    /// Trim reads each touch once and compares instants as UTC ticks: her touches come out in <see cref="Touch.Compare"/>'s
    /// order and without the expired ones, for touches in any order, at one instant written in different offsets (equal:
    /// then the key decides), and around the expiry edge.
    /// </summary>
    [Property(MaxTest = 200)]
    public void Trim_KeepsTouchCompareOrder_AndDropsOnlyExpiredTouches(int seed, byte count)
    {
        var options = new MeasurementOptions();
        var now = T0.AddDays(200);
        var keepFrom = now - options.Windows.Longest - Omnichannel.Sdk.Journeys.JourneyRunner.LateEventGrace;
        var profile = new CustomerProfile("p-trim", T0);
        var z = (ulong)(uint)seed;
        for (var n = 0; n < count % 40; n++)
        {
            z = Mix(z);
            var at = keepFrom.AddMinutes(((double)(z % 7) - 3) * 30) // before, at and after the edge
                .ToOffset(TimeSpan.FromHours((int)((z >> 8) % 5) - 2)); // one instant, several offsets
            var touch = new Touch { Key = $"k-{(z >> 16) % 50:D2}-{n}", Channel = "email", QueuedAt = at }; // keys are unique per profile
            profile.Touches.Add((z >> 24) % 3 == 0 ? touch with { OpenedAt = now.AddDays(-1) } : touch); // opened late: kept
        }

        var before = profile.Touches.ToList();
        MeasurementRecorder.Queued(profile, new Omnichannel.Sdk.Delivery.MessageRequest { Key = "new", Channels = ["email"], TemplateId = "t" }, "email", now, options);

        var expected = before.Where(t => t.LastAt >= keepFrom).Append(profile.Touches[^1]).ToList();
        expected.Sort(Touch.Compare);
        Assert.Equal(expected, profile.Touches);
    }

    private static string Reference(byte[] key, string text) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void KeyedHashes_UnderMoreKeysThanAThreadKeeps_AreTheOneShotHmac()
    {
        // Nine hashers used in turn (more than the four instances a thread keeps), from several threads at once.
        var keys = Enumerable.Range(0, 9).Select(i => Encoding.UTF8.GetBytes("key-" + i)).ToArray();
        var hashers = keys.Select(k => new IdentifierHasher(k, [])).ToArray();
        Parallel.For(0, 4, worker =>
        {
            for (var round = 0; round < 50; round++)
            {
                var i = (round * 7 + worker) % keys.Length;
                var id = Identifier.Email($"c{round}-{worker}@example.com");
                Assert.Equal(Reference(keys[i], "email:" + id.Value), hashers[i].Hash(id));
                Assert.Equal(Reference(keys[i], "\0event\0ev-" + round), hashers[i].EventHash("ev-" + round));
            }
        });
    }

    /// <summary>Session 64: a mask is written in one go; it is "#" and the first 12 hex digits of the identifier's hash.</summary>
    [Property(MaxTest = 200)]
    public void AMask_IsTheHashsFirstTwelveDigits(int seed)
    {
        var z = Mix((ulong)(uint)seed);
        var key = Encoding.UTF8.GetBytes("key-" + (z % 5));
        var value = ((z >> 8) % 4) switch { 0 => "ann@example.com", 1 => "Zoë 😺", 2 => new string('x', (int)(z % 700)), _ => "c" + (z >> 20) };
        var id = new Identifier((z >> 4) % 2 == 0 ? "email" : "customer_id", value);
        var hasher = new IdentifierHasher(key, []);
        Assert.Equal("#" + Reference(key, id.Type + ":" + id.Value)[..12], hasher.Mask(id));
    }

    [Fact]
    public void Signatures_AreTheTruncatedHmacUnderTheDerivedKey_AndVerifyUnderEveryKey()
    {
        var current = Encoding.UTF8.GetBytes("current");
        var previous = Encoding.UTF8.GetBytes("previous");
        var data = Encoding.UTF8.GetBytes("profile:p-1|topic:news");

        var derived = HMACSHA256.HashData(current, Encoding.UTF8.GetBytes("\0unsubscribe\0"));
        var expected = HMACSHA256.HashData(derived, data)[..IdentifierHasher.MacLength];
        var hasher = new IdentifierHasher(current, [previous]);
        Assert.Equal(expected, hasher.Sign("unsubscribe", data));
        Assert.Equal(expected, hasher.Sign("unsubscribe", data)); // the derived key kept: the same answer

        var signedBefore = new IdentifierHasher(previous, []).Sign("unsubscribe", data);
        Assert.True(hasher.Verify("unsubscribe", data, signedBefore));
        Assert.False(hasher.Verify("other-purpose", data, signedBefore));
        Assert.False(new IdentifierHasher(Encoding.UTF8.GetBytes("stranger"), []).Verify("unsubscribe", data, signedBefore));
    }
}
