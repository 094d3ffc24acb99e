using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Reflection;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

/// <summary>The profile's stored form: UTF-8 JSON. Stores treat it as opaque bytes.</summary>
internal static partial class ProfileSerializer
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    // Public properties that are stored as they are; every other public property is a view of stored fields.
    private static readonly HashSet<string> StoredPublic = new(StringComparer.Ordinal)
    {
        nameof(CustomerProfile.Id), nameof(CustomerProfile.CreatedAt), nameof(CustomerProfile.Statistics), nameof(CustomerProfile.CartClearedAt),
        nameof(CustomerProfile.Preferences), nameof(CustomerProfile.TimeZone), nameof(CustomerProfile.Locale),
    };

    // Source-generated metadata: the profile is written on every commit, so reflection-free serialisation pays. The
    // stored document is not the public JSON shape: it holds the [Stored] internal fields (added here, so the public
    // type's own JSON shape — what ASP.NET Core writes for Results.Ok(profile) — never shows them) and leaves out the
    // public views derived from them; and it leaves out what a reader gets back anyway (see Compact).
    private static readonly JsonTypeInfo<CustomerProfile> ProfileInfo = StoredContract();

    private static JsonTypeInfo<CustomerProfile> StoredContract()
    {
        var options = new JsonSerializerOptions(Options)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
            TypeInfoResolver = JsonTypeInfoResolver.Combine(new ProfileJsonContext(), WrittenOnceTypes.Instance).WithAddedModifier(StoredShape).WithAddedModifier(Compact),
        };

        // Locked before use: options never locked answer every GetTypeInfo with a contract built anew (the modifiers run
        // again), and nothing else locks these once no call goes through JsonSerializer (the contract writers write).
        options.MakeReadOnly();
        return (JsonTypeInfo<CustomerProfile>)options.GetTypeInfo(typeof(CustomerProfile));
    }

    private static void StoredShape(JsonTypeInfo info)
    {
        if (info.Type != typeof(CustomerProfile))
        {
            return;
        }

        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            if (info.Properties[i].AttributeProvider is System.Reflection.PropertyInfo { } property && !StoredPublic.Contains(property.Name))
            {
                info.Properties.RemoveAt(i);
            }
        }

        foreach (var property in typeof(CustomerProfile).GetProperties(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic))
        {
            if (!property.IsDefined(typeof(StoredAttribute), inherit: false))
            {
                continue;
            }

            var stored = info.CreateJsonPropertyInfo(property.PropertyType, Options.PropertyNamingPolicy!.ConvertName(property.Name));
            var target = System.Linq.Expressions.Expression.Parameter(typeof(object));
            var value = System.Linq.Expressions.Expression.Parameter(typeof(object));
            var profile = System.Linq.Expressions.Expression.Convert(target, typeof(CustomerProfile));
            var member = System.Linq.Expressions.Expression.Property(profile, property);
            var read = property.GetCustomAttribute<StoredAttribute>()!.Field is { } field
                ? System.Linq.Expressions.Expression.Field(profile, typeof(CustomerProfile).GetField(field, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)
                    ?? throw new InvalidOperationException($"CustomerProfile.{property.Name} names a field '{field}' it does not have."))
                : (System.Linq.Expressions.Expression)member;
            stored.Get = System.Linq.Expressions.Expression.Lambda<Func<object, object?>>(System.Linq.Expressions.Expression.Convert(read, typeof(object)), target).Compile();
            stored.Set = System.Linq.Expressions.Expression.Lambda<Action<object, object?>>(
                System.Linq.Expressions.Expression.Assign(member, System.Linq.Expressions.Expression.Convert(value, property.PropertyType)), target, value).Compile();
            // Immutable elements, one changed per event at most: see WrittenJson.
            if (property.PropertyType == typeof(List<TimelineEntry>))
            {
                stored.CustomConverter = new WrittenOnceListConverter<TimelineEntry>();
            }
            else if (property.PropertyType == typeof(List<Measurement.Touch>))
            {
                stored.CustomConverter = new WrittenOnceListConverter<Measurement.Touch>();
            }
            else if (property.PropertyType == typeof(WrittenOnceDictionary<OrderFact>))
            {
                stored.CustomConverter = new WrittenOnceDictionaryConverter<OrderFact>();
            }
            else if (property.PropertyType == typeof(WrittenOnceDictionary<Measurement.OrderConversion>))
            {
                stored.CustomConverter = new WrittenOnceDictionaryConverter<Measurement.OrderConversion>();
            }
            else if (property.PropertyType == typeof(Dictionary<string, List<ItemOp>>))
            {
                stored.CustomConverter = new WrittenOnceGroupsConverter<ItemOp>();
            }
            else if (property.PropertyType == typeof(List<string>))
            {
                // Message keys (up to 500, one more per message): kept once written, as the timeline is. The other lists of
                // strings are short and are written afresh (a list made in memory is no WrittenOnceList).
                stored.CustomConverter = new WrittenOnceListConverter<string>();
            }
            else if (property.PropertyType == typeof(OrdinalSet))
            {
                stored.CustomConverter = new OrdinalSetConverter();
            }

            info.Properties.Add(stored);
        }
    }

    // The writer and its buffer of the thread, kept: a document of tens of KB written into a fresh pooled buffer grows it
    // from 16 KB by doubling, copying everything written so far each time (about twice the document again), on every
    // commit. Serialisation is synchronous, so a thread's buffer is never shared.
    [ThreadStatic]
    private static SerializationBuffer? t_buffer;

    /// <summary>A thread keeps a buffer up to this size; a larger one (a rare huge profile) is let go after use.</summary>
    private const int KeptBufferBytes = 1 << 20;

    // The stored document's writer: the contract's bytes without its per-property walk (see ContractWriter).
    private static readonly Action<Utf8JsonWriter, CustomerProfile> Writer = ContractWriter.For(ProfileInfo);

    /// <summary>Writes the stored document of <paramref name="profile"/>; what <see cref="JsonSerializer"/> writes under <see cref="ProfileInfo"/>.</summary>
    internal static void Write(Utf8JsonWriter writer, CustomerProfile profile)
    {
        if (UseSerializer)
        {
            JsonSerializer.Serialize(writer, profile, ProfileInfo);
            return;
        }

        Writer(writer, profile);
    }

    /// <summary>Tests: write through the serializer instead (the reference the contract writer is compared with).</summary>
    [ThreadStatic]
    internal static bool UseSerializer;

    public static byte[] Serialize(CustomerProfile profile)
    {
        var buffer = t_buffer ?? new SerializationBuffer();
        t_buffer = null; // re-entrancy (a converter serialising a profile) gets a buffer of its own
        try
        {
            buffer.Writer.Reset(buffer.Output);
            Write(buffer.Writer, profile);
            buffer.Writer.Flush();
            return buffer.Output.WrittenSpan.ToArray();
        }
        finally
        {
            buffer.Output.ResetWrittenCount();
            if (buffer.Output.Capacity <= KeptBufferBytes)
            {
                t_buffer = buffer;
            }
        }
    }

    /// <summary>
    /// Writes the profile's document sharing its kept elements (see <see cref="WrittenJson{T}"/>) rather than copying
    /// them: what the in-memory store keeps. <see cref="DocumentOut.Bytes"/> when no element was kept (a light profile).
    /// </summary>
    public static DocumentOut SerializeShared(CustomerProfile profile)
    {
        var buffer = t_buffer ?? new SerializationBuffer();
        t_buffer = null;
        var collecting = t_collecting ?? new SharedElements();
        t_collecting = null;
        var outer = SharedElements.Current;
        collecting.Writer = buffer.Writer;
        SharedElements.Current = collecting;
        try
        {
            buffer.Writer.Reset(buffer.Output);
            Write(buffer.Writer, profile);
            buffer.Writer.Flush();
            var head = buffer.Output.WrittenSpan.ToArray();
            return collecting.At.Count == 0
                ? new DocumentOut(head, null)
                : new DocumentOut(null, new Storage.SharedDocument(head, [.. collecting.At], [.. collecting.Elements]));
        }
        finally
        {
            SharedElements.Current = outer;
            collecting.Clear();
            t_collecting = collecting;
            buffer.Output.ResetWrittenCount();
            if (buffer.Output.Capacity <= KeptBufferBytes)
            {
                t_buffer = buffer;
            }
        }
    }

    [ThreadStatic]
    private static SharedElements? t_collecting;

    /// <summary>A thread's output buffer and the writer over it, with the options <see cref="JsonSerializer.SerializeToUtf8Bytes(object?, JsonTypeInfo)"/> would use.</summary>
    private sealed class SerializationBuffer
    {
        public System.Buffers.ArrayBufferWriter<byte> Output { get; } = new(64 * 1024);

        public Utf8JsonWriter Writer { get; }

        public SerializationBuffer() => Writer = new Utf8JsonWriter(Output, new JsonWriterOptions
        {
            Encoder = ProfileInfo.Options.Encoder,
            Indented = ProfileInfo.Options.WriteIndented,
            MaxDepth = ProfileInfo.Options.MaxDepth,
            SkipValidation = true, // as the serializer's own writer: the converters write well-formed JSON
        });
    }

    /// <summary>Reads a stored profile, from its shared form when the store kept one (no contiguous copy is kept).</summary>
    public static CustomerProfile Deserialize(Storage.StoredProfile stored)
    {
        if (stored.Shared is not { } shared)
        {
            return Deserialize(stored.Document, stored.Version);
        }

        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(shared.Length);
        try
        {
            shared.CopyTo(rented);
            var p = JsonSerializer.Deserialize(rented.AsSpan(0, shared.Length), ProfileInfo)
                ?? throw new InvalidDataException("A stored profile document is empty.");
            p.Version = stored.Version;
            ProfileFacts.UpgradeReturnHeadline(p); // audit U98
            return p;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public static CustomerProfile Deserialize(byte[] document, long version)
    {
        var p = JsonSerializer.Deserialize(document, ProfileInfo)
            ?? throw new InvalidDataException("A stored profile document is empty.");
        p.Version = version;
        ProfileFacts.UpgradeReturnHeadline(p); // audit U98
        return p;
    }

    /// <summary>
    /// Leaves out of the stored document what reading it gives back anyway: computed properties (no setter: the public
    /// views), empty collections, and values equal to the default a new object starts with. A value whose type starts
    /// elsewhere (an initialiser, a constructor parameter's default) is always written, so nothing changes on a round trip.
    /// </summary>
    private static void Compact(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        // What a reader starts from: the object its constructor makes (with default arguments for a parameterised one).
        object? fresh = null;
        try
        {
            fresh = info.CreateObject is { } create
                ? create()
                : info.ConstructorAttributeProvider is System.Reflection.ConstructorInfo ctor
                    ? ctor.Invoke([.. ctor.GetParameters().Select(p => p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null)])
                    : null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            fresh = null;
        }

        var canCompareFresh = fresh is not null;

        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            var property = info.Properties[i];
            if (property.Set is null && property.AssociatedParameter is null)
            {
                info.Properties.RemoveAt(i); // a view computed from stored fields
                continue;
            }

            if (property.PropertyType != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(property.PropertyType))
            {
                // Nor null (a collection made on first use, or an optional one): a reader starts from no value either.
                property.ShouldSerialize = static (_, value) => value is not (null or System.Collections.ICollection { Count: 0 } or IReadOnlyCollection<object> { Count: 0 });
                ContractWriter.SetRule(property, WriteRule.SkipNullOrEmpty);
                continue;
            }

            // WhenWritingDefault skips default(T); that is only safe where a reader also starts from default(T).
            var startsAtDefault = property.AssociatedParameter is { } parameter
                ? !parameter.HasDefaultValue || IsDefault(parameter.DefaultValue, property.PropertyType)
                : canCompareFresh && property.Get is { } get && IsDefault(get(fresh!), property.PropertyType);
            if (startsAtDefault && property.PropertyType == typeof(decimal))
            {
                // Review of session 57: 0.00 equals 0 but is not 0 (its scale is written, and sums keep it): left out, it
                // came back as 0, and her order statistics were no longer what a walk of her reloaded orders gives.
                property.ShouldSerialize = static (_, value) => value is decimal d && (d != 0 || d.Scale != 0);
                ContractWriter.SetRule(property, WriteRule.SkipPlainZero);
                continue;
            }

            if (!startsAtDefault)
            {
                var always = property.PropertyType.IsValueType && Nullable.GetUnderlyingType(property.PropertyType) is null;
                property.ShouldSerialize = always
                    ? static (_, _) => true
                    : static (_, value) => value is not null; // as before: a null is never written
                ContractWriter.SetRule(property, always ? WriteRule.Always : WriteRule.SkipNull);
            }
        }
    }

    private static bool IsDefault(object? value, Type type) =>
        value is null || (type.IsValueType && Nullable.GetUnderlyingType(type) is null && value.Equals(System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(type)));
}

/// <summary>
/// Marks an internal <see cref="CustomerProfile"/> field that is part of the stored document (and of nothing public):
/// the storage serializer adds it. Its type must be listed on <see cref="ProfileJsonContext"/>.
/// </summary>
/// <remarks>
/// With <see cref="Field"/>, the property makes its collection on first use and the document is written from that field,
/// so a collection nothing ever used is neither made nor written (most profiles have no cart ops, returns or merges).
/// </remarks>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class StoredAttribute : Attribute
{
    /// <summary>The private field behind a property made on first use (null until then), read when the document is written.</summary>
    public string? Field { get; init; }
}

// The kept-bytes dictionaries (orders, returns, tallies, order conversions) are not dictionaries to the serializer (they
// wrap one, so that no write can skip their version): their metadata is their converter's.
internal sealed class WrittenOnceTypes : IJsonTypeInfoResolver
{
    public static readonly WrittenOnceTypes Instance = new();

    public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options) =>
        type == typeof(WrittenOnceDictionary<OrderFact>) ? JsonMetadataServices.CreateValueInfo<WrittenOnceDictionary<OrderFact>>(options, new WrittenOnceDictionaryConverter<OrderFact>())
        : type == typeof(WrittenOnceDictionary<Measurement.OrderConversion>)
            ? JsonMetadataServices.CreateValueInfo<WrittenOnceDictionary<Measurement.OrderConversion>>(options, new WrittenOnceDictionaryConverter<Measurement.OrderConversion>())
            : type == typeof(OrdinalSet) ? JsonMetadataServices.CreateValueInfo<OrdinalSet>(options, new OrdinalSetConverter())
            : null;
}

// The profile and the types of its [Stored] fields (which the generator does not reach through the public type).
[JsonSerializable(typeof(CustomerProfile))]
[JsonSerializable(typeof(List<Measurement.Touch>))]
[JsonSerializable(typeof(Dictionary<string, double>))]
[JsonSerializable(typeof(Dictionary<string, int>))]
[JsonSerializable(typeof(Dictionary<string, Measurement.OrderConversion>))]
[JsonSerializable(typeof(List<LinkedIdentifier>))]
[JsonSerializable(typeof(Dictionary<string, TraitValue>))]
[JsonSerializable(typeof(Dictionary<string, CartLine>))]
[JsonSerializable(typeof(Dictionary<string, WishlistItem>))]
[JsonSerializable(typeof(Dictionary<string, OrderFact>))]
[JsonSerializable(typeof(Dictionary<string, OrderLine>))]
[JsonSerializable(typeof(HashSet<string>))]
[JsonSerializable(typeof(Dictionary<string, List<ItemOp>>))]
[JsonSerializable(typeof(List<ItemOp>))]
[JsonSerializable(typeof(Dictionary<string, PreferenceFact>))]
[JsonSerializable(typeof(Dictionary<string, ConsentRecord>))]
[JsonSerializable(typeof(List<TimelineEntry>))]
[JsonSerializable(typeof(List<MergeRecord>))]
[JsonSerializable(typeof(List<IdentityConflict>))]
[JsonSerializable(typeof(Segments.RuleHistory))]
[JsonSerializable(typeof(Dictionary<string, DateTimeOffset>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(List<Delivery.SentMessage>))]
[JsonSerializable(typeof(List<SoftBounceMark>))]
[JsonSerializable(typeof(List<Measurement.PendingReport>))]
[JsonSerializable(typeof(Journeys.JourneyState))]
[JsonSerializable(typeof(DateTimeOffset?))]
[JsonSerializable(typeof(double?))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(string))]
internal sealed partial class ProfileJsonContext : JsonSerializerContext;

/// <summary>
/// A set of strings written in ordinal order: a hash set enumerates in insertion order, so the same set reached by
/// events in another arrival order (cancelled orders) would otherwise be another document and another export. The
/// written array of a set of <see cref="OrdinalSet.MinimumToKeep"/> or more is kept until the next add (see
/// <see cref="OrdinalSet"/>).
/// </summary>
internal sealed class OrdinalSetConverter : JsonConverter<OrdinalSet>
{
    public override OrdinalSet? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("Expected an array of strings.");
        }

        var set = new OrdinalSet();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            set.Add(reader.GetString() ?? throw new JsonException("Expected a string."));
        }

        return set;
    }

    public override void Write(Utf8JsonWriter writer, OrdinalSet value, JsonSerializerOptions options)
    {
        if (value.Count < OrdinalSet.MinimumToKeep || options.WriteIndented)
        {
            WriteSorted(writer, value);
            return;
        }

        if (value.Kept(options) is not { } bytes)
        {
            var scratch = JsonScratch.Take(options); // options that do not indent (above)
            try
            {
                WriteSorted(scratch.Writer, value);
                scratch.Writer.Flush();
                bytes = scratch.Buffer.WrittenSpan.ToArray();
            }
            finally
            {
                scratch.Return();
            }

            value.Keep(bytes, options);
        }

        SharedElements.WriteKept(writer, bytes);
    }

    private static void WriteSorted(Utf8JsonWriter writer, OrdinalSet value)
    {
        writer.WriteStartArray();
        foreach (var item in value.Order(StringComparer.Ordinal))
        {
            writer.WriteStringValue(item);
        }

        writer.WriteEndArray();
    }
}
