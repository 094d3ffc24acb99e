using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Journeys;
using Omnichannel.Sdk.Segments;
using Omnichannel.Sdk.Tests.Segments.Evaluation;

namespace Omnichannel.Sdk.Tests.Audit;

/// <summary>
/// Random definitions written with the C# builders, from a seed FsCheck draws (the generators below are deterministic
/// in it, so a failing seed replays): every segment rule kind and operator, nested all/any/not, hostile strings and
/// numbers; journeys with every trigger and step kind, branches, splits with weights, local-time waits, goals, exits
/// and cooldowns.
/// </summary>
public static class DefinitionSeeds
{
    /// <summary>A seed and a size (0..4) for one definition.</summary>
    public static Arbitrary<(int Seed, int Size)> Seeds() =>
        (from seed in Gen.Choose(0, int.MaxValue - 1)
         from size in Gen.Choose(0, 4)
         select (seed, size)).ToArbitrary();
}

/// <summary>Builds random valid segment rules and journeys (see <see cref="DefinitionSeeds"/>).</summary>
internal sealed class DefinitionGen(int seed, int size)
{
    public static readonly string[] HostileStrings =
    [
        string.Empty, "vip", "Ann", "a\"b", "back\\slash", "C:\\path\\", "café", "cafe\u0301", "😀", "e\u0301😀\u200d",
        "\u0000", "\t\n\r", "line\u2028sep", "</script>", "null", "  spaced  ", "\u001f", "\uFEFFbom", "ÅNGSTRÖM", "{\"json\":1}",
        "'single'", "%s{0}", "\u00a0",
        // Lone surrogates ("\uD800") are left out: not text, written as U+FFFD by System.Text.Json (design notes, audit RT).
    ];

    public static readonly string[] NumberTexts =
    [
        "0", "1", "-1", "0.1", "1e-7", "1E-7", "79228162514264337593543950335", "-79228162514264337593543950335", "-0", "-0.0",
        "0.30000000000000004", "1e3", "1.0", "12.75", "3.14159265358979323846264338327950288", "1e-28", "100", "2.5",
    ];

    public static readonly string[] Durations = ["P1M", "P30D", "PT24H", "P1D", "P2W", "PT90M", "P1Y2M3DT4H5M6S", "PT36H", "P3M", "PT1S", "P1Y"];

    private static readonly string[] TraitPaths = ["tier", "score", "name", "tags", "address.city", "birthday", "signed_up_at", "vip"];
    private static readonly string[] EventTypes = ["app.opened", "page.viewed", "email.opened"];
    private static readonly string[] PropertyPaths = ["total", "category", "items", "currency"];
    private static readonly string[] NumberStats = [ProfileStatisticNames.OrderCount, ProfileStatisticNames.TotalSpent, ProfileStatisticNames.AverageOrderValue, ProfileStatisticNames.EventCount];
    private static readonly string[] DateStats = [ProfileStatisticNames.FirstSeen, ProfileStatisticNames.LastSeen, ProfileStatisticNames.LastOrderAt];
    private static readonly string[] Stages = ["visitor", "lead", "customer", "repeatCustomer"];

    private readonly Random _r = new(seed);
    private readonly RuleBuilder _b = RuleBuilder.Instance;

    public int Size { get; } = size;

    public T Pick<T>(IReadOnlyList<T> items) => items[_r.Next(items.Count)];

    public bool Chance(double p) => _r.NextDouble() < p;

    public int Next(int max) => _r.Next(max);

    public string Text() => Pick(HostileStrings);

    public string NonEmptyText() => Pick(HostileStrings.Where(t => t.Trim().Length > 0).ToList());

    /// <summary>A number as a C# value (double, decimal, long) or as JSON text, as a shop's code or file would give it.</summary>
    public JsonNode Number() => _r.Next(5) switch
    {
        0 => JsonValue.Create(Pick([0.1, 1e-7, -0.0, 12.75, 0.30000000000000004, 1e3, 2.5, -1.0])),
        1 => JsonValue.Create(Pick([0.1m, 79228162514264337593543950335m, -0m, 1.0m, 0.0000001m, 12.750m, -79228162514264337593543950335m])),
        2 => JsonValue.Create(Pick([0L, 1L, -1L, 100L, long.MaxValue / 1_000_000_000L])),
        _ => JsonNode.Parse(Pick(NumberTexts))!,
    };

    public JsonNode Scalar() => _r.Next(4) switch
    {
        0 => Number(),
        1 => JsonValue.Create(Chance(0.5)),
        _ => JsonValue.Create(Text()),
    };

    /// <summary>A duration as C# code makes one: parsed, or from a TimeSpan (which may hold a fraction of a second).</summary>
    public IsoDuration Duration() => _r.Next(4) switch
    {
        0 => IsoDuration.FromTime(TimeSpan.FromSeconds(Pick([1, 59, 90, 3_601, 86_400, 90_061]))),
        1 => IsoDuration.FromDays(1 + _r.Next(60)),
        _ => IsoDuration.Parse(Pick(Durations)),
    };

    public SegmentRule Rule(int depth = 0)
    {
        if (depth < Size && Chance(0.35))
        {
            return _r.Next(3) switch
            {
                0 => _b.All(Children(depth)),
                1 => _b.Any(Children(depth)),
                _ => _b.Not(Rule(depth + 1)),
            };
        }

        return _r.Next(9) switch
        {
            0 or 1 => Complete(_b.Trait(Pick(TraitPaths))),
            2 => Stat(),
            3 => Event(),
            4 => Aggregate(),
            5 => Recency(),
            6 => _b.Segment(Pick(["vip", "lapsed_vip", "other-seg"])),
            7 => _b.Reachable(Pick([ChannelNames.Email, ChannelNames.Sms, ChannelNames.Push]), Chance(0.5) ? Pick(["newsletter", "offers"]) : null),
            _ => Complete(_b.Trait(Pick(TraitPaths))),
        };
    }

    private SegmentRule[] Children(int depth) => [.. Enumerable.Range(0, _r.Next(4)).Select(_ => Rule(depth + 1))];

    /// <summary>Any operator with an operand it accepts.</summary>
    public T Complete<T>(ConditionBuilder<T> c)
    {
        switch (_r.Next(14))
        {
            case 0: return c.Eq(Scalar());
            case 1: return c.Ne(Scalar());
            case 2: return c.Gt(Number());
            case 3: return c.Gte(Number());
            case 4: return c.Lt(Number());
            case 5: return c.Lte(Number());
            case 6: return c.In([.. Enumerable.Range(0, 1 + _r.Next(3)).Select(_ => Scalar())]);
            case 7: return c.NotIn([.. Enumerable.Range(0, 1 + _r.Next(3)).Select(_ => Scalar())]);
            case 8: return c.Contains(Chance(0.7) ? JsonValue.Create(Text()) : Number());
            case 9: return c.StartsWith(Text());
            case 10: return Chance(0.5) ? c.Exists() : c.NotExists();
            case 11:
            {
                var (lo, hi) = (_r.Next(-5, 5), _r.Next(-5, 5));
                return c.Between(Math.Min(lo, hi) + 0.5m, Math.Max(lo, hi) + 0.75m);
            }

            case 12: return Chance(0.5) ? c.WithinLast(Pick(Durations)) : c.MoreThanAgo(Duration());
            default: return c.AnniversaryWithin(Pick(Durations));
        }
    }

    private T NumberCompare<T>(ConditionBuilder<T> c) => _r.Next(7) switch
    {
        0 => c.Eq(Number()),
        1 => c.Gt(Number()),
        2 => c.Gte(Number()),
        3 => c.Lt(Number()),
        4 => c.Lte(Number()),
        5 => c.In(Number(), Number()),
        _ => c.Between(-0.5m, 3.25m),
    };

    private SegmentRule Stat()
    {
        switch (_r.Next(4))
        {
            case 0: return NumberCompare(_b.Stat(Pick(NumberStats)));
            case 1:
            {
                var c = _b.Stat(Pick(DateStats));
                return _r.Next(3) switch
                {
                    0 => c.WithinLast(Pick(Durations)),
                    1 => c.MoreThanAgo(Pick(Durations)),
                    _ => c.Gt("2024-01-01T00:00:00+01:00"),
                };
            }

            case 2:
            {
                var c = _b.Stat(ProfileStatisticNames.LifecycleStage);
                return _r.Next(4) switch
                {
                    0 => c.Eq(Pick(Stages)),
                    1 => c.Ne(Pick(Stages)),
                    2 => c.In(Pick(Stages), Pick(Stages)),
                    _ => c.NotIn(Pick(Stages)),
                };
            }

            default: return _b.Stat(ProfileStatisticNames.ChannelsUsed).Contains(Pick(["email", "sms"]));
        }
    }

    private PropertyCondition[] Where() => [.. Enumerable.Range(0, _r.Next(3)).Select(_ => Complete(_b.Property(Pick(PropertyPaths))))];

    private SegmentRule Event()
    {
        var e = _b.Event(Pick(EventTypes)).Where(Where());
        if (Chance(0.6))
        {
            e = e.Count(c => _r.Next(4) switch
            {
                0 => c.Gte(_r.Next(0, 4)),
                1 => c.Eq(JsonNode.Parse(Pick(["0", "1", "2.0", "1e0"]))),
                2 => c.Lte(3L),
                _ => c.Between(_r.Next(0, 2), 2 + _r.Next(3)),
            });
        }

        return Window(e, (r, d) => r.Within(d), (r, f, t) => r.Between(f, t));
    }

    private SegmentRule Aggregate()
    {
        var function = Pick(Enum.GetValues<AggregateFunction>());
        var property = function == AggregateFunction.Count && Chance(0.5) ? null : Pick(PropertyPaths);
        var a = NumberCompare(_b.Aggregate(function, Pick(EventTypes), property));
        return Window(a.Where(Where()), (r, d) => r.Within(d), (r, f, t) => r.Between(f, t));
    }

    private TRule Window<TRule>(TRule rule, Func<TRule, IsoDuration, TRule> within, Func<TRule, DateTimeOffset, DateTimeOffset, TRule> between) =>
        _r.Next(3) switch
        {
            0 => rule,
            1 => within(rule, Duration()),
            _ => between(
                rule,
                new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.FromHours(_r.Next(-12, 13))).AddTicks(_r.Next(3) == 0 ? 1234567 : 0),
                new DateTimeOffset(2024, 3, 1, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(_r.Next(2))),
        };

    private SegmentRule Recency()
    {
        var r = Chance(0.5) ? _b.LastEvent(Pick(EventTypes)) : _b.FirstEvent(Pick(EventTypes));
        var d = Duration();
        return (Chance(0.5) ? r.WithinLast(d) : r.MoreThanAgo(d)).Where(Where());
    }

    // --- Profiles ---------------------------------------------------------------------------------------------------

    public CustomerEvent[] Events()
    {
        var t0 = EvaluationFixture.T0;
        var events = new List<CustomerEvent>();
        var traits = new JsonObject();
        foreach (var path in TraitPaths.Where(_ => Chance(0.6)))
        {
            JsonNode? value = path switch
            {
                "birthday" or "signed_up_at" => JsonValue.Create(t0.AddDays(-_r.Next(0, 800)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)),
                "tags" => new JsonArray(Scalar(), Scalar()),
                _ => Scalar(),
            };
            if (path == "address.city")
            {
                traits["address"] = new JsonObject { ["city"] = value };
            }
            else
            {
                traits[path] = value;
            }
        }

        events.Add(EvaluationFixture.Ev("profile.updated", t0.AddDays(-400), traits: JsonSerializer.Deserialize<JsonElement>(traits.ToJsonString())));
        for (var i = 0; i < _r.Next(12); i++)
        {
            var props = new JsonObject();
            foreach (var p in PropertyPaths.Where(_ => Chance(0.6)))
            {
                props[p] = p == "items" ? new JsonArray(Scalar(), Scalar()) : Scalar();
            }

            events.Add(EvaluationFixture.Ev(Pick(EventTypes), t0.AddHours(-_r.Next(0, 24 * 500)), properties: JsonSerializer.Deserialize<JsonElement>(props.ToJsonString())));
        }

        return [.. events.OrderBy(e => e.Timestamp)];
    }

    // --- Journeys ---------------------------------------------------------------------------------------------------

    public JourneyDefinition Journey()
    {
        var ids = Enumerable.Range(0, 2 + Size + _r.Next(4)).Select(i => Pick(["s", "step_", "a-"]) + i).ToList();
        var builder = Sdk.Journeys.Journey.Define(Pick(["welcome", "cart_abandon", "win-back"]), NonEmptyText(), 1 + _r.Next(3));
        // A trigger's maxAge: the default (left out of the JSON), none (null), or one of its own.
        IsoDuration? MaxAge() => _r.Next(4) switch { 0 => null, 1 => IsoDuration.Parse("PT4H"), 2 => IsoDuration.Parse("P30D"), _ => EventTrigger.DefaultMaxAge };
        var trigger = _r.Next(5);
        if (Chance(0.5))
        {
            builder = builder.Describe(Text());
        }

        builder = builder.TriggeredBy(t => trigger switch
        {
            0 => t.Event(Pick(EventTypes), Where()) with { MaxAge = MaxAge() },
            1 => t.SegmentEntered(Pick(["vip", "lapsed_vip"])) with { MaxAge = MaxAge() },
            2 => t.SegmentExited("vip") with { MaxAge = MaxAge() },
            3 => t.Date(Pick(["birthday", "signed_up_at"]), Pick(["P0D", "-P7D", "P1D", "-PT12H", "P1M"]), LocalTime(), Chance(0.5)),
            _ => t.Inactivity("cart.item_added", Pick(Durations), Chance(0.5) ? ["order.placed"] : ["order.placed", "email.opened"]) with { MaxAge = MaxAge() },
        });
        switch (_r.Next(5))
        {
            case 0: builder = builder.ReEnter(Pick(Enum.GetValues<ReEntryPolicy>().Where(p => p != ReEntryPolicy.AfterCooldown).ToList())); break;
            case 1: builder = builder.ReEnterAfterCooldown(Pick(Durations)); break;
        }

        if (Chance(0.3))
        {
            builder = builder.MaxConcurrent(1 + _r.Next(5));
        }

        if (trigger == 0 && Chance(0.3))
        {
            builder = builder.CorrelatedBy(Pick(["cart_id", "order.id"]));
        }

        if (Chance(0.3))
        {
            builder = builder.EnterWhen(_ => Rule(1));
        }

        if (Chance(0.4))
        {
            builder = builder.ExitOn("order.placed", Where());
        }

        if (Chance(0.3))
        {
            builder = builder.ExitWhen(_ => Rule(1));
        }

        if (Chance(0.5))
        {
            builder = builder.Goal("order.placed", Pick(Durations), Where());
        }

        return builder.Steps(s =>
        {
            for (var i = 0; i < ids.Count; i++)
            {
                s = Step(s, ids, i);
            }

            return s;
        }).Build();
    }

    private TimeOnly LocalTime() => _r.Next(4) switch
    {
        0 => new TimeOnly(_r.Next(24), _r.Next(60)),
        1 => new TimeOnly(_r.Next(24), _r.Next(60), _r.Next(60)),
        2 => new TimeOnly(9, 0),
        _ => new TimeOnly(_r.Next(24), _r.Next(60), _r.Next(60), _r.Next(1000)),
    };

    private string Forward(List<string> ids, int i) => ids[i + 1 + _r.Next(ids.Count - i - 1)];

    private JourneyStepsBuilder Step(JourneyStepsBuilder s, List<string> ids, int i)
    {
        var id = ids[i];
        if (i == ids.Count - 1)
        {
            return s.Exit(id, Chance(0.5) ? NonEmptyText() : null);
        }

        var next = ids[i + 1];
        return _r.Next(11) switch
        {
            0 => s.Send(id, Chance(0.7) ? [ChannelNames.Email] : [ChannelNames.Sms, ChannelNames.Email], Pick(["welcome", "reminder_1"]), Chance(0.5) ? "newsletter" : null, Chance(0.8) ? MessageClass.Marketing : MessageClass.Transactional, Chance(0.5) ? next : null),
            1 => s.Delay(id, Pick(Durations), Chance(0.5) ? next : null),
            2 => s.DelayUntilLocalTime(id, LocalTime(), [.. Enum.GetValues<DayOfWeek>().Where(_ => Chance(0.3))]),
            3 => s.DelayUntilDateTrait(id, "birthday", Pick(["P0D", "-P7D", "PT12H"]), Chance(0.5) ? LocalTime() : null),
            4 => Wait(s, ids, i),
            5 => s.Branch(id, c => c.When(_ => Condition(0), Forward(ids, i)).When(_ => Condition(0), Forward(ids, i)), next),
            6 => s.Split(id, [new SplitVariant("a", 1 + _r.Next(100), next), .. Enumerable.Range(0, _r.Next(3)).Select(k => new SplitVariant("v" + k, _r.Next(1, 1000), Forward(ids, i)))], Chance(0.5) ? _r.Next(1, 50) : null),
            7 => s.UpdateProfile(id, [new TraitUpdate(TraitUpdateKind.Set, "tier", Scalar()), new TraitUpdate(TraitUpdateKind.Unset, "score", null), new TraitUpdate(TraitUpdateKind.Increment, "points", Number())]),
            8 => s.Emit(id, "journey.reached", Chance(0.5) ? new JsonObject { ["text"] = Text(), ["n"] = Number() } : null),
            9 => s.Webhook(id, "https://example.com/hook?q=" + Uri.EscapeDataString(Text()), Chance(0.5) ? NonEmptyText() : null),
            _ => s.Send(id, [ChannelNames.Push], "push_1"),
        };
    }

    private JourneyStepsBuilder Wait(JourneyStepsBuilder s, List<string> ids, int i)
    {
        // A branch without 'next' goes on to the step after the wait; restartOnMatch needs one.
        var open = Chance(0.5);
        EventBranch[] branches = [.. Enumerable.Range(0, 1 + _r.Next(2)).Select(k => new EventBranch(EventTypes[k], k == 0 && open ? null : Forward(ids, i)) { Where = Where() })];
        return s.WaitForEvent(ids[i], Pick(Durations), branches, ids[i + 1], open && Chance(0.5));
    }

    private JourneyCondition Condition(int depth)
    {
        var c = JourneyConditionBuilder.Instance;
        if (depth < 2 && Chance(0.3))
        {
            return _r.Next(3) switch
            {
                0 => c.All(Condition(depth + 1), Condition(depth + 1)),
                1 => c.Any(Condition(depth + 1)),
                _ => c.Not(Condition(depth + 1)),
            };
        }

        return _r.Next(3) switch
        {
            0 => c.Profile(_ => Rule(2)),
            1 => Complete(c.Trigger(Pick(["total", "properties.total", "category"]))),
            _ => Complete(c.Context(Pick(["variant", "step"]))),
        };
    }
}
