using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Omnichannel.Sdk.Segments;

/// <summary>The kinds of value a rule compares.</summary>
internal enum RuleValueKind
{
    Missing,
    Number,
    String,
    Boolean,
    Date,
    Array,
    Object,

    /// <summary>
    /// The values a path reached through a list of objects (<c>products.category</c> over <c>products: [{…}, {…}]</c>),
    /// one per element that has it, in order; never empty. A condition holds when it holds for any of them, and a negative
    /// one (<c>ne</c>, <c>notIn</c>, <c>notExists</c>) when its positive form holds for none.
    /// </summary>
    Each,
}

/// <summary>
/// A value read by a rule (a trait, a statistic, an event property, an aggregate, an operand), reduced to what the
/// operators need: numbers as <see cref="decimal"/>, strings, booleans, instants, arrays. JSON <c>null</c> is missing.
/// </summary>
internal readonly struct RuleValue
{
    private RuleValue(RuleValueKind kind, decimal number = 0, string? text = null, bool boolean = false, DateTimeOffset date = default, IReadOnlyList<RuleValue>? items = null, object? content = null)
    {
        Kind = kind;
        Number = number;
        Text = text;
        Boolean = boolean;
        Date = date;
        Items = items;
        _content = content;
    }

    // An object's members (a JsonElement or a JsonObject), read only by DistinctKey: two different objects are two values
    // of a distinct count, and one leaving a window is that one (audit U91). Null for an object of unknown content.
    private readonly object? _content;

    public RuleValueKind Kind { get; }

    public decimal Number { get; }

    public string? Text { get; }

    public bool Boolean { get; }

    public DateTimeOffset Date { get; }

    public IReadOnlyList<RuleValue>? Items { get; }

    public bool IsMissing => Kind == RuleValueKind.Missing;

    public static RuleValue Missing => default;

    public static RuleValue Object => new(RuleValueKind.Object);

    private static RuleValue ObjectOf(object content) => new(RuleValueKind.Object, content: content);

    public static RuleValue FromNumber(decimal d) => new(RuleValueKind.Number, number: d);

    // Canonical composition (NFC): "café" typed on one device and decomposed by another is one string to every operator.
    public static RuleValue FromString(string s) => new(RuleValueKind.String, text: s.IsNormalized() ? s : s.Normalize());

    public static RuleValue FromBoolean(bool b) => new(RuleValueKind.Boolean, boolean: b);

    public static RuleValue FromDate(DateTimeOffset? d) => d is { } v ? new(RuleValueKind.Date, date: v) : Missing;

    public static RuleValue FromArray(IReadOnlyList<RuleValue> items) => new(RuleValueKind.Array, items: items);

    /// <summary>The values a path reached through a list (<see cref="RuleValueKind.Each"/>); missing when there are none.</summary>
    public static RuleValue FromEach(IReadOnlyList<RuleValue> items) => items.Count == 0 ? Missing : new(RuleValueKind.Each, items: items);

    public static RuleValue FromElement(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                if (e.TryGetDecimal(out var d))
                {
                    return FromNumber(d);
                }

                // Beyond decimal's range: saturate, so comparisons with any realistic operand still answer right.
                return FromNumber(e.GetDouble() > 0 ? decimal.MaxValue : decimal.MinValue);
            case JsonValueKind.String:
                return FromString(e.GetString()!);
            case JsonValueKind.True:
                return FromBoolean(true);
            case JsonValueKind.False:
                return FromBoolean(false);
            case JsonValueKind.Array:
                var items = new List<RuleValue>(e.GetArrayLength());
                foreach (var item in e.EnumerateArray())
                {
                    items.Add(FromElement(item));
                }

                return FromArray(items);
            case JsonValueKind.Object:
                return ObjectOf(e);
            default:
                return Missing;
        }
    }

    public static RuleValue FromNode(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return Missing;
            case JsonObject o:
                return ObjectOf(o);
            case JsonArray a:
                var items = new List<RuleValue>(a.Count);
                foreach (var item in a)
                {
                    items.Add(FromNode(item));
                }

                return FromArray(items);
            case JsonValue v:
                if (v.TryGetValue<JsonElement>(out var element))
                {
                    return FromElement(element);
                }

                if (v.TryGetValue<string>(out var text))
                {
                    return FromString(text);
                }

                // Any other CLR value the C# builder was given (a number, a DateTimeOffset, a Guid, a char...) is what its
                // JSON text says, so a definition means the same in C# and in its JSON form (audit U43: a Guid threw here
                // on every event, and a DateTimeOffset compared otherwise than its text).
                using (var document = JsonDocument.Parse(v.ToJsonString()))
                {
                    return FromElement(document.RootElement);
                }

            default:
                return Missing;
        }
    }

    /// <summary>
    /// The value as an amount for sum, avg, min and max: a numeric string ("19.99", as some shops send money, and as the
    /// events' validation and the profile's statistics accept it) is its number; anything else is itself.
    /// </summary>
    public static RuleValue AsAmount(in RuleValue v)
    {
        if (v.Kind != RuleValueKind.Each)
        {
            return v.Kind == RuleValueKind.String && NumberText.TryParseDecimal(v.Text, out var d) ? FromNumber(d) : v;
        }

        // Audit U74: a path through a list (products.quantity) is the event's sum of the amounts it reaches (the units of
        // the order), so sum, avg, min and max read one amount per event as for any other path; none is no amount.
        decimal sum = 0;
        var any = false;
        foreach (var item in v.Items!)
        {
            if (AsAmount(item) is { Kind: RuleValueKind.Number } n)
            {
                sum = SaturatingAdd(sum, n.Number);
                any = true;
            }
        }

        return any ? FromNumber(sum) : Missing;

        static decimal SaturatingAdd(decimal a, decimal b)
        {
            try
            {
                return a + b;
            }
            catch (OverflowException)
            {
                return b > 0 ? decimal.MaxValue : decimal.MinValue;
            }
        }
    }

    /// <summary>The value as an instant: a date, or a string in ISO 8601 form (<c>2024-05-17</c>, <c>2024-05-17T10:00:00Z</c>).</summary>
    public bool TryGetInstant(out DateTimeOffset instant)
    {
        if (Kind == RuleValueKind.Date)
        {
            instant = Date;
            return true;
        }

        if (Kind == RuleValueKind.String && LooksLikeIsoDate(Text!) &&
            DateTimeOffset.TryParse(Text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out instant))
        {
            return true;
        }

        instant = default;
        return false;
    }

    // Only ISO-looking strings are dates: "1/2/2024" or "2024" stay strings.
    internal static bool LooksLikeIsoDate(string s) =>
        s.Length >= 10 && char.IsAsciiDigit(s[0]) && char.IsAsciiDigit(s[1]) && char.IsAsciiDigit(s[2]) && char.IsAsciiDigit(s[3]) &&
        s[4] == '-' && char.IsAsciiDigit(s[5]) && char.IsAsciiDigit(s[6]) && s[7] == '-' && char.IsAsciiDigit(s[8]) && char.IsAsciiDigit(s[9]);

    /// <summary>
    /// Orders two values of comparable kinds; <see langword="null"/> when they cannot be compared. An instant (a date, or
    /// ISO 8601 text) compares only with another instant: text that is no instant ("May 2024", "2024-13-45") is not
    /// before or after one, as LaunchDarkly's date operators make an unparseable value a non-match.
    /// </summary>
    public static int? Compare(in RuleValue a, in RuleValue b)
    {
        if (a.Kind == RuleValueKind.Number && b.Kind == RuleValueKind.Number)
        {
            return a.Number.CompareTo(b.Number);
        }

        if (a.Kind == RuleValueKind.Date || b.Kind == RuleValueKind.Date ||
            (a.Kind == RuleValueKind.String && LooksLikeIsoDate(a.Text!)) || (b.Kind == RuleValueKind.String && LooksLikeIsoDate(b.Text!)))
        {
            var aInstant = a.TryGetInstant(out var x);
            var bInstant = b.TryGetInstant(out var y);
            if (aInstant && bInstant)
            {
                return x.UtcTicks.CompareTo(y.UtcTicks);
            }

            if (aInstant || bInstant)
            {
                return null;
            }
        }

        if (a.Kind == RuleValueKind.String && b.Kind == RuleValueKind.String)
        {
            return string.CompareOrdinal(a.Text, b.Text);
        }

        if (a.Kind == RuleValueKind.Boolean && b.Kind == RuleValueKind.Boolean)
        {
            return a.Boolean.CompareTo(b.Boolean);
        }

        return null;
    }

    /// <summary>Equality as <c>eq</c> sees it: numbers by value, strings ordinally, dates as instants, arrays element-wise.</summary>
    public static bool AreEqual(in RuleValue a, in RuleValue b)
    {
        if (a.Kind == RuleValueKind.Array && b.Kind == RuleValueKind.Array)
        {
            if (a.Items!.Count != b.Items!.Count)
            {
                return false;
            }

            for (var i = 0; i < a.Items.Count; i++)
            {
                if (!AreEqual(a.Items[i], b.Items[i]))
                {
                    return false;
                }
            }

            return true;
        }

        return Compare(a, b) == 0;
    }

    /// <summary>
    /// A key equal for values <see cref="AreEqual"/> treats as equal (for <c>distinct</c>), and for the values it cannot
    /// compare by their content: a list element by element, the values a path reached through a list (<see
    /// cref="RuleValueKind.Each"/>) one by one, an object member by member whatever their order (a <c>null</c> member is
    /// not there, as everywhere in rules). Before audit U91 every object, and every list or reached set, had one key.
    /// </summary>
    public string DistinctKey() => Kind switch
    {
        RuleValueKind.Number => "n:" + (Number / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture),
        RuleValueKind.String when TryGetInstant(out var i) => "d:" + i.UtcTicks.ToString(CultureInfo.InvariantCulture),
        RuleValueKind.String => "s:" + Text,
        RuleValueKind.Boolean => Boolean ? "b:1" : "b:0",
        RuleValueKind.Date => "d:" + Date.UtcTicks.ToString(CultureInfo.InvariantCulture),
        RuleValueKind.Array or RuleValueKind.Each or RuleValueKind.Object => PartKey(this),
        _ => "o:" + Kind.ToString(),
    };

    /// <summary>
    /// Whether two values are one value for an aggregate's walk (the one leaving a window is taken out): equal as
    /// <see cref="AreEqual"/> says for values it compares, else by <see cref="DistinctKey"/> (a list, a reached set or an
    /// object, which <see cref="AreEqual"/> never finds equal to anything, so one never left the walk; audit U91).
    /// </summary>
    public static bool SameValue(in RuleValue a, in RuleValue b)
    {
        if (a.Kind != b.Kind)
        {
            return false;
        }

        return a.Kind is RuleValueKind.Array or RuleValueKind.Each or RuleValueKind.Object
            ? string.Equals(a.DistinctKey(), b.DistinctKey(), StringComparison.Ordinal)
            : AreEqual(a, b);
    }

    // A key inside a list or an object: text is quoted, so no member's text can read as a delimiter.
    private static string PartKey(in RuleValue v)
    {
        switch (v.Kind)
        {
            case RuleValueKind.String when !v.TryGetInstant(out _):
                return "s" + JsonSerializer.Serialize(v.Text);
            case RuleValueKind.Array or RuleValueKind.Each:
                var list = new System.Text.StringBuilder(v.Kind == RuleValueKind.Array ? "[" : "*[");
                for (var i = 0; i < v.Items!.Count; i++)
                {
                    list.Append(i == 0 ? "" : ",").Append(v.Items[i].IsMissing ? "-" : PartKey(v.Items[i]));
                }

                return list.Append(']').ToString();
            case RuleValueKind.Object:
                var members = new List<(string Name, string Key)>();
                switch (v._content)
                {
                    case JsonElement element:
                        foreach (var member in element.EnumerateObject())
                        {
                            if (FromElement(member.Value) is { IsMissing: false } value)
                            {
                                members.Add((member.Name, PartKey(value)));
                            }
                        }

                        break;
                    case JsonObject node:
                        foreach (var (name, child) in node)
                        {
                            if (FromNode(child) is { IsMissing: false } value)
                            {
                                members.Add((name, PartKey(value)));
                            }
                        }

                        break;
                    default:
                        return "o:Object";
                }

                members.Sort((x, y) => string.CompareOrdinal(x.Name, y.Name));
                var text = new System.Text.StringBuilder("{");
                for (var i = 0; i < members.Count; i++)
                {
                    text.Append(i == 0 ? "" : ",").Append(JsonSerializer.Serialize(members[i].Name)).Append(':').Append(members[i].Key);
                }

                return text.Append('}').ToString();
            default:
                return v.DistinctKey();
        }
    }
}
