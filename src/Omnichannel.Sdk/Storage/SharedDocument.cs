namespace Omnichannel.Sdk.Storage;

/// <summary>
/// A profile document that shares its unchanged parts with the version before it: the document's own bytes (the
/// "head") with a one-byte placeholder where each kept element goes, and the kept elements' bytes, which are immutable
/// and shared by every version that holds the element (see <c>WrittenJson</c>). A profile's timeline, touches and orders
/// change by about one element per commit, so a commit to the in-memory store costs what changed, not the whole
/// document: the elements are neither copied nor kept twice. <see cref="ToArray"/> gives the contiguous document, byte
/// for byte what a contiguous write gives.
/// </summary>
internal sealed class SharedDocument
{
    private readonly byte[] _head;
    private readonly int[] _at;          // ascending offsets of the placeholders in _head
    private readonly ReadOnlyMemory<byte>[] _elements; // what goes at each: a kept element, or a run of them

    public SharedDocument(byte[] head, int[] at, ReadOnlyMemory<byte>[] elements)
    {
        _head = head;
        _at = at;
        _elements = elements;
        var length = head.Length - at.Length;
        foreach (var e in elements)
        {
            length += e.Length;
        }

        Length = length;
    }

    /// <summary>The length of the contiguous document, in bytes.</summary>
    public int Length { get; }

    /// <summary>The kept bytes this version refers to, in document order (shared with other versions, never copied).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Elements => _elements;

    /// <summary>Bytes this version holds of its own (what a commit allocated), the shared elements aside.</summary>
    public int OwnBytes => _head.Length + (_at.Length * (sizeof(int) + IntPtr.Size + (2 * sizeof(int))));

    /// <summary>Writes the contiguous document into <paramref name="destination"/> (at least <see cref="Length"/> bytes).</summary>
    public void CopyTo(Span<byte> destination)
    {
        var from = 0;
        var to = 0;
        for (var i = 0; i < _at.Length; i++)
        {
            var run = _head.AsSpan(from, _at[i] - from);
            run.CopyTo(destination[to..]);
            to += run.Length;
            _elements[i].Span.CopyTo(destination[to..]);
            to += _elements[i].Length;
            from = _at[i] + 1; // past the placeholder
        }

        _head.AsSpan(from).CopyTo(destination[to..]);
    }

    /// <summary>The contiguous document.</summary>
    public byte[] ToArray()
    {
        var bytes = GC.AllocateUninitializedArray<byte>(Length);
        CopyTo(bytes);
        return bytes;
    }
}
