using System.Text;

namespace Omnichannel.Sdk.CrashWorker;

/// <summary>
/// The client's own durable record of what the engine acknowledged: one id a line, each flushed to disk before the next
/// step. A line torn by a kill mid-write was never complete, so it does not count (and is cut on open).
/// </summary>
public sealed class AckLog : IDisposable
{
    private readonly FileStream _stream;
    private readonly HashSet<string> _acked;

    private AckLog(FileStream stream, HashSet<string> acked)
    {
        _stream = stream;
        _acked = acked;
    }

    /// <summary>How many ids are acknowledged.</summary>
    public int Count => _acked.Count;

    /// <summary>Opens (or creates) the log, dropping a torn last line.</summary>
    /// <param name="path">The file.</param>
    public static AckLog Open(string path)
    {
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        var complete = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        if (complete < bytes.Length)
        {
            stream.SetLength(complete);
            stream.Flush(flushToDisk: true);
        }

        stream.Position = complete;
        return new AckLog(stream, [.. Lines(bytes, complete)]);
    }

    /// <summary>The complete lines of a log file, in order (for a reader outside the worker, while it runs).</summary>
    /// <param name="path">The file.</param>
    public static IReadOnlyList<string> ReadAll(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return Lines(bytes, Array.LastIndexOf(bytes, (byte)'\n') + 1);
    }

    /// <summary>Whether <paramref name="id"/> was acknowledged.</summary>
    /// <param name="id">An event id or message key.</param>
    public bool Contains(string id) => _acked.Contains(id);

    /// <summary>Appends <paramref name="id"/> and flushes it to disk.</summary>
    /// <param name="id">An event id or message key.</param>
    public void Add(string id)
    {
        _stream.Write(Encoding.UTF8.GetBytes(id + "\n"));
        _stream.Flush(flushToDisk: true);
        _acked.Add(id);
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private static List<string> Lines(byte[] bytes, int complete) =>
        [.. Encoding.UTF8.GetString(bytes, 0, complete).Split('\n', StringSplitOptions.RemoveEmptyEntries)];
}
