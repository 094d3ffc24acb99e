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

    public List<byte[]> Elements { get; } = [];

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
}
