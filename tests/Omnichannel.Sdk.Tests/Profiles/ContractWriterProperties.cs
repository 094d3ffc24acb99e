using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using FsCheck.Xunit;
using Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Session 64: the stored document is written by <see cref="ContractWriter"/>, code compiled from the serializer's
/// contract. Whatever the values, it must give byte for byte what <see cref="JsonSerializer"/> gives under the same
/// contract: every rule for leaving a property out, property order, names, escaping, nested objects and structs, lists,
/// dictionaries, and converters on a type or a property. Values are spread from a generated int by a SplitMix64 finaliser.
/// </summary>
public sealed class ContractWriterProperties
{
    public enum Tier
    {
        Bronze,
        Gold,
    }

    public sealed class Leaf
    {
        public string? Name { get; set; }

        public int Count { get; set; }

        public long Big { get; set; }

        public decimal Amount { get; set; }

        public double Ratio { get; set; }

        public bool Flag { get; set; }

        public DateTimeOffset At { get; set; }

        public DateTimeOffset? Maybe { get; set; }

        public Tier Tier { get; set; }
    }

    public struct Point
    {
        public int X { get; set; }

        public string? Label { get; set; }
    }

    [JsonConverter(typeof(ShoutConverter))]
    public sealed record Shout(string Text);

    public sealed class ShoutConverter : JsonConverter<Shout>
    {
        public override Shout Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetString()!);

        public override void Write(Utf8JsonWriter writer, Shout value, JsonSerializerOptions options) => writer.WriteStringValue(value.Text.ToUpperInvariant());
    }

    public sealed class ReversedConverter : JsonConverter<string>
    {
        public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString()!;

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(new string([.. value.Reverse()]));
    }

    public sealed class Root
    {
        [JsonPropertyOrder(2)]
        public string? Second { get; set; }

        [JsonPropertyOrder(-1)]
        public string? First { get; set; }

        public Leaf? Leaf { get; set; }

        public List<Leaf>? Leaves { get; set; }

        public List<string?>? Strings { get; set; }

        public Dictionary<string, decimal>? Amounts { get; set; }

        public Dictionary<string, Leaf>? Named { get; set; }

        public Shout? Shout { get; set; }

        [JsonConverter(typeof(ReversedConverter))]
        public string? Reversed { get; set; }

        public Point Point { get; set; }

        public Point? MaybePoint { get; set; }

        public HashSet<string>? Set { get; set; }

        public Tier? MaybeTier { get; set; }

        // Rules given by the modifier below, as ProfileSerializer.Compact gives them.
        public decimal Scaled { get; set; }

        public int AlwaysWritten { get; set; }

        public DateTimeOffset? NullSkipped { get; set; }

        public List<int>? NonEmpty { get; set; }

        public double Predicate { get; set; } // a ShouldSerialize with no rule: asked as the serializer asks it

        public string View => "computed"; // no setter: written by both (this contract keeps it)

        // Audit U105's latent cases: a value of declared type object (written as its runtime type), a property's own
        // number handling, and a converter of T on a T? property.
        public object? Anything { get; set; }

        public Dictionary<string, object?>? Bag { get; set; }

        [JsonNumberHandling(JsonNumberHandling.WriteAsString)]
        public int Quoted { get; set; }

        [JsonConverter(typeof(ShoutingPointConverter))]
        public Point? Shouting { get; set; }
    }

    public sealed class ShoutingPointConverter : JsonConverter<Point>
    {
        public override Point Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => default;

        public override void Write(Utf8JsonWriter writer, Point value, JsonSerializerOptions options) => writer.WriteStringValue("POINT " + value.X);
    }

    private static readonly JsonTypeInfo<Root> Info = (JsonTypeInfo<Root>)new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver().WithAddedModifier(Rules),
    }.GetTypeInfo(typeof(Root));

    private static void Rules(JsonTypeInfo info)
    {
        if (info.Type != typeof(Root))
        {
            return;
        }

        foreach (var p in info.Properties)
        {
            switch (p.Name)
            {
                case "scaled":
                    p.ShouldSerialize = static (_, v) => v is decimal d && (d != 0 || d.Scale != 0);
                    ContractWriter.SetRule(p, WriteRule.SkipPlainZero);
                    break;
                case "alwaysWritten":
                    p.ShouldSerialize = static (_, _) => true;
                    ContractWriter.SetRule(p, WriteRule.Always);
                    break;
                case "nullSkipped":
                    p.ShouldSerialize = static (_, v) => v is not null;
                    ContractWriter.SetRule(p, WriteRule.SkipNull);
                    break;
                case "nonEmpty":
                    p.ShouldSerialize = static (_, v) => v is not (null or System.Collections.ICollection { Count: 0 });
                    ContractWriter.SetRule(p, WriteRule.SkipNullOrEmpty);
                    break;
                case "predicate":
                    p.ShouldSerialize = static (_, v) => v is double d && d > 0.5;
                    break;
            }
        }
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private sealed class Draw(int seed)
    {
        private ulong _state = (ulong)seed;

        public int Next(int max) => (int)((_state = Mix(_state)) % (ulong)max);

        public bool Maybe() => Next(3) == 0;

        // Strings a writer must escape, or may not: quotes, controls, HTML, non-ASCII, a surrogate pair, empty.
        public string? Text() => Next(8) switch
        {
            0 => null,
            1 => "",
            2 => "Zoë 😺 <b>\"&'",
            3 => "line\nbreak\t\u0001",
            4 => "ann@example.com",
            5 => "日本語",
            _ => "s" + Next(1000),
        };

        public decimal Money() => Next(6) switch
        {
            0 => 0m,
            1 => 0.00m,
            2 => -1.50m,
            3 => 79228162514264337593543950335m,
            _ => Next(100000) / 100m,
        };

        public DateTimeOffset When() => Next(4) == 0
            ? default
            : new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromMinutes(new[] { 0, 345, -180, 840 }[Next(4)])).AddTicks(Next(1_000_000_000) * 1_000L + Next(3));

        public Leaf? Leaf() => Next(5) == 0 ? null : new Leaf
        {
            Name = Text(),
            Count = Next(3) == 0 ? 0 : Next(2000) - 1000,
            Big = Next(3) == 0 ? 0 : long.MaxValue - Next(10),
            Amount = Money(),
            Ratio = Next(4) switch { 0 => 0.0, 1 => -0.0, 2 => 1e-300, _ => Next(1000) / 7.0 },
            Flag = Next(2) == 0,
            At = When(),
            Maybe = Maybe() ? null : When(),
            Tier = (Tier)Next(2),
        };
    }

    private static Root Generate(int seed)
    {
        var d = new Draw(seed);
        return new Root
        {
            Second = d.Text(),
            First = d.Text(),
            Leaf = d.Leaf(),
            Leaves = d.Maybe() ? null : [.. Enumerable.Range(0, d.Next(4)).Select(_ => d.Leaf()!).Where(l => l is not null)],
            Strings = d.Maybe() ? null : [.. Enumerable.Range(0, d.Next(4)).Select(_ => d.Text())],
            Amounts = d.Maybe() ? null : Enumerable.Range(0, d.Next(4)).ToDictionary(i => d.Text() + i, _ => d.Money()),
            Named = d.Maybe() ? null : Enumerable.Range(0, d.Next(3)).ToDictionary(i => "k<" + i, _ => d.Leaf()!),
            Shout = d.Maybe() ? null : new Shout(d.Text() ?? "x"),
            Reversed = d.Text(),
            Point = d.Maybe() ? default : new Point { X = d.Next(10), Label = d.Text() },
            MaybePoint = d.Maybe() ? null : new Point { X = d.Next(10), Label = d.Text() },
            Set = d.Maybe() ? null : [.. Enumerable.Range(0, d.Next(3)).Select(i => "v" + i)],
            MaybeTier = d.Maybe() ? null : (Tier)d.Next(2),
            Scaled = d.Money(),
            AlwaysWritten = d.Maybe() ? 0 : d.Next(50),
            NullSkipped = d.Maybe() ? null : d.When(),
            NonEmpty = d.Maybe() ? null : [.. Enumerable.Range(0, d.Next(3))],
            Predicate = d.Next(3) / 2.0,
            Anything = d.Next(4) switch { 0 => null, 1 => d.Text(), 2 => d.Next(100), _ => d.Leaf() },
            Bag = d.Maybe() ? null : new Dictionary<string, object?> { ["a"] = d.Text(), ["b"] = d.Money(), ["c"] = d.Leaf() },
            Quoted = d.Next(5),
            Shouting = d.Maybe() ? null : new Point { X = d.Next(9) },
        };
    }

    private static (string Serializer, string Writer) Both(Root root)
    {
        var expected = JsonSerializer.SerializeToUtf8Bytes(root, Info);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = Info.Options.Encoder, SkipValidation = true }))
        {
            ContractWriter.For(Info)(writer, root);
        }

        return (Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Property(MaxTest = 500)]
    public void TheWriter_GivesTheSerializersBytes(int seed)
    {
        var (serializer, written) = Both(Generate(seed));
        Assert.Equal(serializer, written);
    }

    [Fact]
    public void EveryRule_LeavesOutWhatTheSerializerLeavesOut()
    {
        var (empty, emptyWritten) = Both(new Root());
        Assert.Equal(empty, emptyWritten);
        Assert.Equal("""{"alwaysWritten":0,"view":"computed"}""", emptyWritten); // defaults out; Always in; the view kept

        var (serializer, written) = Both(new Root { Scaled = 0.00m, NonEmpty = [], NullSkipped = default(DateTimeOffset), Predicate = 0.75, First = "a", Second = "b" });
        Assert.Equal(serializer, written);
        Assert.StartsWith("""{"first":"a",""", written); // ordered by JsonPropertyOrder: -1 first, 2 after the unordered ones
        Assert.Contains("\"scaled\":0.00", written);
        Assert.Contains("\"nullSkipped\":\"0001-01-01T00:00:00+00:00\"", written);
        Assert.DoesNotContain("nonEmpty", written);
        Assert.Contains("\"predicate\":0.75", written);
    }

    // Sixty-fifth session: the stored contract's options are locked when made. Unlocked options answer every GetTypeInfo
    // with a contract built anew (every modifier run again), and once the kept collections' elements are written by their
    // contract writers nothing goes through JsonSerializer to lock them: a light profile's commit allocated twice its bytes.
    [Fact]
    public void TheStoredContract_IsBuiltOnce_AndItsElementsContractsWithIt()
    {
        var info = (JsonTypeInfo)typeof(ProfileSerializer).GetField("ProfileInfo", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        Assert.True(info.Options.IsReadOnly);
        Assert.Same(info.Options.GetTypeInfo(typeof(TimelineEntry)), info.Options.GetTypeInfo(typeof(TimelineEntry)));
        Assert.Same(info.Options.GetTypeInfo(typeof(OrderFact)), info.Options.GetTypeInfo(typeof(OrderFact)));
    }

    /// <summary>
    /// Profiles as the engine leaves them: a person's events of every kind under 2–4 of her identifiers in any arrival
    /// order (merges, conflicts, cart, wishlist, orders, returns, cancellations, consent, bounces, loyalty, preferences),
    /// live segments, and a journey with an A/B split, sends on two channels, a wait and a goal (journey state, sent
    /// messages, message keys, touches, conversions). Each stored document, and each profile read back, is written as the
    /// serializer writes it.
    /// </summary>
    [Property(Arbitrary = [typeof(Trust.PersonEventArbitrary)], MaxTest = 40)]
    public void EngineProfiles_AreWrittenAsTheSerializerWritesThem((int Identifiers, Trust.PersonEvent[] Events) stream) =>
        EngineProfilesAsync(stream.Identifiers, stream.Events).GetAwaiter().GetResult();

    private static readonly Identifier[] Person =
    [
        Identifier.CustomerId("c-42"), Identifier.Email("ann@example.com"), Identifier.AnonymousId("cookie-1"), Identifier.Phone("+447946000042"),
    ];

    private static async Task EngineProfilesAsync(int identifierCount, Trust.PersonEvent[] events)
    {
        var promo = Journeys.JourneyRig.Parse("""
            {"id": "promo", "version": 1, "name": "Promo", "trigger": {"type": "event", "event": "page.viewed"},
             "goal": {"event": "order.placed", "within": "P7D"},
             "steps": [{"id": "ab", "type": "split", "variants": [{"name": "a", "weight": 1, "next": "mail"}, {"name": "b", "weight": 1, "next": "text"}]},
                       {"id": "mail", "type": "send", "channels": ["email"], "template": "promo-mail", "class": "transactional", "next": "pause"},
                       {"id": "text", "type": "send", "channels": ["sms"], "template": "promo-text", "class": "transactional", "next": "pause"},
                       {"id": "pause", "type": "delay", "duration": "PT2H"},
                       {"id": "done", "type": "exit"}]}
            """);
        var segments = new[]
        {
            """{"id": "buyers", "name": "x", "rule": {"event": "order.placed", "count": {"op": "gte", "value": 2}, "within": "P1D"}}""",
            """{"id": "gold", "name": "x", "rule": {"trait": "tier", "op": "eq", "value": "gold"}}""",
            """{"id": "spenders", "name": "x", "rule": {"aggregate": "sum", "event": "order.placed", "property": "total", "op": "gte", "value": 25}}""",
        }.Select(j => Omnichannel.Sdk.Segments.SegmentJson.Parse(j).Value!);
        var start = new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.Zero);
        var store = new Storage.InMemoryOmnichannelStore();
        await using var rig = Journeys.JourneyRig.Create([promo], segments, start: start, store: store);
        var ids = Person[..identifierCount];
        var arriving = events
            .Select((e, i) => (Spec: e, Event: Trust.ArrivalOrderProperties.Build(e, i, start - TimeSpan.FromHours(1))))
            .OrderBy(b => b.Spec.ArrivalKey)
            .Select(b => b.Event with { Identifiers = [.. ids.Where((_, i) => (b.Spec.IdentifierMask & (1 << i)) != 0)] })
            .ToList();
        for (var i = 0; i < arriving.Count; i++)
        {
            await rig.Engine.TrackAsync(arriving[i]);
            if (i % 7 == 6)
            {
                await rig.AdvanceAsync(TimeSpan.FromMinutes(50)); // waits end, messages go out and report back
            }
        }

        await rig.AdvanceAsync(TimeSpan.FromHours(3));
        var checkedAny = await CompareStoredAsync(store, ids) > 0;
        Assert.Equal(arriving.Count > 0, checkedAny);
    }

    /// <summary>
    /// Compares each stored profile holding one of <paramref name="ids"/> with the serializer's bytes of the profile read
    /// back, and the writer's bytes of it with the stored ones. Returns how many profiles it compared.
    /// </summary>
    internal static async Task<int> CompareStoredAsync(Storage.InMemoryOmnichannelStore store, IReadOnlyList<Identifier> ids)
    {
        var n = 0;
        foreach (var owner in (await store.ResolveIdentifiersAsync(ids)).Values.Distinct())
        {
            var stored = (await store.LoadProfileAsync(owner))!;
            var read = ProfileSerializer.Deserialize(stored);
            var written = Encoding.UTF8.GetString(stored.Document);
            ProfileSerializer.UseSerializer = true;
            try
            {
                Assert.Equal(Encoding.UTF8.GetString(ProfileSerializer.Serialize(read)), written);
            }
            finally
            {
                ProfileSerializer.UseSerializer = false;
            }

            Assert.Equal(written, Encoding.UTF8.GetString(ProfileSerializer.Serialize(read)));
            n++;
        }

        return n;
    }
}
