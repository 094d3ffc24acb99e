using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FsCheck.Xunit;

namespace Omnichannel.Sdk.Tests.Profiles;

/// <summary>
/// Session 62: an order's lines and a cart group's changes are written element by element (<see cref="ElementWise"/>),
/// which spares the serializer's frame array per collection; the bytes must be what the serializer's own dictionary and
/// list converters write, for any keys (escapes, non-ASCII, empty) and values.
/// </summary>
public sealed class ElementWiseTests
{
    private static readonly JsonSerializerOptions Options = new(ProfileSerializer.Options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    private static readonly string[] Keys = ["sku-1", "", "a\"b", "é", "<tag>", "line\nbreak", "𝄞", "plain"];

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    [Property(MaxTest = 200)]
    public void LinesAndChanges_WrittenElementByElement_AreTheSerializersBytes(int[] steps)
    {
        var lines = new Dictionary<string, OrderLine>(StringComparer.Ordinal);
        var ops = new List<ItemOp>();
        foreach (var step in steps)
        {
            var mix = WrittenListShiftProperties.Spread(step);
            var key = Keys[mix % Keys.Length] + (mix % 3 == 0 ? "" : (mix % 97).ToString(System.Globalization.CultureInfo.InvariantCulture));
            lines[key] = new OrderLine((mix % 5) + 0.5m, mix % 2 == 0 ? null : mix % 1000 / 100m, mix % 7 == 0 ? null : key);
            ops.Add(new ItemOp($"e{mix}", DateTimeOffset.UnixEpoch.AddMinutes(mix % 10_000), mix % 4 == 0, mix % 3 == 0 ? null : mix % 9, mix % 5 == 0 ? key : null, mix % 6 == 0 ? 0.00m : null, mix % 2 == 0 ? "EUR" : null, mix % 8 == 0 ? "cart-1" : null));
        }

        var lineInfo = (JsonTypeInfo<OrderLine>)Options.GetTypeInfo(typeof(OrderLine));
        var opInfo = (JsonTypeInfo<ItemOp>)Options.GetTypeInfo(typeof(ItemOp));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(lines, Options), Write(w => ElementWise.WriteObject(w, lines, lineInfo)));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(ops, Options), Write(w => ElementWise.WriteArray(w, ops, opInfo)));
    }
}
