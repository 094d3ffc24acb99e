using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Omnichannel.Sdk;

/// <summary>How a property of the stored contract decides whether it is written (what <c>ProfileSerializer.Compact</c> chose).</summary>
internal enum WriteRule
{
    /// <summary>Left out when it equals <c>default</c> (the options' <see cref="JsonIgnoreCondition.WhenWritingDefault"/>).</summary>
    SkipDefault,

    /// <summary>Always written.</summary>
    Always,

    /// <summary>Left out when null.</summary>
    SkipNull,

    /// <summary>Left out when null or an empty collection.</summary>
    SkipNullOrEmpty,

    /// <summary>A decimal left out only when it is 0 with scale 0 (0.00 is written: its scale is part of the value).</summary>
    SkipPlainZero,
}

/// <summary>
/// Writes an object exactly as <see cref="JsonSerializer"/> writes it under a contract (the same properties in the same
/// order, the same rules for leaving one out, the same converters), from code compiled once per type instead of the
/// contract's per-property walk: typed reads (no boxing of a decimal or a date to ask whether it is written), property
/// names encoded once, and no serializer state per write.
/// </summary>
/// <remarks>
/// <para>Why: the profile document is written on every commit. Under the serializer, about a third of writing a light
/// profile was the contract walk itself (<c>ObjectDefaultConverter.OnTryWrite</c>, <c>GetMemberAndWriteJson</c>): some 50
/// properties visited through delegates, each value type boxed for its <c>ShouldSerialize</c> predicate.</para>
/// <para>The contract stays the one source of truth: this reads it (<see cref="JsonTypeInfo.Properties"/>, each
/// property's <see cref="JsonPropertyInfo.Order"/>, name, custom converter and <see cref="WriteRule"/>). Strings, numbers,
/// booleans, dates, nullables of them, <see cref="List{T}"/>, <see cref="Dictionary{TKey, TValue}"/> with string keys and
/// nested objects of the same kind are written here; any other value goes to its converter, as the serializer would send
/// it. A type this cannot honour exactly (polymorphism, callbacks, extension data, number handling, reference handling) is
/// written by its converter too. Tests compare the bytes with the serializer's for generated profiles.</para>
/// </remarks>
internal static class ContractWriter
{
    private static readonly ConditionalWeakTable<JsonPropertyInfo, StrongBox<WriteRule>> Rules = new();
    private static readonly ConcurrentDictionary<(Type, JsonSerializerOptions), Delegate> Writers = new();

    /// <summary>Records how <paramref name="property"/> decides whether it is written (its <c>ShouldSerialize</c> says the same).</summary>
    public static void SetRule(JsonPropertyInfo property, WriteRule rule) => Rules.AddOrUpdate(property, new StrongBox<WriteRule>(rule));

    /// <summary>The writer of <paramref name="info"/>'s type under its options: the value's JSON, as the serializer writes it.</summary>
    public static Action<Utf8JsonWriter, T> For<T>(JsonTypeInfo<T> info) =>
        (Action<Utf8JsonWriter, T>)Writers.GetOrAdd((typeof(T), info.Options), static (key, info) => Build(info, []), info);

    private static Delegate Build(JsonTypeInfo info, HashSet<Type> building)
    {
        var type = info.Type;
        var writer = Expression.Parameter(typeof(Utf8JsonWriter), "writer");
        var value = Expression.Parameter(type, "value");
        Expression body;
        if (!Honours(info) || !building.Add(type))
        {
            body = ByConverter(writer, value, info.Converter, info.Options);
        }
        else
        {
            try
            {
                body = ObjectBody(writer, value, info, building);
            }
            finally
            {
                building.Remove(type);
            }
        }

        return Expression.Lambda(typeof(Action<,>).MakeGenericType(typeof(Utf8JsonWriter), type), body, writer, value).Compile();
    }

    // What the serializer's object converter does that this does not: anything beyond properties written in order.
    private static bool Honours(JsonTypeInfo info) =>
        info.Kind == JsonTypeInfoKind.Object
        && Nullable.GetUnderlyingType(info.Type) is null
        && info.PolymorphismOptions is null
        && info.OnSerializing is null && info.OnSerialized is null
        && info.NumberHandling is null or JsonNumberHandling.Strict
        && info.Options.NumberHandling == JsonNumberHandling.Strict
        && info.Options.ReferenceHandler is null
        && info.Options.DefaultIgnoreCondition is JsonIgnoreCondition.WhenWritingDefault
        && info.Properties.All(p => !p.IsExtensionData
            && p.NumberHandling is null or JsonNumberHandling.Strict // the serializer writes such a number its own way
            && (p.CustomConverter is null or JsonConverterFactory || p.CustomConverter.Type == p.PropertyType
                || p.CustomConverter.Type == Nullable.GetUnderlyingType(p.PropertyType)));

    private static Expression ObjectBody(ParameterExpression writer, ParameterExpression value, JsonTypeInfo info, HashSet<Type> building)
    {
        var statements = new List<Expression> { Expression.Call(writer, nameof(Utf8JsonWriter.WriteStartObject), Type.EmptyTypes) };

        // The serializer's order: by Order, ties in list order (a stable sort).
        var ordered = info.Properties.Select((p, i) => (p, i)).OrderBy(x => x.p.Order).ThenBy(x => x.i).Select(x => x.p);
        foreach (var p in ordered)
        {
            if (p.Get is null)
            {
                continue; // the serializer writes only what it can read
            }

            var read = Expression.Variable(p.PropertyType, p.Name);
            var name = Expression.Constant(JsonEncodedText.Encode(p.Name, info.Options.Encoder));
            var write = Expression.Block(
                Expression.Call(writer, nameof(Utf8JsonWriter.WritePropertyName), Type.EmptyTypes, name),
                Value(writer, read, p.CustomConverter, info.Options, building));
            statements.Add(Expression.Block(
                [read],
                Expression.Assign(read, Read(value, p)),
                Expression.IfThen(Written(value, read, p), write)));
        }

        statements.Add(Expression.Call(writer, nameof(Utf8JsonWriter.WriteEndObject), Type.EmptyTypes));
        if (value.Type.IsValueType)
        {
            return Expression.Block(statements);
        }

        return Expression.IfThenElse(
            Expression.ReferenceEqual(value, Expression.Constant(null)),
            Expression.Call(writer, nameof(Utf8JsonWriter.WriteNullValue), Type.EmptyTypes),
            Expression.Block(statements));
    }

    // The property's value, typed: its member when the contract names one (a [Stored] property made on first use: its
    // field, as the contract's getter reads it), else the contract's getter.
    private static Expression Read(ParameterExpression target, JsonPropertyInfo p)
    {
        Expression? member = p.AttributeProvider switch
        {
            PropertyInfo property when property.GetCustomAttribute<StoredAttribute>()?.Field is { } field =>
                Expression.Field(target, property.DeclaringType!.GetField(field, BindingFlags.Instance | BindingFlags.NonPublic)!),
            PropertyInfo property when property.GetMethod is not null => Expression.Property(target, property),
            FieldInfo field => Expression.Field(target, field),
            _ => null,
        };

        return member is not null && p.PropertyType.IsAssignableFrom(member.Type)
            ? Expression.Convert(member, p.PropertyType)
            : Expression.Convert(Expression.Invoke(Expression.Constant(p.Get), Expression.Convert(target, typeof(object))), p.PropertyType);
    }

    private static Expression Written(ParameterExpression target, ParameterExpression v, JsonPropertyInfo p)
    {
        var type = v.Type;
        WriteRule? rule = Rules.TryGetValue(p, out var box) ? box.Value : p.ShouldSerialize is null ? WriteRule.SkipDefault : null;
        switch (rule)
        {
            case WriteRule.Always:
                return Expression.Constant(true);
            case WriteRule.SkipDefault or WriteRule.SkipNull when !type.IsValueType:
                return Expression.ReferenceNotEqual(v, Expression.Constant(null, type));
            case WriteRule.SkipDefault:
                return Expression.Not(Expression.Call(
                    Expression.Property(null, typeof(EqualityComparer<>).MakeGenericType(type), nameof(EqualityComparer<int>.Default)),
                    nameof(EqualityComparer<int>.Equals), Type.EmptyTypes, v, Expression.Default(type)));
            case WriteRule.SkipNull when Nullable.GetUnderlyingType(type) is not null:
                return Expression.Property(v, nameof(Nullable<int>.HasValue));
            case WriteRule.SkipNullOrEmpty when type.IsGenericType && type.GetGenericTypeDefinition() is var definition
                && (definition == typeof(List<>) || definition == typeof(Dictionary<,>) || definition == typeof(HashSet<>)):
                // Their Count is what ICollection.Count and IReadOnlyCollection.Count give (not virtual): no interface casts.
                return Expression.AndAlso(
                    Expression.ReferenceNotEqual(v, Expression.Constant(null, type)),
                    Expression.NotEqual(Expression.Property(v, nameof(List<int>.Count)), Expression.Constant(0)));
            case WriteRule.SkipNullOrEmpty when !type.IsValueType:
                return Expression.Call(typeof(ContractWriter), nameof(NotNullOrEmpty), Type.EmptyTypes, v);
            case WriteRule.SkipPlainZero when type == typeof(decimal):
                return Expression.Call(typeof(ContractWriter), nameof(NotPlainZero), Type.EmptyTypes, v);
            default:
                // A predicate this does not know: asked as the serializer asks it.
                return Expression.Invoke(Expression.Constant(p.ShouldSerialize), Expression.Convert(target, typeof(object)), Expression.Convert(v, typeof(object)));
        }
    }

    private static bool NotNullOrEmpty(object? value) =>
        value is not (null or System.Collections.ICollection { Count: 0 } or IReadOnlyCollection<object> { Count: 0 });

    private static bool NotPlainZero(decimal d) => d != 0 || d.Scale != 0;

    // The JSON of v (no property name), as its converter writes it.
    private static Expression Value(ParameterExpression writer, Expression v, JsonConverter? custom, JsonSerializerOptions options, HashSet<Type> building)
    {
        var type = v.Type;
        if (custom is not null)
        {
            // A converter of T on a T? property: the serializer wraps it, writing null for no value.
            return Nullable.GetUnderlyingType(type) is not null && (custom as JsonConverterFactory)?.CanConvert(type) != true && custom.Type != type
                ? Expression.IfThenElse(
                    Expression.Property(v, nameof(Nullable<int>.HasValue)),
                    ByConverter(writer, Expression.Property(v, nameof(Nullable<int>.Value)), custom, options),
                    Expression.Call(writer, nameof(Utf8JsonWriter.WriteNullValue), Type.EmptyTypes))
                : ByConverter(writer, v, custom, options);
        }

        if (type == typeof(object))
        {
            // Written as its runtime type, as the serializer writes a value declared as object.
            return Expression.Call(typeof(ContractWriter), nameof(WriteObject), Type.EmptyTypes, writer, v, Expression.Constant(options));
        }

        var info = options.GetTypeInfo(type);
        if (Primitive(writer, v) is { } primitive && IsBuiltIn(info.Converter))
        {
            return primitive;
        }

        if (Nullable.GetUnderlyingType(type) is not null)
        {
            // The serializer's nullable converter: null, or the value as its own converter writes it.
            return IsBuiltIn(info.Converter)
                ? Expression.IfThenElse(
                    Expression.Property(v, nameof(Nullable<int>.HasValue)),
                    Value(writer, Expression.Property(v, nameof(Nullable<int>.Value)), null, options, building),
                    Expression.Call(writer, nameof(Utf8JsonWriter.WriteNullValue), Type.EmptyTypes))
                : ByConverter(writer, v, info.Converter, options);
        }

        if (info.Kind == JsonTypeInfoKind.Object && Honours(info) && !building.Contains(type))
        {
            // Compiled at its first write, not with its parent: most parts of most profiles are never written (a journey's
            // state, soft bounces…), and compiling every one up front added about 180 ms to a process's first event.
            var nested = Lazies.GetOrAdd((type, options), static (key, info) => Activator.CreateInstance(typeof(LazyWriter<>).MakeGenericType(key.Item1), info)!, info);
            return Expression.Call(Expression.Constant(nested), nested.GetType().GetMethod(nameof(LazyWriter<object>.Write))!, writer, v);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) && info.Kind == JsonTypeInfoKind.Enumerable && IsBuiltIn(info.Converter))
        {
            return ListBody(writer, v, options, building);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>) && type.GetGenericArguments()[0] == typeof(string)
            && info.Kind == JsonTypeInfoKind.Dictionary && IsBuiltIn(info.Converter) && options.DictionaryKeyPolicy is null)
        {
            return DictionaryBody(writer, v, options, building);
        }

        return ByConverter(writer, v, info.Converter, options);
    }

    private static readonly ConcurrentDictionary<(Type, JsonSerializerOptions), object> Lazies = new();

    /// <summary>A nested type's writer, compiled when it first writes (two threads may both compile it: either result is the same).</summary>
    private sealed class LazyWriter<T>(JsonTypeInfo info)
    {
        private Action<Utf8JsonWriter, T>? _write;

        public void Write(Utf8JsonWriter writer, T value) => (_write ??= (Action<Utf8JsonWriter, T>)Build(info, [])).Invoke(writer, value);
    }

    // The serializer's own converters live in its assembly; a converter from elsewhere (ours, an attribute's) is called.
    private static bool IsBuiltIn(JsonConverter converter) => converter.GetType().Assembly == typeof(JsonSerializer).Assembly;

    private static Expression? Primitive(ParameterExpression writer, Expression v)
    {
        var type = v.Type;
        string? method = type == typeof(string) || type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Guid)
            ? nameof(Utf8JsonWriter.WriteStringValue)
            : type == typeof(int) || type == typeof(long) || type == typeof(decimal) || type == typeof(double) || type == typeof(float)
                || type == typeof(uint) || type == typeof(ulong)
                ? nameof(Utf8JsonWriter.WriteNumberValue)
                : type == typeof(bool) ? nameof(Utf8JsonWriter.WriteBooleanValue) : null;
        if (method is null)
        {
            return null;
        }

        var call = Expression.Call(writer, method, Type.EmptyTypes, v);
        return type == typeof(string)
            ? Expression.IfThenElse(
                Expression.ReferenceEqual(v, Expression.Constant(null, type)),
                Expression.Call(writer, nameof(Utf8JsonWriter.WriteNullValue), Type.EmptyTypes),
                call)
            : call;
    }

    private static Expression ListBody(ParameterExpression writer, Expression list, JsonSerializerOptions options, HashSet<Type> building)
    {
        var element = list.Type.GetGenericArguments()[0];
        var l = Expression.Variable(list.Type, "list");
        var i = Expression.Variable(typeof(int), "i");
        var end = Expression.Label("end");
        var item = Expression.Property(l, "Item", i);
        return Expression.Block(
            [l, i],
            Expression.Assign(l, list),
            Expression.IfThenElse(
                Expression.ReferenceEqual(l, Expression.Constant(null, list.Type)),
                Expression.Call(writer, nameof(Utf8JsonWriter.WriteNullValue), Type.EmptyTypes),
                Expression.Block(
                    Expression.Call(writer, nameof(Utf8JsonWriter.WriteStartArray), Type.EmptyTypes),
                    Expression.Assign(i, Expression.Constant(0)),
                    Expression.Loop(
                        Expression.IfThenElse(
                            Expression.LessThan(i, Expression.Property(l, nameof(List<int>.Count))),
                            Expression.Block(Value(writer, item, null, options, building), Expression.PostIncrementAssign(i)),
                            Expression.Break(end)),
                        end),
                    Expression.Call(writer, nameof(Utf8JsonWriter.WriteEndArray), Type.EmptyTypes))));
    }

    private static Expression DictionaryBody(ParameterExpression writer, Expression dictionary, JsonSerializerOptions options, HashSet<Type> building)
    {
        var valueType = dictionary.Type.GetGenericArguments()[1];
        var pairType = typeof(KeyValuePair<,>).MakeGenericType(typeof(string), valueType);
        var enumeratorType = dictionary.Type.GetMethod(nameof(Dictionary<string, int>.GetEnumerator), Type.EmptyTypes)!.ReturnType;
        var d = Expression.Variable(dictionary.Type, "dictionary");
        var e = Expression.Variable(enumeratorType, "entries");
        var pair = Expression.Variable(pairType, "pair");
        var end = Expression.Label("end");
        return Expression.Block(
            [d, e, pair],
            Expression.Assign(d, dictionary),
            Expression.IfThenElse(
                Expression.ReferenceEqual(d, Expression.Constant(null, dictionary.Type)),
                Expression.Call(writer, nameof(Utf8JsonWriter.WriteNullValue), Type.EmptyTypes),
                Expression.Block(
                    Expression.Call(writer, nameof(Utf8JsonWriter.WriteStartObject), Type.EmptyTypes),
                    Expression.Assign(e, Expression.Call(d, nameof(Dictionary<string, int>.GetEnumerator), Type.EmptyTypes)),
                    Expression.Loop(
                        Expression.IfThenElse(
                            Expression.Call(e, enumeratorType.GetMethod(nameof(System.Collections.IEnumerator.MoveNext))!),
                            Expression.Block(
                                Expression.Assign(pair, Expression.Property(e, nameof(IEnumerator<int>.Current))),
                                Expression.Call(writer, nameof(Utf8JsonWriter.WritePropertyName), Type.EmptyTypes, Expression.Property(pair, nameof(KeyValuePair<string, int>.Key))),
                                Value(writer, Expression.Property(pair, nameof(KeyValuePair<string, int>.Value)), null, options, building)),
                            Expression.Break(end)),
                        end),
                    Expression.Call(writer, nameof(Utf8JsonWriter.WriteEndObject), Type.EmptyTypes))));
    }

    // As the serializer hands a value to a converter: null written as null unless the converter takes nulls.
    private static Expression ByConverter(ParameterExpression writer, Expression v, JsonConverter converter, JsonSerializerOptions options)
    {
        if (converter is JsonConverterFactory factory)
        {
            converter = factory.CreateConverter(v.Type, options)!;
        }

        var typed = typeof(JsonConverter<>).MakeGenericType(v.Type);
        return Expression.Call(typeof(ContractWriter), nameof(WriteBy), [v.Type], writer, v, Expression.Constant(converter, typed), Expression.Constant(options));
    }

    private static void WriteObject(Utf8JsonWriter writer, object? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }

        JsonSerializer.Serialize(writer, value, value.GetType(), options);
    }

    private static void WriteBy<T>(Utf8JsonWriter writer, T value, JsonConverter<T> converter, JsonSerializerOptions options)
    {
        if (value is null && !converter.HandleNull)
        {
            writer.WriteNullValue();
            return;
        }

        converter.Write(writer, value, options);
    }
}
