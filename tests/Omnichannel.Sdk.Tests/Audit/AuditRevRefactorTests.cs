using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Omnichannel.Sdk.Delivery;
using Omnichannel.Sdk.Measurement;
using Omnichannel.Sdk.Storage;

namespace Omnichannel.Sdk.Tests.Audit;

// Guards the performance refactors since 599d990: each compares against the formula they replaced.
public sealed class AuditRevRefactorTests
{
    private static readonly DateTimeOffset T0 = new(2024, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static int _next;

    private static CustomerEvent Ev(string type, DateTimeOffset at, string propertiesJson) => new()
    {
        Id = "rev" + Interlocked.Increment(ref _next),
        Type = type,
        Timestamp = at,
        Identifiers = [Identifier.Email("ann@x.io")],
        Properties = JsonData.Parse(propertiesJson),
    };

    private static T Call<T>(Type type, string name, params object?[] args) =>
        (T)type.GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.Invoke(null, args)!;

    // ---- 5. order summary ----

    private static string? OldJoin(string? first, string? second)
    {
        var hasFirst = !string.IsNullOrWhiteSpace(first);
        var hasSecond = !string.IsNullOrWhiteSpace(second);
        return hasFirst && hasSecond ? first + ", " + second : hasFirst ? first : hasSecond ? second : null;
    }

    private static string? OldOrderSummary(JsonElement p)
    {
        string? Get(string name) => WellKnownProperties.String(p, name);

        // The total as it was sent (review of the thirty-fifth session: 19.90 is not shown as 19.9), the id in its one text.
        var sent = p.TryGetProperty("total", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetRawText() : Get("total");
        // An order_id missing or blank reads "order" alone (first hour, ninth pass: was "order , 10 EUR").
        var head = string.IsNullOrWhiteSpace(Get("order_id")) ? "order" : $"order {Get("order_id")}";
        return OldJoin(head, sent is { } total ? $"{total} {Get("currency")}".Trim() : null);
    }

    private static readonly string[] Texts = ["", " ", "  ", "\t", "\u00A0", "\n", "10", " 10", "10 ", "1 0", "EUR", " eur", "EUR ", "é", "o-1", " x "];

    private static Gen<string?> Part(bool numbers) =>
        Gen.OneOf(
            Gen.Constant<string?>(null), // absent
            Gen.Constant<string?>("null"),
            Gen.Elements(Texts).Select(s => (string?)JsonSerializer.Serialize(s)),
            numbers ? Gen.Elements("12.5", "0", "-3", "1e3").Select(s => (string?)s) : Gen.Constant<string?>("true"));

    public static class OrderArbitrary
    {
        public static Arbitrary<string> Properties() =>
            (from id in Part(numbers: true)
             from total in Part(numbers: true)
             from currency in Part(numbers: false)
             select "{" + string.Join(",", new[] { ("order_id", id), ("total", total), ("currency", currency) }
                 .Where(x => x.Item2 is not null).Select(x => $"\"{x.Item1}\":{x.Item2}")) + "}").ToArbitrary();
    }

    [Property(Arbitrary = [typeof(OrderArbitrary)], MaxTest = 2000)]
    public bool AuditRev_OrderSummary_equals_the_old_join_for_every_input(string properties)
    {
        var p = JsonDocument.Parse(properties).RootElement;
        return Call<string?>(typeof(ProfileCore), "OrderSummary", p) == OldOrderSummary(p);
    }

    // ---- 6. currency fast path ----

    [Theory]
    [InlineData("\"GBP\"", "GBP", true, false)]
    [InlineData("\"\\u0047BP\"", "GBP", true, false)]
    [InlineData("\"gbp\"", "GBP", false, false)]
    [InlineData("\" GBP \"", "GBP", false, false)]
    [InlineData("\"GbP\"", "GBP", false, false)]
    [InlineData("\"GB\"", null, true, true)]
    [InlineData("\"ÄBC\"", null, true, true)]
    [InlineData("\"\\u00c4BC\"", null, true, true)]
    [InlineData("12", null, true, true)]
    public void AuditRev_currency_normalisation_is_unchanged(string currency, string? expected, bool sameEvent, bool error)
    {
        var e = Ev(EventTypes.OrderPlaced, T0, $"{{\"order_id\":\"o1\",\"total\":10,\"currency\":{currency}}}");
        var errors = new List<ValidationError>();
        var after = OutcomeProperties.Normalize(e, new IdentityOptions(), null, errors);
        Assert.Equal(error, errors.Count > 0);
        Assert.Equal(sameEvent, ReferenceEquals(e, after));
        if (expected is not null)
        {
            Assert.Equal(expected, after.Properties.GetProperty("currency").GetString());
        }
    }

    // ---- 7. outcome enrichment ----

    private static CustomerEvent OldEnrich(CustomerEvent e, Touch touch)
    {
        bool Missing(string name, string? value) =>
            value is not null && !(e.Properties.ValueKind == JsonValueKind.Object && e.Properties.TryGetProperty(name, out _));
        if (!Missing("channel", touch.Channel) && !Missing("journey_id", touch.JourneyId) && !Missing("step_id", touch.StepId)
            && !Missing("variant", touch.Variant) && !Missing("template_id", touch.TemplateId))
        {
            return e;
        }

        var o = JsonNode.Parse(e.Properties.GetRawText())!.AsObject();
        var changed = false;
        void Set(string name, string? value)
        {
            if (value is not null && !o.ContainsKey(name))
            {
                o[name] = value;
                changed = true;
            }
        }

        Set("channel", touch.Channel);
        Set("journey_id", touch.JourneyId);
        Set("step_id", touch.StepId);
        Set("variant", touch.Variant);
        Set("template_id", touch.TemplateId);
        return changed ? e with { Properties = JsonSerializer.SerializeToElement(o) } : e;
    }

    [Theory]
    [InlineData("{\"message_id\":\"m1\"}")]
    [InlineData("{\"message_id\":\"m1\",\"channel\":\"sms\",\"variant\":null}")]
    [InlineData("{\"message_id\":\"m1\",\"név\":\"Ágnes ✓ 😀\",\"q\":\"<a href='x'>&</a>\",\"esc\":\"\\u00e9\\n\\\"\"}")]
    [InlineData("{\"message_id\":\"m1\",\"n\":1.50e2,\"deep\":{\"a\":[1,{\"b\":null},true]},\"journey_id\":\"j0\"}")]
    [InlineData("{\"message_id\":\"m1\",\"channel\":\"email\",\"journey_id\":\"j1\",\"step_id\":\"s1\",\"variant\":\"A\",\"template_id\":\"t1\"}")]
    public void AuditRev_enrich_writes_what_the_node_tree_wrote(string properties)
    {
        var e = Ev(EventTypes.MessageOpened, T0, properties);
        var touch = new Touch { Key = "m1", Channel = "email", JourneyId = "j1", StepId = "s1", Variant = "B", TemplateId = "tpl é" };
        var expected = OldEnrich(e, touch);
        var actual = Call<CustomerEvent>(typeof(MeasurementRecorder), "Enrich", e, touch);
        Assert.Equal(expected.Properties.GetRawText(), actual.Properties.GetRawText());
        Assert.Equal(ReferenceEquals(expected, e), ReferenceEquals(actual, e));
    }

    // ---- 2. element JSON through one writer per thread ----

    public sealed record Deep(string Name, JsonElement Payload);

    private static readonly JsonSerializerOptions Plain = new() { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    private static readonly JsonSerializerOptions Relaxed = new() { TypeInfoResolver = new DefaultJsonTypeInfoResolver(), Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonSerializerOptions Indented = new() { TypeInfoResolver = new DefaultJsonTypeInfoResolver(), WriteIndented = true, IndentSize = 4, NewLine = "\r\n" };

    private static JsonSerializerOptions StoredOptions =>
        ((JsonTypeInfo)typeof(ProfileSerializer).GetField("ProfileInfo", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!).Options;

    private static void SameAsSerializer<T>(T item, JsonTypeInfo<T> info)
        where T : class
    {
        byte[]? expected = null;
        byte[]? actual = null;
        var oldError = Record.Exception(() => expected = JsonSerializer.SerializeToUtf8Bytes(item, info));
        var newError = Record.Exception(() => actual = new WrittenJson<T>().Utf8(item, info));
        Assert.Equal(oldError?.GetType(), newError?.GetType());
        Assert.Equal(expected is null ? null : Encoding.UTF8.GetString(expected), actual is null ? null : Encoding.UTF8.GetString(actual));
    }

    [Fact]
    public void AuditRev_written_json_matches_the_serializer_for_text_and_size()
    {
        var info = (JsonTypeInfo<TimelineEntry>)Plain.GetTypeInfo(typeof(TimelineEntry));
        SameAsSerializer(new TimelineEntry("e1", "order.placed", "web", T0, "order 1, 10 EUR"), info);
        SameAsSerializer(new TimelineEntry("e\"2\\", "x", "web", T0, "Ágnes ✓ 😀 <b>&'\u0001\u2028"), info);
        SameAsSerializer(new TimelineEntry("e3", "x", "web", T0, new string('é', 100_000)), info); // beyond the kept buffer
        SameAsSerializer(new TimelineEntry("e4", "x", "web", T0, null), info);
        var profileInfo = (JsonTypeInfo<TimelineEntry>)StoredOptions.GetTypeInfo(typeof(TimelineEntry));
        SameAsSerializer(new TimelineEntry("e5", "x", "web", T0, "Ágnes ✓ 😀"), profileInfo);
    }

    [Fact]
    public void AuditRev_written_json_follows_each_options_encoder_and_indentation_on_one_thread()
    {
        var item = new TimelineEntry("e1", "x", "web", T0, "café <b> ✓");
        SameAsSerializer(item, (JsonTypeInfo<TimelineEntry>)Plain.GetTypeInfo(typeof(TimelineEntry)));
        SameAsSerializer(item, (JsonTypeInfo<TimelineEntry>)Relaxed.GetTypeInfo(typeof(TimelineEntry)));
        SameAsSerializer(item, (JsonTypeInfo<TimelineEntry>)Indented.GetTypeInfo(typeof(TimelineEntry)));
        SameAsSerializer(item, (JsonTypeInfo<TimelineEntry>)Plain.GetTypeInfo(typeof(TimelineEntry)));
    }

    private static JsonElement Nested(int depth) =>
        JsonDocument.Parse(string.Concat(Enumerable.Repeat("[", depth)) + string.Concat(Enumerable.Repeat("]", depth)), new JsonDocumentOptions { MaxDepth = depth + 1 }).RootElement;

    [Theory]
    [InlineData(10)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(70)]
    public void AuditRev_written_json_keeps_the_serializers_depth_limit(int depth)
    {
        SameAsSerializer(new Deep("d", Nested(depth)), (JsonTypeInfo<Deep>)Plain.GetTypeInfo(typeof(Deep)));
    }

    // ---- 9. message size counted ----

    private static long? SizeReported(OutboundMessage m)
    {
        var reason = DeliveryFaults.TooLarge(m, new DeliveryOptions { MaxMessageBytes = 0, MaxPushBytes = int.MaxValue });
        return reason is null ? null : long.Parse(reason.Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void SameSize(OutboundMessage m)
    {
        long? expected = null;
        long? actual = null;
        var oldError = Record.Exception(() => expected = JsonSerializer.SerializeToUtf8Bytes(m, m.GetType()).Length);
        var newError = Record.Exception(() => actual = SizeReported(m));
        Assert.Equal(oldError?.GetType(), newError?.GetType());
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void AuditRev_message_size_is_what_the_serializer_writes()
    {
        SameSize(new EmailMessage { MessageId = "m1", From = "a@x.io", To = "b@x.io", Subject = "Ágnes ✓ 😀 <&>", HtmlBody = new string('ő', 300_000) });
        SameSize(new SmsMessage { MessageId = "m2", To = "+441234567890", Body = "hi \"there\"" });
        SameSize(new WebhookMessage { MessageId = "m3", EventType = "x", Payload = JsonData.Parse("{\"a\":\"é\",\"b\":[1,2,{\"c\":null}]}") });
    }

    [Theory]
    [InlineData(60)]
    [InlineData(64)]
    [InlineData(70)]
    public void AuditRev_message_size_keeps_the_serializers_depth_limit(int depth)
    {
        SameSize(new WebhookMessage { MessageId = "m4", EventType = "x", Payload = Nested(depth) });
    }

    // ---- 10. outcome tag ----

    [Fact]
    public void AuditRev_outcome_names_are_the_lower_case_names()
    {
        foreach (var s in Enum.GetValues<TrackStatus>().Append((TrackStatus)(-1)).Append((TrackStatus)999))
        {
            Assert.Equal(s.ToString().ToLowerInvariant(), OmnichannelTelemetry.OutcomeName(s));
        }
    }

    // ---- 4. one owner for a run's later event ----

    [Fact]
    public void AuditRev_one_owner_reads_as_the_dictionary_it_replaced()
    {
        var a = Identifier.Email("a@x.io");
        var b = Identifier.CustomerId("c1");
        var c = Identifier.Email("c@x.io");
        IReadOnlyList<Identifier>[] cases = [[a], [a, a], [a, b, a], [b, a, b, a, c], []];
        foreach (var ids in cases)
        {
            var old = new Dictionary<Identifier, string>();
            foreach (var id in ids)
            {
                old[id] = "p1";
            }

            IReadOnlyDictionary<Identifier, string> owners = new OneOwner(ids, "p1");
            Assert.Equal(old.Count, owners.Count);
            Assert.Equal(old.Keys, owners.Keys);
            Assert.Equal(old.Values, owners.Values);
            Assert.Equal(old, owners);
            foreach (var id in new[] { a, b, c, Identifier.Email("A@x.io") })
            {
                Assert.Equal(old.ContainsKey(id), owners.ContainsKey(id));
                Assert.Equal(old.TryGetValue(id, out var x), owners.TryGetValue(id, out var y));
                Assert.Equal(x, y);
            }
        }
    }

    // ---- 3. a run's outbox, in order ----

    [Fact]
    public void AuditRev_run_outbox_keeps_every_entry_in_order()
    {
        static OutboxEntry Entry(string key) => new() { MessageKey = key, ProfileId = "p1", DueAt = T0, Payload = [] };
        List<IReadOnlyList<OutboxEntry>> outboxes = [[], [Entry("a"), Entry("b")], [], [Entry("c")], [Entry("d")]];
        var effectType = typeof(OmnichannelEngine).GetNestedType("ChangeEffect", BindingFlags.NonPublic)!;
        var method = typeof(OmnichannelEngine).GetMethods(BindingFlags.NonPublic | BindingFlags.Static)
            .Single(m => m.Name == "OutboxOf" && m.IsGenericMethodDefinition).MakeGenericMethod(effectType);
        var self = typeof(Func<,>).MakeGenericType(effectType, effectType);
        var identity = Delegate.CreateDelegate(self, typeof(AuditRevRefactorTests).GetMethod(nameof(Identity), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(effectType));
        for (var n = 0; n <= outboxes.Count; n++)
        {
            var effects = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(effectType))!;
            foreach (var o in outboxes.Take(n))
            {
                var effect = Activator.CreateInstance(effectType, nonPublic: true)!;
                effectType.GetProperty("Outbox")!.SetValue(effect, o);
                effects.Add(effect);
            }

            var outbox = (IReadOnlyList<OutboxEntry>)method.Invoke(null, [effects, identity])!;
            Assert.Equal(outboxes.Take(n).SelectMany(x => x).Select(x => x.MessageKey), outbox.Select(x => x.MessageKey));
        }
    }

    private static T Identity<T>(T x) => x;

    // ---- 1. collections made on first use ----

    private static readonly string[] LazyKeys =
        ["cartLines", "wishlistItems", "returns", "cancelledOrders", "cartOps", "wishlistOps", "preferenceFacts", "mergeRecords", "conflictRecords", "groupConversions", "segmentIncarnations"];

    private static CustomerProfile Busy()
    {
        var p = new CustomerProfile("p1", T0.AddYears(-1));
        ProfileCore.Apply(p, Ev(EventTypes.OrderPlaced, T0, "{\"order_id\":\"o1\",\"total\":10,\"currency\":\"EUR\"}"), 100);
        ProfileCore.Apply(p, Ev(EventTypes.CartItemAdded, T0.AddMinutes(1), "{\"product_id\":\"s1\",\"quantity\":2,\"price\":3,\"currency\":\"EUR\"}"), 100);
        ProfileCore.Apply(p, Ev(EventTypes.WishlistItemAdded, T0.AddMinutes(2), "{\"product_id\":\"s2\"}"), 100);
        ProfileCore.Apply(p, Ev(EventTypes.OrderReturned, T0.AddMinutes(3), "{\"order_id\":\"o1\",\"total\":4,\"currency\":\"EUR\"}"), 100);
        ProfileCore.Apply(p, Ev(EventTypes.OrderCancelled, T0.AddMinutes(4), "{\"order_id\":\"o2\"}"), 100);
        ProfileCore.Apply(p, Ev(EventTypes.PreferencesUpdated, T0.AddMinutes(5), "{\"preferred_channels\":[\"sms\"]}"), 100);
        p.GroupConversions["c1"] = 12.5;
        (p.SegmentIncarnations = new(StringComparer.Ordinal))["s"] = 2;
        return p;
    }

    [Fact]
    public void AuditRev_a_new_profile_writes_no_unused_collection_and_reads_back_the_same()
    {
        var doc = ProfileSerializer.Serialize(new CustomerProfile("p1", T0));
        var o = JsonNode.Parse(doc)!.AsObject();
        Assert.All(LazyKeys, k => Assert.False(o.ContainsKey(k), k));
        var back = ProfileSerializer.Deserialize(doc, 1);
        Assert.Empty(back.CartLines);
        Assert.Empty(back.Returns);
        Assert.IsType<WrittenOnceDictionary<OrderFact>>(back.Returns);
        Assert.Equal(doc, ProfileSerializer.Serialize(back));
    }

    [Fact]
    public void AuditRev_documents_with_empty_or_null_collections_read_as_empty()
    {
        var fresh = JsonNode.Parse(ProfileSerializer.Serialize(new CustomerProfile("p1", T0)))!.AsObject();
        var withEmpty = fresh.DeepClone().AsObject();
        var withNull = fresh.DeepClone().AsObject();
        foreach (var k in LazyKeys)
        {
            withEmpty[k] = k is "cancelledOrders" or "mergeRecords" or "conflictRecords" ? new JsonArray() : new JsonObject();
            withNull[k] = null;
        }

        foreach (var doc in new[] { withEmpty, withNull })
        {
            var p = ProfileSerializer.Deserialize(Encoding.UTF8.GetBytes(doc.ToJsonString()), 1);
            Assert.Empty(p.CartLines);
            Assert.Empty(p.WishlistItems);
            Assert.Empty(p.Returns);
            Assert.Empty(p.CancelledOrders);
            Assert.Empty(p.CartOps);
            Assert.Empty(p.WishlistOps);
            Assert.Empty(p.PreferenceFacts);
            Assert.Empty(p.MergeRecords);
            Assert.Empty(p.ConflictRecords);
            Assert.Empty(p.GroupConversions);
            Assert.Empty(p.SegmentIncarnations ?? []);
            Assert.Equal(ProfileSerializer.Serialize(new CustomerProfile("p1", T0)), ProfileSerializer.Serialize(p));
        }
    }

    [Fact]
    public void AuditRev_used_collections_are_written_read_and_exported()
    {
        var p = Busy();
        var doc = ProfileSerializer.Serialize(p);
        var o = JsonNode.Parse(doc)!.AsObject();
        foreach (var k in new[] { "cartLines", "wishlistItems", "returns", "cancelledOrders", "cartOps", "wishlistOps", "preferenceFacts", "groupConversions", "segmentIncarnations" })
        {
            Assert.True(o.ContainsKey(k), k);
        }

        var back = ProfileSerializer.Deserialize(doc, 1);
        Assert.Equal(doc, ProfileSerializer.Serialize(back));
        Assert.Equal(12.5, back.GroupConversions["c1"]);
        Assert.Equal(2, back.SegmentIncarnations!["s"]);

        var export = ProfileSerializer.Export(back, T0);
        var rest = export["internal"]!.AsObject();
        foreach (var k in new[] { "returns", "cancelledOrders", "cartOps", "wishlistOps", "preferenceFacts", "groupConversions", "segmentIncarnations" })
        {
            Assert.True(rest.ContainsKey(k), k);
        }

        Assert.NotEmpty(export["cart"]!.AsArray());
        Assert.NotEmpty(export["wishlist"]!.AsArray());
    }

    [Fact]
    public void AuditRev_a_merge_takes_the_others_used_collections()
    {
        var target = new CustomerProfile("p0", T0.AddYears(-2));
        var other = Busy();
        var merged = ProfileSerializer.Serialize(other);
        var before = JsonNode.Parse(merged)!.AsObject();
        ProfileCore.Merge(target, other, new MergeRecord("p1", Identifier.Email("ann@x.io"), "e-merge", "test", T0.AddHours(1)), 100);
        var o = JsonNode.Parse(ProfileSerializer.Serialize(target))!.AsObject();
        foreach (var k in new[] { "cartLines", "returns", "cancelledOrders", "cartOps", "wishlistOps", "preferenceFacts", "mergeRecords" })
        {
            Assert.True(o.ContainsKey(k), k);
            if (k != "mergeRecords")
            {
                Assert.True(JsonNode.DeepEquals(before[k], o[k]), k);
            }
        }
    }

    // Compact now skips a null collection everywhere in the document: safe only where a reader also starts from null.
    [Fact]
    public void AuditRev_no_stored_collection_that_may_be_null_starts_elsewhere()
    {
        var info = (JsonTypeInfo)typeof(ProfileSerializer).GetField("ProfileInfo", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var options = info.Options;
        var nullability = new NullabilityInfoContext();
        var seen = new HashSet<Type>();
        var pending = new Stack<Type>([typeof(CustomerProfile)]);
        var wrong = new List<string>();
        while (pending.Count > 0)
        {
            var t = pending.Pop();
            if (!seen.Add(t) || t == typeof(string) || t.IsPrimitive)
            {
                continue;
            }

            JsonTypeInfo ti;
            try
            {
                ti = options.GetTypeInfo(t);
            }
            catch (NotSupportedException)
            {
                continue;
            }

            if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(WrittenOnceDictionary<>))
            {
                pending.Push(t.GetGenericArguments()[0]); // its converter's metadata names no element type: its values are stored
            }

            if (ti.ElementType is { } el)
            {
                pending.Push(el);
            }

            if (ti.KeyType is { } key)
            {
                pending.Push(key);
            }

            if (ti.Kind != JsonTypeInfoKind.Object)
            {
                continue;
            }

            object? fresh = null;
            try
            {
                // As Compact: the parameterless maker, else the constructor with default arguments.
                fresh = ti.CreateObject is { } create
                    ? create()
                    : ti.ConstructorAttributeProvider is ConstructorInfo ctor
                        ? ctor.Invoke([.. ctor.GetParameters().Select(p => p.HasDefaultValue ? p.DefaultValue : p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null)])
                        : null;
            }
            catch (Exception)
            {
                fresh = null;
            }

            foreach (var prop in ti.Properties)
            {
                pending.Push(prop.PropertyType);
                if (prop.PropertyType == typeof(string) || !typeof(System.Collections.IEnumerable).IsAssignableFrom(prop.PropertyType) || prop.Set is null)
                {
                    continue;
                }

                var mayBeNull = prop.AttributeProvider is PropertyInfo pi && nullability.Create(pi).WriteState == NullabilityState.Nullable;
                // Unknown start (no instance to ask): counted as non-null, so it is looked at.
                var startsNonNull = fresh is null || (prop.Get is { } get && get(fresh) is not null);
                if (mayBeNull && startsNonNull && prop.AssociatedParameter is null)
                {
                    wrong.Add($"{t.Name}.{prop.Name}");
                }
            }
        }

        Assert.Contains(typeof(OrderConversion), seen); // the walk reaches nested types
        Assert.Contains(typeof(Touch), seen);
        Assert.Empty(wrong);
    }
}
