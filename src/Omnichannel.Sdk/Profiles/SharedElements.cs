namespace Omnichannel.Sdk;

/// <summary>A document as the engine wrote it for its store: contiguous bytes, or a shared form (the in-memory store).</summary>
internal readonly record struct DocumentOut(byte[]? Bytes, Storage.SharedDocument? Shared)
{
    /// <summary>The contiguous document's length in bytes.</summary>
    public int Length => Bytes?.Length ?? Shared!.Length;
}

/// <summary>
/// The kept elements a shared write met, in order, with where each goes (see <see cref="Storage.SharedDocument"/>); set for
/// the thread while <see cref="ProfileSerializer.SerializeShared"/> writes, and only for its own writer.
/// </summary>
internal sealed class SharedElements
{
    [ThreadStatic]
    internal static SharedElements? Current;

    public System.Text.Json.Utf8JsonWriter? Writer { get; set; }

    public List<int> At { get; } = [];

    public List<ReadOnlyMemory<byte>> Elements { get; } = [];

    public void Clear()
    {
        Writer = null;
        At.Clear();
        Elements.Clear();
    }

    /// <summary>Writes a kept element's bytes: a placeholder and a reference in a shared write, a copy otherwise.</summary>
    public static void WriteKept(System.Text.Json.Utf8JsonWriter writer, byte[] bytes)
    {
        if (Current is { } shared && ReferenceEquals(shared.Writer, writer))
        {
            writer.WriteRawValue("0"u8, skipInputValidation: true);
            shared.At.Add(checked((int)(writer.BytesCommitted + writer.BytesPending)) - 1); // the placeholder just written
            shared.Elements.Add(bytes);
            return;
        }

        writer.WriteRawValue(bytes, skipInputValidation: true); // written by the same options before
    }

    /// <summary>
    /// Writes a JSON array (or object) whose entries are <paramref name="pieces"/>, each one or more kept entries without
    /// brackets: in a shared write, the brackets and commas with a placeholder and a reference per piece; otherwise a copy.
    /// </summary>
    public static void WriteKept(System.Text.Json.Utf8JsonWriter writer, bool isObject, ReadOnlySpan<ReadOnlyMemory<byte>> pieces)
    {
        var (open, close) = isObject ? ((byte)'{', (byte)'}') : ((byte)'[', (byte)']');
        var shared = Current is { } current && ReferenceEquals(current.Writer, writer) ? current : null;
        var length = pieces.Length == 0 ? 2 : 1 + (2 * pieces.Length);
        if (shared is null)
        {
            foreach (var piece in pieces)
            {
                length += piece.Length - 1; // the piece in place of its placeholder
            }
        }

        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var raw = rented.AsSpan(0, length);
            raw[0] = open;
            var to = 1;
            for (var i = 0; i < pieces.Length; i++)
            {
                if (i > 0)
                {
                    raw[to++] = (byte)',';
                }

                if (shared is null)
                {
                    pieces[i].Span.CopyTo(raw[to..]);
                    to += pieces[i].Length;
                }
                else
                {
                    raw[to++] = (byte)'0';
                }
            }

            raw[to] = close;
            writer.WriteRawValue(raw, skipInputValidation: true); // written by the same options before
            if (shared is not null)
            {
                var start = checked((int)(writer.BytesCommitted + writer.BytesPending)) - length;
                for (var i = 0; i < pieces.Length; i++)
                {
                    shared.At.Add(start + 1 + (2 * i)); // "[0,0,0]": the placeholders are every other byte
                    shared.Elements.Add(pieces[i]);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    [ThreadStatic]
    private static List<ReadOnlyMemory<byte>>? t_pieces;

    /// <summary>A list of pieces for one write, the thread's own when it is free.</summary>
    public static List<ReadOnlyMemory<byte>> TakePieces()
    {
        var pieces = t_pieces ?? [];
        t_pieces = null;
        return pieces;
    }

    /// <summary>Gives the list back (emptied, so it holds no profile's bytes).</summary>
    public static void ReturnPieces(List<ReadOnlyMemory<byte>> pieces)
    {
        pieces.Clear();
        if (pieces.Capacity <= 4096)
        {
            t_pieces = pieces;
        }
    }
}
