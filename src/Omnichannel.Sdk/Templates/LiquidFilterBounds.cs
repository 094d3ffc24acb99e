using System.Globalization;
using Fluid;
using Fluid.Values;

namespace Omnichannel.Sdk.Templates;

/// <summary>
/// The size of a filter's result, bounded from its inputs before the filter runs, for the filters whose result can be
/// far larger than their inputs. A result is checked once built (<see cref="RenderMeter.Check(FluidValue)"/>), but these
/// would first build it: <c>replace</c> of each character of a 30,000-character string by the string itself is 900
/// million characters; <c>join</c> puts its separator between every two items; <c>format_string</c> pads each
/// placeholder to its alignment and <c>format_number</c> writes as many digits as its precision asks (up to 10⁹);
/// <c>date</c> pads each directive to its width (<c>%999999999N</c>).
/// </summary>
internal static class LiquidFilterBounds
{
    /// <summary>Throws a budget error when the filter's result would be longer than the limit.</summary>
    public static void BeforeFilter(string name, FluidValue input, FilterArguments arguments, RenderMeter meter)
    {
        var bound = name switch
        {
            "replace" => Replace(input, arguments),
            "join" => Join(input, arguments, meter),
            "format_string" => FormatString(input, arguments, meter),
            "format_number" => Precision(arguments.At(0).ToStringValue()) + 64,
            "date" => DateWidths(arguments.At(0).ToStringValue()),
            _ => 0,
        };
        meter.Predict(bound, name);
    }

    // Each non-overlapping occurrence is replaced, as string.Replace does.
    private static long Replace(FluidValue input, FilterArguments arguments)
    {
        var text = input.ToStringValue();
        var search = arguments.At(0).ToStringValue();
        var replacement = arguments.At(1).ToStringValue();
        if (search.Length == 0 || replacement.Length <= search.Length)
        {
            return text.Length;
        }

        long count = 0;
        for (var at = text.IndexOf(search, StringComparison.Ordinal); at >= 0; at = text.IndexOf(search, at + search.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return text.Length + (count * (replacement.Length - search.Length));
    }

    private static long Join(FluidValue input, FilterArguments arguments, RenderMeter meter)
    {
        if (input is not ArrayValue array)
        {
            return 0;
        }

        var separator = arguments.At(0).ToStringValue();
        return meter.TextLength(array) + (Math.Max(0L, array.Values.Count - 1) * separator.Length);
    }

    // string.Format: the literal text, and per placeholder its alignment, its argument's text and its format's precision.
    private static long FormatString(FluidValue input, FilterArguments arguments, RenderMeter meter)
    {
        var format = input.ToStringValue();
        long total = 0;
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '{' || (i + 1 < format.Length && format[i + 1] == '{'))
            {
                total++;
                i += format[i] == '{' ? 1 : 0;
                continue;
            }

            var close = format.IndexOf('}', i + 1);
            if (close < 0)
            {
                break; // malformed: string.Format refuses it
            }

            var item = format.AsSpan(i + 1, close - i - 1);
            var colon = item.IndexOf(':');
            var spec = colon < 0 ? ReadOnlySpan<char>.Empty : item[(colon + 1)..];
            var head = colon < 0 ? item : item[..colon];
            var comma = head.IndexOf(',');
            var indexText = comma < 0 ? head : head[..comma];
            if (comma >= 0 && long.TryParse(head[(comma + 1)..], NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var alignment))
            {
                total += Math.Abs(alignment);
            }

            if (int.TryParse(indexText, NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var index) && index >= 0 && index < arguments.Count)
            {
                total += meter.TextLength(arguments.At(index));
            }

            total += spec.Length + Precision(spec.ToString());
            i = close;
            if (total > int.MaxValue)
            {
                break;
            }
        }

        return total;
    }

    // The precision of a standard numeric format ("F2", "N999999999"): as many digits are written.
    private static long Precision(string format)
    {
        var f = format.AsSpan().Trim();
        if (f.Length < 2 || !char.IsAsciiLetter(f[0]))
        {
            return 0;
        }

        long precision = 0;
        foreach (var c in f[1..])
        {
            if (!char.IsAsciiDigit(c))
            {
                return 0;
            }

            precision = Math.Min((precision * 10) + (c - '0'), int.MaxValue);
        }

        return precision;
    }

    // strftime: each directive may carry a width after its flags ("%_10H", "%999999999N"); it is padded to it.
    private static long DateWidths(string format)
    {
        long total = format.Length;
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%')
            {
                continue;
            }

            var k = i + 1;
            while (k < format.Length && format[k] is '^' or '-' or '_' or ':')
            {
                k++;
            }

            long width = 0;
            while (k < format.Length && char.IsAsciiDigit(format[k]))
            {
                width = Math.Min((width * 10) + (format[k] - '0'), int.MaxValue);
                k++;
            }

            total = Math.Min(total + width, int.MaxValue);
            i = k;
        }

        return total;
    }
}
