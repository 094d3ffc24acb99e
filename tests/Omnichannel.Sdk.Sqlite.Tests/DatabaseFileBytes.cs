using System.Text;

namespace Omnichannel.Sdk.Sqlite.Tests;

/// <summary>What an erasure test looks for in the files themselves: the database and its WAL, as bytes.</summary>
internal static class DatabaseFileBytes
{
    /// <summary>The database file and its WAL, read while SQLite may still have them open.</summary>
    public static byte[] Read(string path)
    {
        using var all = new MemoryStream();
        foreach (var file in new[] { path, path + "-wal" })
        {
            if (File.Exists(file))
            {
                using var s = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                s.CopyTo(all);
            }
        }

        return all.ToArray();
    }

    /// <summary>Whether <paramref name="value"/> is in the bytes, as UTF-8 or UTF-16.</summary>
    public static bool Contains(byte[] haystack, string value) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(value)) >= 0
        || haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(value)) >= 0;
}
